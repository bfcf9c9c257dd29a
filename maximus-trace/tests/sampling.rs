//! Sampling decisions and what an unsampled span still does: parents decide for their
//! children, ids keep flowing downstream, attribute closures run only for recorded spans, and
//! custom samplers are asked with the span's name, kind and attributes.

mod support;

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use http::{HeaderMap, HeaderValue};
use maximus_trace::{TracingBuilder, extract, get_tracing, inject, span};
use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue, Value as V};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};
use support::{attr, capture, capture_with, find};

/// The remote parent an incoming request with this `traceparent` gives.
fn extract_traceparent(value: &'static str) -> maximus_trace::RemoteParent {
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", HeaderValue::from_static(value));
    extract(&headers)
}

fn traceparent(headers: &HeaderMap) -> String {
    headers["traceparent"].to_str().unwrap().to_owned()
}

#[test]
fn children_of_an_unsampled_span_carry_its_trace_downstream_with_the_sampled_flag_off() {
    let mut seen = None;
    let spans = capture_with(
        |b| b.sample_ratio(0.0),
        || {
            let root = span!("unsampled.root");
            let trace = maximus_trace::current_trace_id().expect("ids flow when not sampled");
            let _child = span!("unsampled.child", n = 1);
            assert!(!root.is_recording());
            assert_eq!(maximus_trace::current_trace_id().as_deref(), Some(&*trace));
            let mut headers = HeaderMap::new();
            inject(&mut headers);
            seen = Some((trace, traceparent(&headers)));
        },
    );
    assert!(spans.is_empty());
    let (trace, header) = seen.unwrap();
    assert!(header.starts_with(&format!("00-{trace}-")), "{header}");
    assert!(header.ends_with("-00"), "{header}");
}

#[test]
fn a_future_span_under_an_unsampled_span_shares_its_ids_and_is_still_counted() {
    let _lock = support::exclusive();
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let guard = support::builder(&exporter).sample_ratio(0.0).init().unwrap();
    let root = span!("unsampled.root");
    let (trace, span) = (root.trace_id().unwrap(), root.span_id().unwrap());
    let child = get_tracing().span_builder("unsampled.child").start();
    // Nothing records either span: the child goes out under the root's ids, as a sync child
    // shares its parent's frame.
    assert_eq!(child.span_id().as_deref(), Some(&*span));
    let mut headers = HeaderMap::new();
    futures_executor::block_on(maximus_trace::FutureExt::in_span(
        async {
            assert_eq!(maximus_trace::current_span_id().as_deref(), Some(&*span));
            inject(&mut headers);
        },
        child,
    ));
    drop(root);
    assert_eq!(traceparent(&headers), format!("00-{trace}-{span}-00"));
    let stats = guard.stats();
    drop(guard);
    assert_eq!((stats.spans_started, stats.spans_ended), (2, 2), "{stats:?}");
    assert!(exporter.get_finished_spans().unwrap().is_empty());
}

#[test]
fn a_span_under_an_unsampled_remote_parent_has_ids_of_its_own() {
    let _ = capture(|| {
        let remote = extract_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
        let server = get_tracing().span_builder("server").parent(&remote).start();
        assert_eq!(
            server.trace_id().as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_ne!(server.span_id().as_deref(), Some("00f067aa0ba902b7"));
    });
}

#[test]
fn a_sampled_remote_parent_is_followed_even_when_local_roots_are_not_sampled() {
    let spans = capture_with(
        |b| b.sample_ratio(0.0),
        || {
            let remote = extract_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
            let _server = get_tracing().span_builder("server").parent(&remote).entered();
            let _inner = span!("inner");
            let _local_root = get_tracing().span_builder("local.root").root().entered();
        },
    );
    let server = find(&spans, "server");
    assert_eq!(
        server.span_context.trace_id(),
        TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736_u128)
    );
    assert!(server.parent_span_is_remote);
    assert!(support::is_child_of(find(&spans, "inner"), server));
    assert!(spans.iter().all(|s| s.name != "local.root"));
}

#[test]
fn an_unsampled_remote_parent_is_followed_even_when_local_roots_are_sampled() {
    let spans = capture(|| {
        let remote = extract_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
        let _server = get_tracing().span_builder("server").parent(&remote).entered();
        let _inner = span!("inner");
        let mut out = HeaderMap::new();
        inject(&mut out);
        let header = traceparent(&out);
        assert!(
            header.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{header}"
        );
        assert!(header.ends_with("-00"), "{header}");
    });
    assert!(spans.is_empty(), "{spans:?}");
}

