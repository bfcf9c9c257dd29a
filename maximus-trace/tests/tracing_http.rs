//! A service as teams write it: an axum server behind our `ServerLayer`, tower-http's
//! `TraceLayer` inside it emitting `tracing` spans, `#[tracing::instrument]` handlers, and an
//! `EnvFilter` that switches targets on and off; `SpanLayer` records every `tracing` span the
//! filter lets through in our server span's tree. Real requests on loopback, spans read back
//! from the pipeline's exporter. Run with `--features axum,tracing`.
//!
//! One subscriber serves the file, installed globally as a program installs it: an
//! `EnvFilter` (`info`, tower-http at `debug`, the `noisy` target off), a `fmt` layer and
//! `SpanLayer`.

#[path = "support/http.rs"]
mod http_support;
mod support;

use std::sync::Once;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use http_support::{Recorder, named, serve_axum, text};
use maximus_trace::http::ServerLayer;
use maximus_trace::trace_span;
use maximus_trace::tracing_layer::SpanLayer;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::SpanData;
use support::{is_child_of, runtime};
use tower_http::trace::TraceLayer;
use tracing::Instrument as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::registry()
            .with(EnvFilter::new("info,tower_http=debug,noisy=off"))
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
            .with(SpanLayer::new())
            .init();
    });
}

#[trace_span]
fn tax(cents: u64) -> u64 {
    cents / 5
}

#[tracing::instrument]
async fn price(id: u64) -> u64 {
    tokio::task::yield_now().await;
    tax(id * 100)
}

#[tracing::instrument]
fn audit(id: u64) {
    tracing::info!(id, "audited");
}

async fn order(Path(id): Path<u64>) -> String {
    let total = price(id).await;
    {
        // Off in the filter: never a span, so `audit` hangs under the request span.
        let _scan = tracing::info_span!(target: "noisy", "scan").entered();
        audit(id);
    }
    // A debug span of the handler's own target: below the filter's `info`, not recorded.
    let reload = async { tokio::task::yield_now().await };
    reload.instrument(tracing::debug_span!("reload")).await;
    format!("order {id}: {total}")
}

/// Serves the app with tower-http's `TraceLayer` inside our `ServerLayer`, sends one request
/// for order 7, and returns the spans once the server span ended.
fn one_request() -> Vec<SpanData> {
    install();
    let recorder = Recorder::start();
    let rt = runtime();
    rt.block_on(async {
        let app = Router::new()
            .route("/orders/{id}", get(order))
            .layer(TraceLayer::new_for_http())
            .layer(ServerLayer::new());
        let addr = serve_axum(app).await;
        let body = reqwest::get(format!("http://{addr}/orders/7"))
            .await
            .expect("request")
            .text()
            .await
            .expect("body");
        assert_eq!(body, "order 7: 140");
    });
    let spans = recorder.spans_until(|spans| spans.iter().any(|s| s.span_kind == SpanKind::Server));
    drop(rt);
    spans
}

#[test]
fn tower_http_spans_hang_under_the_server_span_and_hold_the_handlers_spans() {
    let spans = one_request();
    let server = named(&spans, "GET /orders/{id}");
    assert_eq!(server.span_kind, SpanKind::Server);
    let request = named(&spans, "request");
    assert!(is_child_of(request, server), "{spans:#?}");
    assert_eq!(request.span_kind, SpanKind::Internal);
    // DefaultMakeSpan's fields, as attributes.
    assert_eq!(text(request, "method").as_deref(), Some("GET"));
    assert_eq!(text(request, "uri").as_deref(), Some("/orders/7"));
    assert_eq!(text(request, "version").as_deref(), Some("HTTP/1.1"));
    // `#[instrument]`ed async code, our `#[trace_span]` under it.
    let price = named(&spans, "price");
    assert!(is_child_of(price, request));
    assert_eq!(text(price, "id").as_deref(), Some("7"));
    assert!(is_child_of(named(&spans, "tax"), price));
    for span in &spans {
        assert_eq!(
            span.span_context.trace_id(),
            server.span_context.trace_id(),
            "{}",
            span.name
        );
    }
}

#[test]
fn tower_http_events_become_events_of_its_request_span() {
    let spans = one_request();
    let request = named(&spans, "request");
    let events: Vec<_> = request.events.iter().map(|e| e.name.as_ref()).collect();
    assert!(events.contains(&"started processing request"), "{events:?}");
    assert!(events.contains(&"finished processing request"), "{events:?}");
    let finished = request
        .events
        .iter()
        .find(|e| e.name == "finished processing request")
        .expect("the response event");
    let status = finished.attributes.iter().find(|kv| kv.key.as_str() == "status");
    assert_eq!(status.map(|kv| kv.value.to_string()).as_deref(), Some("200"));
}

#[test]
fn spans_the_env_filter_turns_off_are_not_recorded_and_their_children_skip_them() {
    let spans = one_request();
    for off in ["scan", "reload"] {
        assert!(
            spans.iter().all(|s| s.name != off),
            "{off} was recorded: {spans:#?}"
        );
    }
    let audit = named(&spans, "audit");
    assert!(is_child_of(audit, named(&spans, "request")), "{spans:#?}");
    assert!(audit.events.iter().any(|e| e.name == "audited"));
}
