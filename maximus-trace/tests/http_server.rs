//! `ServerLayer` on real servers on loopback (axum, hyper-util), spans read back from the
//! pipeline's exporter. Run with `--features axum`.

#[path = "support/http.rs"]
mod http_support;
mod support;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use http_support::{Recorder, named, nowhere, serve_axum, text};
use maximus_trace::http::ServerLayer;
use maximus_trace::{span, trace_span};
use opentelemetry::Value as V;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use support::{attr, is_child_of, runtime};

#[trace_span]
async fn load_order(id: u64) -> u64 {
    tokio::task::yield_now().await;
    id
}

async fn order(Path(id): Path<u64>) -> String {
    tokio::time::sleep(Duration::from_millis(1)).await;
    let _validate = span!("validate", order.id = id);
    drop(_validate);
    let id = load_order(id).await;
    format!("order {id}")
}

async fn panics() -> &'static str {
    tokio::task::yield_now().await;
    panic!("handler exploded");
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "too late"
}

fn app() -> Router {
    Router::new()
        .route("/orders/{id}", get(order))
        .route("/fail", get(|| async { StatusCode::BAD_GATEWAY }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route("/panic", get(panics))
        .route("/slow", get(slow))
        .layer(ServerLayer::new())
}

/// Serves `app()` and sends `request(client, base_url)`; returns the spans once `count`
/// ended.
fn exchange<F, Fut>(count: usize, request: F) -> Vec<SpanData>
where
    F: FnOnce(reqwest::Client, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let recorder = Recorder::start();
    let rt = runtime();
    rt.block_on(async {
        let addr = serve_axum(app()).await;
        request(reqwest::Client::new(), format!("http://{addr}")).await;
    });
    let spans = recorder.spans(count);
    drop(rt);
    spans
}

fn server_span(spans: &[SpanData]) -> &SpanData {
    let servers: Vec<_> = spans.iter().filter(|s| s.span_kind == SpanKind::Server).collect();
    assert_eq!(servers.len(), 1, "{spans:#?}");
    servers[0]
}

#[test]
fn a_request_is_a_server_span_named_by_its_route_with_the_http_attributes() {
    let mut port = 0;
    let spans = exchange(3, |client, base| {
        port = base.rsplit(':').next().unwrap().parse().unwrap();
        async move {
            let body = client
                .get(format!("{base}/orders/42"))
                .header("user-agent", "orders-test/1.0")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(body, "order 42");
        }
    });
    let server = server_span(&spans);
    assert_eq!(server.name, "GET /orders/{id}");
    assert_eq!(server.status, Status::Unset);
    for (key, value) in [
        ("http.request.method", "GET"),
        ("url.path", "/orders/42"),
        ("url.scheme", "http"),
        ("http.route", "/orders/{id}"),
        ("server.address", "127.0.0.1"),
        ("network.protocol.version", "1.1"),
        ("user_agent.original", "orders-test/1.0"),
    ] {
        assert_eq!(text(server, key).as_deref(), Some(value), "{key}");
    }
    assert_eq!(attr(server, "server.port"), Some(&V::I64(port)));
    assert_eq!(attr(server, "http.response.status_code"), Some(&V::I64(200)));
}

#[test]
fn the_server_span_is_current_in_the_handler_across_awaits() {
    let spans = exchange(3, |client, base| async move {
        client.get(format!("{base}/orders/7")).send().await.unwrap();
    });
    let server = server_span(&spans);
    assert!(is_child_of(named(&spans, "validate"), server));
    assert!(is_child_of(named(&spans, "load_order"), server));
}

#[test]
fn a_path_no_route_matched_is_named_by_the_method_alone() {
    let spans = exchange(1, |client, base| async move {
        let response = client
            .get(format!("{base}/orders/7/secret-id"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    });
    let server = server_span(&spans);
    assert_eq!(server.name, "GET");
    assert_eq!(attr(server, "http.route"), None);
    assert_eq!(text(server, "url.path").as_deref(), Some("/orders/7/secret-id"));
}

#[test]
fn a_5xx_marks_the_server_span_failed() {
    let spans = exchange(1, |client, base| async move {
        client.get(format!("{base}/fail")).send().await.unwrap();
    });
    let server = server_span(&spans);
    assert_eq!(attr(server, "http.response.status_code"), Some(&V::I64(502)));
    assert_eq!(text(server, "error.type").as_deref(), Some("502"));
    assert!(
        matches!(server.status, Status::Error { .. }),
        "{:?}",
        server.status
    );
}

#[test]
fn a_4xx_is_the_callers_mistake_and_leaves_the_server_span_unset() {
    let spans = exchange(1, |client, base| async move {
        client.get(format!("{base}/missing")).send().await.unwrap();
    });
    let server = server_span(&spans);
    assert_eq!(attr(server, "http.response.status_code"), Some(&V::I64(404)));
    assert_eq!(server.status, Status::Unset);
    assert_eq!(attr(server, "error.type"), None);
}

#[test]
fn a_panicking_handler_ends_its_span_failed_with_the_panic() {
    let spans = exchange(1, |client, base| async move {
        // The connection dies with the handler: no response.
        assert!(client.get(format!("{base}/panic")).send().await.is_err());
    });
    let server = server_span(&spans);
    let Status::Error { description } = &server.status else {
        panic!("{:?}", server.status)
    };
    assert!(description.contains("handler exploded"), "{description}");
    assert!(server.events.iter().any(|e| e.name == "exception"));
    assert_eq!(attr(server, "cancelled"), None, "a panic is not a cancellation");
}

#[test]
fn a_request_dropped_before_its_response_ends_its_span_cancelled() {
    let spans = exchange(1, |client, base| async move {
        let sent = client
            .get(format!("{base}/slow"))
            .timeout(Duration::from_millis(200))
            .send()
            .await;
        assert!(sent.unwrap_err().is_timeout());
    });
    let server = server_span(&spans);
    assert_eq!(server.name, "GET /slow");
    assert_eq!(attr(server, "cancelled"), Some(&V::Bool(true)));
    assert!(
        matches!(server.status, Status::Error { .. }),
        "{:?}",
        server.status
    );
    assert_eq!(attr(server, "http.response.status_code"), None);
}

#[test]
fn an_incoming_traceparent_is_continued() {
    let spans = exchange(3, |client, base| async move {
        client
            .get(format!("{base}/orders/1"))
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .send()
            .await
            .unwrap();
    });
    let server = server_span(&spans);
    assert_eq!(
        server.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(server.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(server.parent_span_is_remote);
}

#[test]
fn credentials_in_the_request_never_become_attributes() {
    let spans = exchange(3, |client, base| async move {
        let url = base.replace("http://", "http://ada:SECRET-password@");
        client
            .get(format!("{url}/orders/3?api_key=SECRET-key&token=SECRET-token"))
            .header("authorization", "Bearer SECRET-bearer")
            .header("cookie", "session=SECRET-cookie")
            .header("x-api-key", "SECRET-header")
            .send()
            .await
            .unwrap();
    });
    assert_eq!(server_span(&spans).name, "GET /orders/{id}");
    assert!(nowhere(&spans, "SECRET"), "{spans:#?}");
}

/// A plain tower service answering every request with `hello`.
#[derive(Clone)]
struct Hello;

impl<B> tower_service::Service<http::Request<B>> for Hello {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<B>) -> Self::Future {
        Box::pin(async {
            let _work = span!("hello_work");
            Ok(http::Response::new(Full::new(Bytes::from_static(b"hello"))))
        })
    }
}

#[test]
fn a_hyper_server_traces_its_requests() {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use tower_layer::Layer as _;

    let recorder = Recorder::start();
    let rt = runtime();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(ServerLayer::new().layer(Hello));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        let body = reqwest::get(format!("http://{addr}/greeting/ada"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "hello");
    });
    let spans = recorder.spans(2);
    drop(rt);
    let server = server_span(&spans);
    // No router names a route here: the method alone, never the path.
    assert_eq!(server.name, "GET");
    assert_eq!(text(server, "url.path").as_deref(), Some("/greeting/ada"));
    assert_eq!(attr(server, "http.response.status_code"), Some(&V::I64(200)));
    assert!(is_child_of(named(&spans, "hello_work"), server));
}
