//! Client middleware on real clients against a real server on loopback: reqwest through
//! `TracingMiddleware`, hyper-util's client through `ClientLayer`; the server traced by
//! `ServerLayer`. Run with `--features axum,reqwest`.

#[path = "support/http.rs"]
mod http_support;
mod support;

use std::future::poll_fn;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt as _, Empty};
use http_support::{Recorder, closed_port, named, nowhere, serve_axum, text};
use maximus_trace::http::{ClientLayer, ServerLayer, TracingMiddleware};
use maximus_trace::{FutureExt as _, get_tracing, trace_span};
use opentelemetry::Value as V;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use reqwest_middleware::ClientWithMiddleware;
use support::{attr, is_child_of, runtime};

/// Answers with the `traceparent` it received.
async fn echo_traceparent(headers: HeaderMap) -> String {
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_owned()
}

fn app() -> Router {
    Router::new()
        .route("/echo", get(echo_traceparent))
        .route("/fail", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .layer(ServerLayer::new())
}

fn traced_client() -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(TracingMiddleware::new())
        .build()
}

fn of_kind(spans: &[SpanData], kind: SpanKind) -> Vec<&SpanData> {
    spans.iter().filter(|s| s.span_kind == kind).collect()
}

#[test]
fn a_reqwest_request_is_a_client_span_under_the_callers_span_and_the_servers_parent() {
    let recorder = Recorder::start();
    let rt = runtime();
    let (addr, echoed) = rt.block_on(async {
        let addr = serve_axum(app()).await;
        let caller = get_tracing().span_builder("caller").start();
        let echoed = async {
            let response = traced_client()
                .get(format!("http://{addr}/echo"))
                .send()
                .await
                .unwrap();
            response.text().await.unwrap()
        }
        .in_span(caller)
        .await;
        (addr, echoed)
    });
    let spans = recorder.spans(3);
    drop(rt);
    let client = of_kind(&spans, SpanKind::Client)[0];
    let server = of_kind(&spans, SpanKind::Server)[0];
    assert_eq!(client.name, "GET");
    assert!(is_child_of(client, named(&spans, "caller")));
    assert!(
        is_child_of(server, client),
        "the server continues the client span"
    );
    assert_eq!(
        echoed,
        format!(
            "00-{}-{}-01",
            client.span_context.trace_id(),
            client.span_context.span_id()
        )
    );
    assert_eq!(text(client, "http.request.method").as_deref(), Some("GET"));
    assert_eq!(text(client, "url.full"), Some(format!("http://{addr}/echo")));
    assert_eq!(text(client, "server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(attr(client, "server.port"), Some(&V::I64(i64::from(addr.port()))));
    assert_eq!(attr(client, "http.response.status_code"), Some(&V::I64(200)));
    assert_eq!(client.status, Status::Unset);
}

#[trace_span]
async fn fetch(client: &ClientWithMiddleware, url: &str) -> StatusCode {
    client.get(url).send().await.unwrap().status()
}

#[test]
fn concurrent_requests_each_hang_under_the_span_that_sent_them() {
    let recorder = Recorder::start();
    let rt = runtime();
    rt.block_on(async {
        let addr = serve_axum(app()).await;
        let client = traced_client();
        let url = format!("http://{addr}/echo");
        let first = fetch(&client, &url).in_span(get_tracing().span_builder("first").start());
        let second = fetch(&client, &url).in_span(get_tracing().span_builder("second").start());
        // Polled in turns on one task: each poll must see its own caller.
        let (a, b) = tokio::join!(first, second);
        assert_eq!((a, b), (StatusCode::OK, StatusCode::OK));
    });
    let spans = recorder.spans(8);
    drop(rt);
    let fetches: Vec<_> = spans.iter().filter(|s| s.name == "fetch").collect();
    assert_eq!(fetches.len(), 2);
    for caller in ["first", "second"] {
        let caller = named(&spans, caller);
        let fetch = fetches
            .iter()
            .find(|f| is_child_of(f, caller))
            .expect("fetch under its caller");
        let clients: Vec<_> = of_kind(&spans, SpanKind::Client)
            .into_iter()
            .filter(|c| is_child_of(c, fetch))
            .collect();
        assert_eq!(clients.len(), 1, "one client span under each fetch");
        let servers = of_kind(&spans, SpanKind::Server);
        assert!(servers.iter().any(|s| is_child_of(s, clients[0])));
    }
}

#[test]
fn a_connection_failure_marks_the_client_span_failed_without_leaking_credentials() {
    let recorder = Recorder::start();
    let rt = runtime();
    rt.block_on(async {
        let url = format!(
            "http://ada:SECRET-pw@127.0.0.1:{}/orders?token=SECRET-token",
            closed_port()
        );
        let error = traced_client().get(url).send().await.unwrap_err();
        assert!(error.is_connect());
    });
    let spans = recorder.spans(1);
    drop(rt);
    let client = of_kind(&spans, SpanKind::Client)[0];
    assert!(
        matches!(client.status, Status::Error { .. }),
        "{:?}",
        client.status
    );
    assert_eq!(text(client, "error.type").as_deref(), Some("connect"));
    assert!(client.events.iter().any(|e| e.name == "exception"));
    assert_eq!(attr(client, "http.response.status_code"), None);
    assert!(nowhere(&spans, "SECRET"), "{spans:#?}");
}

#[test]
fn a_5xx_or_4xx_response_marks_the_client_span_failed() {
    let recorder = Recorder::start();
    let rt = runtime();
    rt.block_on(async {
        let addr = serve_axum(app()).await;
        let client = traced_client();
        for path in ["fail", "missing"] {
            client.get(format!("http://{addr}/{path}")).send().await.unwrap();
        }
    });
    let spans = recorder.spans(4);
    drop(rt);
    let clients = of_kind(&spans, SpanKind::Client);
    assert_eq!(clients.len(), 2);
    for client in clients {
        let code = attr(client, "http.response.status_code").cloned();
        assert!(matches!(code, Some(V::I64(503 | 404))), "{code:?}");
        assert!(
            matches!(client.status, Status::Error { .. }),
            "{:?}",
            client.status
        );
    }
}

#[test]
fn a_client_layer_over_hyper_utils_client_traces_and_injects() {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use tower_layer::Layer as _;
    use tower_service::Service as _;

    let recorder = Recorder::start();
    let rt = runtime();
    let addr = rt.block_on(async {
        let addr = serve_axum(app()).await;
        let hyper_client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let mut client = ClientLayer::new().layer(hyper_client);
        let request = http::Request::get(format!("http://{addr}/echo"))
            .body(Empty::new())
            .unwrap();
        let body = async {
            poll_fn(|cx| client.poll_ready(cx)).await.unwrap();
            let response = client.call(request).await.unwrap();
            assert_eq!(response.status(), 200);
            response.into_body().collect().await.unwrap().to_bytes()
        }
        .in_span(get_tracing().span_builder("caller").start())
        .await;
        assert!(body.starts_with(b"00-"), "{body:?}");
        addr
    });
    let spans = recorder.spans(3);
    drop(rt);
    let client = of_kind(&spans, SpanKind::Client)[0];
    let server = of_kind(&spans, SpanKind::Server)[0];
    assert_eq!(client.name, "GET");
    assert!(is_child_of(client, named(&spans, "caller")));
    assert!(is_child_of(server, client));
    assert_eq!(text(client, "url.full"), Some(format!("http://{addr}/echo")));
    assert_eq!(attr(client, "http.response.status_code"), Some(&V::I64(200)));
}

#[test]
fn a_client_layer_request_to_a_closed_port_fails_its_span() {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use tower_layer::Layer as _;
    use tower_service::Service as _;

    let recorder = Recorder::start();
    let rt = runtime();
    rt.block_on(async {
        let hyper_client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let mut client = ClientLayer::new().layer(hyper_client);
        let request = http::Request::get(format!("http://127.0.0.1:{}/", closed_port()))
            .body(Empty::new())
            .unwrap();
        poll_fn(|cx| client.poll_ready(cx)).await.unwrap();
        assert!(client.call(request).await.is_err());
    });
    let spans = recorder.spans(1);
    drop(rt);
    let client = of_kind(&spans, SpanKind::Client)[0];
    assert!(
        matches!(client.status, Status::Error { .. }),
        "{:?}",
        client.status
    );
    assert!(client.events.iter().any(|e| e.name == "exception"));
}
