//! The Jaeger agent exporter behind the real pipeline: the global `init()` and the seed's
//! standalone `TracingManager::new`, into a UDP socket on 127.0.0.1 whose datagrams are decoded
//! with `decode_emit_batch`.

mod support;

use std::sync::OnceLock;
use std::time::Duration;

use maximus_trace::export::jaeger::{Batch, JaegerSpan, Tag, TagValue};
use maximus_trace::{TracingManager, span};

/// Generous: a safety net so that a lost datagram fails the test instead of hanging it.
const ARRIVAL: Duration = Duration::from_secs(10);

#[path = "support/fake_agent.rs"]
mod fake_agent;

use fake_agent::FakeAgent;

fn spans(batches: &[Batch]) -> Vec<&JaegerSpan> {
    batches.iter().flat_map(|b| &b.spans).collect()
}

fn find<'a>(spans: &[&'a JaegerSpan], name: &str) -> &'a JaegerSpan {
    spans
        .iter()
        .find(|s| s.operation_name == name)
        .unwrap_or_else(|| panic!("span {name} did not arrive"))
}

fn tag(tags: &[Tag], key: &str) -> Option<TagValue> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.clone())
}

fn string(s: &str) -> Option<TagValue> {
    Some(TagValue::String(s.to_owned()))
}

#[derive(Debug)]
struct OutOfStock;

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of stock")
    }
}

impl std::error::Error for OutOfStock {}

/// `reserve` (typed attributes) → `lock-row` → `query` (fails), made with `span!` under the
/// global pipeline and flushed; exported once and shared by the tests that read it.
fn sample() -> &'static [Batch] {
    static SAMPLE: OnceLock<Vec<Batch>> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let _lock = support::exclusive();
        let agent = FakeAgent::start();
        let guard = TracingManager::builder()
            .environment(|_| None)
            .service_name("inventory")
            .jaeger_agent("127.0.0.1", agent.port)
            .init()
            .expect("init");
        {
            let _root = span!("reserve", sku = "X-1", quantity = 2, price = 9.5, gift = true);
            let _child = span!("lock-row", db.table = "stock");
            let _grandchild = span!("query");
            maximus_trace::record_error(&OutOfStock);
        }
        guard.force_flush().expect("flush");
        let batches = agent.wait_for_spans(3, ARRIVAL);
        drop(guard);
        batches
    })
}

#[test]
fn batches_name_the_service_as_their_process() {
    for batch in sample() {
        assert_eq!(batch.process.service_name, "inventory");
    }
}

#[test]
fn nested_span_macros_chain_parent_ids_in_one_trace() {
    let spans = spans(sample());
    let (root, child, grandchild) = (
        find(&spans, "reserve"),
        find(&spans, "lock-row"),
        find(&spans, "query"),
    );
    assert_eq!(root.parent_span_id, 0);
    assert_eq!(child.parent_span_id, root.span_id);
    assert_eq!(grandchild.parent_span_id, child.span_id);
    let trace = |s: &JaegerSpan| (s.trace_id_high, s.trace_id_low);
    assert_eq!(trace(child), trace(root));
    assert_eq!(trace(grandchild), trace(root));
}

#[test]
fn span_macro_attributes_become_typed_tags() {
    let spans = spans(sample());
    let tags = &find(&spans, "reserve").tags;
    assert_eq!(tag(tags, "sku"), string("X-1"));
    assert_eq!(tag(tags, "quantity"), Some(TagValue::Long(2)));
    assert_eq!(tag(tags, "price"), Some(TagValue::Double(9.5)));
    assert_eq!(tag(tags, "gift"), Some(TagValue::Bool(true)));
    assert_eq!(tag(&find(&spans, "lock-row").tags, "db.table"), string("stock"));
}

#[test]
fn record_error_becomes_jaegers_error_tags() {
    let spans = spans(sample());
    let tags = &find(&spans, "query").tags;
    assert_eq!(tag(tags, "error"), Some(TagValue::Bool(true)));
    assert_eq!(tag(tags, "otel.status_code"), string("ERROR"));
    assert_eq!(tag(tags, "otel.status_description"), string("out of stock"));
}

