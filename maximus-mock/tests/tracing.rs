//! The server span recorded for each request, read back from an in-memory
//! exporter behind the global `maximus-trace` pipeline.

use std::sync::OnceLock;

use maximus_mock::{Fault, Method, MockMaximus};
use maximus_trace::TracingManager;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

/// The pipeline is global, so every test in this binary shares one; each test
/// sends its own trace id and looks only at that trace.
fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let guard = TracingManager::builder()
            .service_name("maximus-mock-tests")
            .span_exporter(exporter.clone())
            .environment(|_| None)
            .init()
            .expect("tracing starts");
        // Kept for the life of the test process.
        Box::leak(Box::new(guard));
        exporter
    })
}

/// Sends `GET path` under trace `trace_id` (parent span `b7ad6b7169203331`) and
/// returns the spans of that trace.
async fn spans_of_get(mock: &MockMaximus, path: &str, trace_id: &str) -> Vec<SpanData> {
    let exporter = exporter();
    let _ = reqwest::Client::new()
        .get(format!("{}{path}", mock.url()))
        .header("traceparent", format!("00-{trace_id}-b7ad6b7169203331-01"))
        .send()
        .await;
    maximus_trace::get_tracing().force_flush().expect("flush");
    exporter
        .get_finished_spans()
        .expect("spans")
        .into_iter()
        .filter(|span| span.span_context.trace_id().to_string() == trace_id)
        .collect()
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    let key = Key::from(key.to_owned());
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.clone())
}

#[tokio::test]
async fn request_is_a_server_span_under_the_incoming_traceparent() {
    let mock = MockMaximus::start().await.unwrap();
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let spans = spans_of_get(&mock, "/api/v1/governance/decision/abc", trace_id).await;

    assert_eq!(spans.len(), 1, "{spans:#?}");
    let span = &spans[0];
    assert_eq!(span.name, "GET /api/v1/governance/decision/{id}");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.parent_span_id.to_string(), "b7ad6b7169203331");
    assert_eq!(attribute(span, "http.request.method"), Some("GET".into()));
    assert_eq!(
        attribute(span, "url.path"),
        Some("/api/v1/governance/decision/abc".into())
    );
    assert_eq!(
        attribute(span, "http.route"),
        Some("/api/v1/governance/decision/{id}".into())
    );
    assert_eq!(
        attribute(span, "http.response.status_code"),
        Some(Value::I64(404))
    );
}

#[tokio::test]
async fn unmatched_path_span_is_named_by_method_alone() {
    let mock = MockMaximus::start().await.unwrap();
    let trace_id = "1af7651916cd43dd8448eb211c80319c";
    let spans = spans_of_get(&mock, "/no/such/route", trace_id).await;

    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(spans[0].name, "GET");
    assert_eq!(attribute(&spans[0], "http.route"), None);
}

#[tokio::test]
async fn dropped_connection_marks_the_span_failed_without_a_status_code() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(Method::GET, "/health", Fault::DropConnection);
    let trace_id = "2af7651916cd43dd8448eb211c80319c";
    let spans = spans_of_get(&mock, "/health", trace_id).await;

    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(attribute(&spans[0], "http.response.status_code"), None);
    assert_eq!(
        attribute(&spans[0], "error.type"),
        Some("connection_dropped".into())
    );
    assert!(matches!(spans[0].status, Status::Error { .. }));
}
