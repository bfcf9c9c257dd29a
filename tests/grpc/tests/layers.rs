//! gRPC calls through `ClientLayer` (on a tonic channel) to a tonic server behind
//! `ServerLayer`, on loopback; spans read back from the global pipeline's exporter.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use maximus_grpc_suite::shop::{CancelRequest, PlaceRequest, TrackRequest};
use maximus_grpc_suite::{client, serve};
use maximus_trace::{FutureExt as _, TracingGuard, TracingManager, get_tracing};
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use tonic::Code;

/// One global pipeline at a time.
static PIPELINE: Mutex<()> = Mutex::new(());

/// Runs `calls` on a two-worker runtime inside a span named `caller`, and returns the spans
/// once `count` have ended (a server span ends when its response's trailers are sent).
fn traced<F>(count: usize, calls: impl FnOnce() -> F) -> Vec<SpanData>
where
    F: Future<Output = ()>,
{
    let _lock = PIPELINE.lock().unwrap_or_else(|e| e.into_inner());
    let exporter = InMemorySpanExporter::default();
    let guard: TracingGuard = TracingManager::builder()
        .service_name("grpc-test")
        .environment(|_| None)
        .span_exporter(exporter.clone())
        .init()
        .expect("init");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(calls().in_span(get_tracing().span_builder("caller").start()));
    let deadline = Instant::now() + Duration::from_secs(5);
    let spans = loop {
        guard.force_flush().expect("flush");
        let spans = exporter.get_finished_spans().expect("spans");
        if spans.len() >= count || Instant::now() > deadline {
            break spans;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(rt);
    spans
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn is_child_of(child: &SpanData, parent: &SpanData) -> bool {
    child.parent_span_id == parent.span_context.span_id()
        && child.span_context.trace_id() == parent.span_context.trace_id()
}

fn one(spans: &[SpanData], kind: SpanKind) -> &SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.span_kind == kind).collect();
    assert_eq!(found.len(), 1, "one {kind:?} span: {spans:#?}");
    found[0]
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}: {spans:#?}"))
}

fn assert_rpc_attributes(span: &SpanData, method: &str) {
    assert_eq!(attr(span, "rpc.system"), Some(&Value::from("grpc")));
    assert_eq!(attr(span, "rpc.service"), Some(&Value::from("shop.v1.Orders")));
    assert_eq!(attr(span, "rpc.method"), Some(&Value::from(method.to_owned())));
}

#[test]
fn a_call_is_a_client_span_continued_by_a_server_span_both_named_package_service_method() {
    let spans = traced(4, || async {
        let addr = serve().await;
        let reply = client(addr)
            .await
            .place(PlaceRequest {
                item: "book".to_owned(),
                quantity: 1,
            })
            .await
            .expect("placed");
        assert_eq!(reply.get_ref().order_id, 4);
    });
    let client = one(&spans, SpanKind::Client);
    let server = one(&spans, SpanKind::Server);
    for span in [client, server] {
        assert_eq!(span.name, "shop.v1.Orders/Place");
        assert_rpc_attributes(span, "Place");
        // OK travels in the trailers, after the reply.
        assert_eq!(attr(span, "rpc.grpc.status_code"), Some(&Value::I64(0)));
        assert_eq!(span.status, Status::Unset);
    }
    assert!(is_child_of(client, named(&spans, "caller")));
    assert!(
        is_child_of(server, client),
        "the server continues the client's trace"
    );
    assert!(
        is_child_of(named(&spans, "reserve"), server),
        "the handler runs inside the server span"
    );
}

#[test]
fn an_internal_error_fails_both_spans_and_not_found_only_the_clients() {
    let spans = traced(5, || async {
        let addr = serve().await;
        let mut client = client(addr).await;
        let internal = client.cancel(CancelRequest { order_id: 0 }).await.unwrap_err();
        assert_eq!(internal.code(), Code::Internal);
        let not_found = client.cancel(CancelRequest { order_id: 9 }).await.unwrap_err();
        assert_eq!(not_found.code(), Code::NotFound);
    });
    let with_code = |kind: SpanKind, code: i64| {
        spans
            .iter()
            .find(|s| s.span_kind == kind && attr(s, "rpc.grpc.status_code") == Some(&Value::I64(code)))
            .unwrap_or_else(|| panic!("no {kind:?} span with status {code}: {spans:#?}"))
    };
    for kind in [SpanKind::Client, SpanKind::Server] {
        let internal = with_code(kind.clone(), 13);
        assert_eq!(internal.name, "shop.v1.Orders/Cancel");
        assert_eq!(
            internal.status,
            Status::error("INTERNAL: ledger unavailable"),
            "{kind:?}"
        );
    }
    assert_eq!(
        with_code(SpanKind::Client, 5).status,
        Status::error("NOT_FOUND: no order 9")
    );
    assert_eq!(
        with_code(SpanKind::Server, 5).status,
        Status::Unset,
        "NOT_FOUND is the caller's mistake, not the server's failure"
    );
}

#[test]
fn a_stream_that_fails_after_a_message_records_the_status_of_its_trailers() {
    let spans = traced(3, || async {
        let addr = serve().await;
        let mut updates = client(addr)
            .await
            .track(TrackRequest { order_id: 1 })
            .await
            .expect("stream")
            .into_inner();
        let first = updates.message().await.expect("first update").expect("one");
        assert_eq!(first.state, "packed");
        assert_eq!(updates.message().await.unwrap_err().code(), Code::Unavailable);
    });
    for kind in [SpanKind::Client, SpanKind::Server] {
        let span = one(&spans, kind);
        assert_eq!(span.name, "shop.v1.Orders/Track");
        assert_eq!(attr(span, "rpc.grpc.status_code"), Some(&Value::I64(14)));
        assert_eq!(span.status, Status::error("UNAVAILABLE: tracker offline"));
    }
    assert!(is_child_of(
        one(&spans, SpanKind::Server),
        one(&spans, SpanKind::Client)
    ));
}