#[test]
fn record_error_becomes_an_exception_log() {
    let spans = spans(sample());
    let logs = &find(&spans, "query").logs;
    let exception = logs
        .iter()
        .find(|l| tag(&l.fields, "event") == string("exception"))
        .expect("an exception log");
    assert_eq!(
        tag(&exception.fields, "exception.message"),
        string("out of stock")
    );
}

#[test]
fn spans_without_an_error_carry_no_error_tag() {
    let spans = spans(sample());
    assert_eq!(tag(&find(&spans, "reserve").tags, "error"), None);
}

#[test]
fn seed_constructor_delivers_spans_to_the_agent() {
    let _lock = support::exclusive();
    let agent = FakeAgent::start();
    let manager = TracingManager::new("seed-service", "127.0.0.1", agent.port, true);
    {
        let _s = manager.span("seed-operation", [("k", 1)]);
    }
    manager.force_flush().expect("flush");
    let batches = agent.wait_for_spans(1, ARRIVAL);
    drop(manager);
    assert_eq!(batches[0].process.service_name, "seed-service");
    let spans = spans(&batches);
    let span = find(&spans, "seed-operation");
    assert_eq!(tag(&span.tags, "k"), Some(TagValue::Long(1)));
}

#[test]
fn dropping_the_seed_manager_delivers_every_span() {
    const N: usize = 300;
    let _lock = support::exclusive();
    let agent = FakeAgent::start();
    let manager = TracingManager::new("seed-service", "127.0.0.1", agent.port, true);
    for i in 0..N {
        let _s = manager.span("bulk", [("i", i)]);
    }
    drop(manager);
    let batches = agent.wait_for_spans(N, ARRIVAL);
    assert_eq!(spans(&batches).len(), N);
}

#[test]
fn a_span_too_large_for_a_datagram_arrives_trimmed_and_is_counted() {
    let _lock = support::exclusive();
    let agent = FakeAgent::start();
    let guard = TracingManager::builder()
        .environment(|_| None)
        .jaeger_agent("127.0.0.1", agent.port)
        .init()
        .expect("init");
    {
        let _s = span!("oversized", blob = "x".repeat(200_000));
    }
    guard.force_flush().expect("flush");
    let stats = guard.stats();
    let batches = agent.wait_for_spans(1, ARRIVAL);
    drop(guard);
    assert_eq!(
        (stats.spans_trimmed, stats.spans_dropped_too_large),
        (1, 0),
        "{stats:?}"
    );
    let spans = spans(&batches);
    let span = find(&spans, "oversized");
    assert!(
        tag(&span.tags, "blob").is_none(),
        "the oversized attribute was trimmed"
    );
    assert!(span.tags.iter().any(|t| t.key == "maximus.trimmed_attributes"));
}

#[test]
fn a_span_too_large_even_trimmed_is_counted_dropped_and_its_batch_mates_exported() {
    let _lock = support::exclusive();
    let agent = FakeAgent::start();
    let guard = TracingManager::builder()
        .environment(|_| None)
        .jaeger_agent("127.0.0.1", agent.port)
        .init()
        .expect("init");
    let huge_name = "n".repeat(100_000);
    {
        let _s = guard.span(huge_name, [("k", 1)]);
    }
    for _ in 0..3 {
        let _s = span!("fits");
    }
    let flushed = guard.force_flush();
    let stats = guard.stats();
    let batches = agent.wait_for_spans(3, ARRIVAL);
    drop(guard);
    assert_eq!(
        (
            stats.spans_exported,
            stats.spans_failed,
            stats.spans_dropped_too_large
        ),
        (3, 0, 1),
        "{stats:?}"
    );
    assert!(
        flushed.is_ok(),
        "a dropped span is not a failed export: {flushed:?}"
    );
    assert_eq!(spans(&batches).len(), 3);
}