#[test]
fn start_with_runs_its_closure_only_for_recorded_spans() {
    let calls = Cell::new(0);
    let attributes = || {
        calls.set(calls.get() + 1);
        [("lazy", "built")]
    };
    let spans = capture(|| {
        get_tracing()
            .span_builder("eager.and.lazy")
            .attribute("eager", 1)
            .start_with(attributes)
            .end();
    });
    assert_eq!(calls.get(), 1);
    let s = find(&spans, "eager.and.lazy");
    assert_eq!(attr(s, "eager"), Some(&V::I64(1)));
    assert_eq!(attr(s, "lazy"), Some(&V::from("built")));

    let configurations: [fn(TracingBuilder) -> TracingBuilder; 2] =
        [|b| b.sample_ratio(0.0), |b| b.enabled(false)];
    for configure in configurations {
        let spans = capture_with(configure, || {
            let _root = span!("root");
            get_tracing().span_builder("child").start_with(attributes).end();
            get_tracing()
                .span_builder("root")
                .root()
                .start_with(attributes)
                .end();
        });
        assert!(spans.is_empty());
    }
    assert_eq!(calls.get(), 1, "closures ran for spans that were not recorded");
}

/// What a sampler was asked: the span's name, its kind, whether it had a parent, its
/// attributes.
type Question = (String, SpanKind, bool, Vec<KeyValue>);

/// Records what it was asked, and samples only spans whose name starts with `keep`.
#[derive(Debug, Clone, Default)]
struct ByName {
    asked: Arc<Mutex<Vec<Question>>>,
}

impl ShouldSample for ByName {
    fn should_sample(
        &self,
        parent: Option<&Context>,
        _trace_id: TraceId,
        name: &str,
        kind: &SpanKind,
        attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        use opentelemetry::trace::TraceContextExt;
        let has_parent = parent.is_some_and(|cx| cx.span().span_context().is_valid());
        self.asked
            .lock()
            .unwrap()
            .push((name.to_owned(), kind.clone(), has_parent, attributes.to_vec()));
        SamplingResult {
            decision: if name.starts_with("keep") {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: vec![KeyValue::new("sampled.by", "name")],
            trace_state: Default::default(),
        }
    }
}

#[test]
fn a_custom_sampler_is_asked_for_every_span_with_its_name_kind_parent_and_attributes() {
    let sampler = ByName::default();
    let asked = Arc::clone(&sampler.asked);
    let spans = capture_with(
        |b| b.sampler(sampler),
        || {
            let _keep = span!("keep.root", tier = "gold");
            let _drop = get_tracing()
                .span_builder("drop.child")
                .kind(maximus_trace::SpanKind::Server)
                .entered();
            let _keep_child = span!("keep.grandchild");
        },
    );
    let asked = asked.lock().unwrap();
    let names: Vec<(&str, &SpanKind, bool)> = asked.iter().map(|(n, k, p, _)| (n.as_str(), k, *p)).collect();
    assert_eq!(
        names,
        [
            ("keep.root", &SpanKind::Internal, false),
            ("drop.child", &SpanKind::Server, true),
            ("keep.grandchild", &SpanKind::Internal, true)
        ]
    );
    assert_eq!(asked[0].3, [KeyValue::new("tier", "gold")]);
    let recorded: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    let root = find(&spans, "keep.root");
    // The sampler's own attributes are added to the span it sampled.
    assert_eq!(attr(root, "sampled.by"), Some(&V::from("name")));
    assert_eq!(
        find(&spans, "keep.grandchild").span_context.trace_id(),
        root.span_context.trace_id()
    );
}

/// Records every span without sampling it.
#[derive(Debug, Clone)]
struct RecordOnly;

impl ShouldSample for RecordOnly {
    fn should_sample(
        &self,
        _parent: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        SamplingResult {
            decision: SamplingDecision::RecordOnly,
            attributes: Vec::new(),
            trace_state: Default::default(),
        }
    }
}

#[test]
fn a_span_under_a_recorded_but_unsampled_parent_keeps_ids_of_its_own() {
    // Only a parent that records nothing lends its ids: a second frame with the id of a
    // parent that records could be popped in that parent's place.
    let _lock = support::exclusive();
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let guard = support::builder(&exporter).init().unwrap();
    let standalone = maximus_trace::TracingManager::builder()
        .environment(|_| None)
        .sampler(RecordOnly)
        .span_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default())
        .build()
        .unwrap();
    let parent = standalone.span_builder("record.only").start().enter();
    assert!(parent.span().is_recording());
    let child = get_tracing().span_builder("child").start();
    assert_ne!(child.span_id(), parent.span().span_id());
    let child = child.enter();
    // Out of order: the parent's guard must take its own frame, leaving the child's current.
    drop(parent);
    assert_eq!(maximus_trace::current_span_id(), child.span().span_id());
    maximus_trace::set_attribute("still", "here");
    drop(child);
    assert_eq!(maximus_trace::current_span_id(), None);
    drop(standalone);
    drop(guard);
}
