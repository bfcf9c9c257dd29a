//! The Jaeger agent exporter against a real UDP socket on 127.0.0.1: every datagram that arrives
//! is decoded and compared with what the OpenTelemetry SDK recorded.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::UdpSocket;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use maximus_trace::export::jaeger::{
    Batch, JaegerAgentExporter, JaegerSpan, SpanRefType, Tag, TagValue, decode_emit_batch,
};
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId,
    TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, SpanData, SpanExporter};
use thrift::protocol::{TCompactInputProtocol, TInputProtocol, TMessageType};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// A stand-in for the Jaeger agent: a UDP socket on an ephemeral loopback port.
struct FakeAgent(UdpSocket);

impl FakeAgent {
    fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
        // A safety net so that a lost datagram fails the test instead of hanging it.
        socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        FakeAgent(socket)
    }

    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }

    fn exporter(&self) -> JaegerAgentExporter {
        JaegerAgentExporter::new("127.0.0.1", self.port())
    }

    fn receive(&self) -> Vec<u8> {
        let mut datagram = vec![0; 65_536];
        let len = self.0.recv(&mut datagram).expect("a datagram from the exporter");
        datagram.truncate(len);
        datagram
    }

    fn receive_batches(&self, count: usize) -> Vec<Batch> {
        (0..count)
            .map(|_| decode_emit_batch(&self.receive()).expect("a valid emitBatch datagram"))
            .collect()
    }
}

const T0_MICROS: u64 = 1_700_000_000_123_456;

/// A fixed instant, `micros` after T0, so times and durations can be asserted exactly.
fn at(micros: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(T0_MICROS + micros)
}

fn resource() -> Resource {
    Resource::builder()
        .with_service_name("checkout")
        .with_attribute(KeyValue::new("deployment.environment", "test"))
        .with_attribute(KeyValue::new("host.cpus", 2))
        .build()
}

fn provider_for(exporter: JaegerAgentExporter) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(resource())
        .build()
}

fn scoped_tracer(provider: &SdkTracerProvider) -> SdkTracer {
    let scope = InstrumentationScope::builder("checkout-lib")
        .with_version("1.2.3")
        .build();
    provider.tracer_with_scope(scope)
}

/// A span context from another service, the target of the sample trace's link.
fn linked_context() -> SpanContext {
    SpanContext::new(
        TraceId::from_bytes([0xAB; 16]),
        SpanId::from_bytes([0xCD; 8]),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

/// What the SDK assigned, and what arrived at the agent, for the sample trace.
struct SampleTrace {
    trace_id: TraceId,
    root: SpanId,
    child: SpanId,
    grandchild: SpanId,
    batches: Vec<Batch>,
    spans: HashMap<String, JaegerSpan>,
}

/// `checkout` (server, OK) → `charge-card` (client, error, event, link) → `validate-card`
/// (internal), exported one span per datagram by a simple processor.
fn export_sample_trace() -> SampleTrace {
    let agent = FakeAgent::start();
    let provider = provider_for(agent.exporter());
    let tracer = scoped_tracer(&provider);

    let root = tracer
        .span_builder("checkout")
        .with_kind(SpanKind::Server)
        .with_start_time(at(0))
        .with_attributes(root_attributes())
        .start(&tracer);
    let root_cx = Context::new().with_span(root);

    let mut child = tracer
        .span_builder("charge-card")
        .with_kind(SpanKind::Client)
        .with_start_time(at(100))
        .with_links(vec![Link::with_context(linked_context())])
        .start_with_context(&tracer, &root_cx);
    child.add_event_with_timestamp("retry", at(200), vec![KeyValue::new("attempt", 2)]);
    child.set_status(Status::error("card declined"));
    let child_cx = root_cx.with_span(child);

    let mut grandchild = tracer
        .span_builder("validate-card")
        .with_start_time(at(300))
        .start_with_context(&tracer, &child_cx);
    grandchild.set_attribute(KeyValue::new("card.brand", "visa"));

    let ids = |cx: &SpanContext| (cx.trace_id(), cx.span_id());
    let (trace_id, root_id) = ids(root_cx.span().span_context());
    let child_id = child_cx.span().span_context().span_id();
    let grandchild_id = grandchild.span_context().span_id();

    grandchild.end_with_timestamp(at(800));
    child_cx.span().end_with_timestamp(at(1_100));
    root_cx.span().set_status(Status::Ok);
    root_cx.span().end_with_timestamp(at(1_500));
    provider.shutdown().unwrap();

    let batches = agent.receive_batches(3);
    let spans = batches
        .iter()
        .flat_map(|b| b.spans.iter().cloned())
        .map(|s| (s.operation_name.clone(), s))
        .collect();
    SampleTrace {
        trace_id,
        root: root_id,
        child: child_id,
        grandchild: grandchild_id,
        batches,
        spans,
    }
}

fn root_attributes() -> Vec<KeyValue> {
    let tags = vec![StringValue::from("gift"), StringValue::from("say \"hi\"")];
    vec![
        KeyValue::new("order.id", "A-17"),
        KeyValue::new("order.total", 99.5),
        KeyValue::new("order.express", true),
        KeyValue::new("order.items", 3_i64),
        KeyValue::new("order.tags", Value::Array(Array::String(tags))),
        KeyValue::new("order.weights", Value::Array(Array::F64(vec![1.5, 2.0]))),
        KeyValue::new("order.discount_ratio", f64::NAN),
    ]
}

impl SampleTrace {
    fn span(&self, name: &str) -> &JaegerSpan {
        self.spans
            .get(name)
            .unwrap_or_else(|| panic!("span {name} did not arrive"))
    }
}

fn tag(tags: &[Tag], key: &str) -> Option<TagValue> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.clone())
}

fn string(value: &str) -> Option<TagValue> {
    Some(TagValue::String(value.to_owned()))
}

fn span_id_i64(id: SpanId) -> i64 {
    i64::from_be_bytes(id.to_bytes())
}

/// Runs an export to completion. The exporter does its work synchronously, so the first poll
/// must finish it: a pending future would mean the caller could be left waiting.
fn export_now(exporter: &JaegerAgentExporter, spans: Vec<SpanData>) -> OTelSdkResult {
    let mut export = pin!(exporter.export(spans));
    match export.as_mut().poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("export left its caller waiting"),
    }
}

/// Spans as the SDK hands them to exporters, recorded in memory.
fn record(make_spans: impl FnOnce(&SdkTracer)) -> Vec<SpanData> {
    let memory = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(memory.clone())
        .build();
    make_spans(&provider.tracer("test"));
    // Read before shutdown: the in-memory exporter forgets its spans when shut down.
    let spans = memory.get_finished_spans().unwrap();
    provider.shutdown().unwrap();
    spans
}

fn record_one(name: &'static str, attributes: Vec<KeyValue>) -> Vec<SpanData> {
    record(|tracer| {
        tracer
            .span_builder(name)
            .with_attributes(attributes)
            .start(tracer)
            .end()
    })
}

fn internal_failure(result: OTelSdkResult) -> String {
    match result {
        Err(OTelSdkError::InternalFailure(message)) => message,
        other => panic!("expected an internal failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------

#[test]
fn trace_id_is_split_big_endian_into_high_and_low() {
    let trace = export_sample_trace();
    let bytes = trace.trace_id.to_bytes();
    let high = i64::from_be_bytes(bytes[..8].try_into().unwrap());
    let low = i64::from_be_bytes(bytes[8..].try_into().unwrap());
    for span in trace.spans.values() {
        assert_eq!((span.trace_id_high, span.trace_id_low), (high, low));
    }
}

#[test]
fn span_ids_and_parent_ids_match_the_sdk() {
    let trace = export_sample_trace();
    let ids = |name| {
        let span = trace.span(name);
        (span.span_id, span.parent_span_id)
    };
    assert_eq!(ids("checkout"), (span_id_i64(trace.root), 0));
    assert_eq!(
        ids("charge-card"),
        (span_id_i64(trace.child), span_id_i64(trace.root))
    );
    let grandchild = (span_id_i64(trace.grandchild), span_id_i64(trace.child));
    assert_eq!(ids("validate-card"), grandchild);
}

#[test]
fn sampled_spans_carry_flag_1() {
    let trace = export_sample_trace();
    assert!(trace.spans.values().all(|s| s.flags == 1));
}

#[test]
fn operation_names_are_the_span_names() {
    let trace = export_sample_trace();
    let mut names: Vec<&str> = trace.spans.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["charge-card", "checkout", "validate-card"]);
}

#[test]
fn start_time_and_duration_are_microseconds() {
    let trace = export_sample_trace();
    let root = trace.span("checkout");
    assert_eq!(root.start_time, T0_MICROS as i64);
    assert_eq!(root.duration, 1_500);
    let child = trace.span("charge-card");
    assert_eq!(
        (child.start_time, child.duration),
        (T0_MICROS as i64 + 100, 1_000)
    );
}

#[test]
fn attributes_become_typed_tags() {
    let trace = export_sample_trace();
    let tags = &trace.span("checkout").tags;
    assert_eq!(tag(tags, "order.id"), string("A-17"));
    assert_eq!(tag(tags, "order.total"), Some(TagValue::Double(99.5)));
    assert_eq!(tag(tags, "order.express"), Some(TagValue::Bool(true)));
    assert_eq!(tag(tags, "order.items"), Some(TagValue::Long(3)));
}

#[test]
fn arrays_become_json_string_tags() {
    let trace = export_sample_trace();
    let tags = &trace.span("checkout").tags;
    assert_eq!(tag(tags, "order.tags"), string(r#"["gift","say \"hi\""]"#));
    assert_eq!(tag(tags, "order.weights"), string("[1.5,2]"));
}

#[test]
fn non_finite_doubles_become_string_tags() {
    let trace = export_sample_trace();
    let tags = &trace.span("checkout").tags;
    assert_eq!(tag(tags, "order.discount_ratio"), string("NaN"));
}

/// Internal spans carry `span.kind=internal` too: a real Jaeger v2 shows a span without the tag
/// as of unspecified kind (the suite in `tests/jaeger` found it), unlike the same span over OTLP.
#[test]
fn span_kind_is_a_lower_case_tag_internal_included() {
    let trace = export_sample_trace();
    assert_eq!(tag(&trace.span("checkout").tags, "span.kind"), string("server"));
    assert_eq!(
        tag(&trace.span("charge-card").tags, "span.kind"),
        string("client")
    );
    assert_eq!(
        tag(&trace.span("validate-card").tags, "span.kind"),
        string("internal")
    );
}

#[test]
fn producer_and_consumer_kinds_are_lower_case_tags() {
    let agent = FakeAgent::start();
    let provider = provider_for(agent.exporter());
    let tracer = provider.tracer("test");
    for kind in [SpanKind::Producer, SpanKind::Consumer] {
        tracer
            .span_builder("message")
            .with_kind(kind)
            .start(&tracer)
            .end();
    }
    provider.shutdown().unwrap();
    let kinds: Vec<_> = agent
        .receive_batches(2)
        .iter()
        .map(|b| tag(&b.spans[0].tags, "span.kind"))
        .collect();
    let expected = [string("producer"), string("consumer")];
    assert_eq!(kinds, expected);
}

#[test]
fn error_status_adds_error_true_and_the_description() {
    let trace = export_sample_trace();
    let tags = &trace.span("charge-card").tags;
    assert_eq!(tag(tags, "otel.status_code"), string("ERROR"));
    assert_eq!(tag(tags, "error"), Some(TagValue::Bool(true)));
    assert_eq!(tag(tags, "otel.status_description"), string("card declined"));
}

#[test]
fn ok_status_sets_only_the_status_code() {
    let trace = export_sample_trace();
    let tags = &trace.span("checkout").tags;
    assert_eq!(tag(tags, "otel.status_code"), string("OK"));
    assert_eq!(tag(tags, "error"), None);
    assert_eq!(tag(&trace.span("validate-card").tags, "otel.status_code"), None);
}

#[test]
fn events_become_logs_with_the_name_and_typed_fields() {
    let trace = export_sample_trace();
    let logs = &trace.span("charge-card").logs;
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].timestamp, T0_MICROS as i64 + 200);
    assert_eq!(tag(&logs[0].fields, "event"), string("retry"));
    assert_eq!(tag(&logs[0].fields, "attempt"), Some(TagValue::Long(2)));
}

#[test]
fn links_become_follows_from_references() {
    let trace = export_sample_trace();
    let references = &trace.span("charge-card").references;
    assert_eq!(references.len(), 1);
    let reference = references[0];
    assert_eq!(reference.ref_type, SpanRefType::FollowsFrom);
    let linked = linked_context();
    let bytes = linked.trace_id().to_bytes();
    assert_eq!(
        reference.trace_id_high,
        i64::from_be_bytes(bytes[..8].try_into().unwrap())
    );
    assert_eq!(
        reference.trace_id_low,
        i64::from_be_bytes(bytes[8..].try_into().unwrap())
    );
    assert_eq!(reference.span_id, span_id_i64(linked.span_id()));
}

#[test]
fn local_parents_are_not_repeated_as_references() {
    let trace = export_sample_trace();
    assert!(trace.span("validate-card").references.is_empty());
}

#[test]
fn a_remote_parent_becomes_a_child_of_reference() {
    let agent = FakeAgent::start();
    let provider = provider_for(agent.exporter());
    let tracer = provider.tracer("test");
    let remote = Context::new().with_remote_span_context(linked_context());
    tracer
        .span_builder("handle-request")
        .start_with_context(&tracer, &remote)
        .end();
    provider.shutdown().unwrap();

    let span = agent.receive_batches(1).remove(0).spans.remove(0);
    assert_eq!(span.parent_span_id, span_id_i64(linked_context().span_id()));
    let reference = span.references.first().expect("a reference to the remote parent");
    assert_eq!(reference.ref_type, SpanRefType::ChildOf);
    assert_eq!(reference.span_id, span.parent_span_id);
    assert_eq!(reference.trace_id_low, span.trace_id_low);
}

#[test]
fn instrumentation_scope_becomes_tags() {
    let trace = export_sample_trace();
    let tags = &trace.span("validate-card").tags;
    assert_eq!(tag(tags, "otel.scope.name"), string("checkout-lib"));
    assert_eq!(tag(tags, "otel.scope.version"), string("1.2.3"));
}

#[test]
fn process_has_the_service_name_and_the_other_resource_attributes_as_tags() {
    let trace = export_sample_trace();
    let process = &trace.batches[0].process;
    assert_eq!(process.service_name, "checkout");
    assert_eq!(tag(&process.tags, "deployment.environment"), string("test"));
    assert_eq!(tag(&process.tags, "host.cpus"), Some(TagValue::Long(2)));
    assert_eq!(tag(&process.tags, "service.name"), None);
}

#[test]
fn process_is_unknown_service_without_a_resource() {
    let agent = FakeAgent::start();
    let exporter = agent.exporter();
    export_now(&exporter, record_one("lonely", Vec::new())).unwrap();
    assert_eq!(
        agent.receive_batches(1)[0].process.service_name,
        "unknown_service"
    );
}

#[test]
fn empty_names_and_keys_are_exported_as_they_are() {
    let spans = record(|tracer| {
        let attributes = vec![KeyValue::new("", "")];
        let mut span = tracer.span_builder("").with_attributes(attributes).start(tracer);
        span.add_event("", Vec::new());
        span.end();
    });
    let agent = FakeAgent::start();
    export_now(&agent.exporter(), spans).unwrap();
    let span = agent.receive_batches(1).remove(0).spans.remove(0);
    assert_eq!(span.operation_name, "");
    assert_eq!(tag(&span.tags, ""), string(""));
    assert_eq!(tag(&span.logs[0].fields, "event"), string(""));
}

// ---------------------------------------------------------------------------------------------
// Datagrams
// ---------------------------------------------------------------------------------------------

#[test]
fn each_datagram_is_a_oneway_emit_batch_call() {
    let agent = FakeAgent::start();
    export_now(&agent.exporter(), record_one("one", Vec::new())).unwrap();
    let datagram = agent.receive();
    let mut protocol = TCompactInputProtocol::new(&datagram[..]);
    let message = protocol.read_message_begin().unwrap();
    assert_eq!(message.name, "emitBatch");
    assert_eq!(message.message_type, TMessageType::OneWay);
}

#[test]
fn seq_no_increases_with_every_datagram() {
    let trace = export_sample_trace();
    let seq_nos: Vec<i64> = trace.batches.iter().map(|b| b.seq_no.unwrap()).collect();
    assert!(seq_nos.windows(2).all(|w| w[0] < w[1]), "{seq_nos:?}");
}

#[test]
fn many_spans_split_across_datagrams_under_the_limit() {
    const LIMIT: usize = 1_000;
    let spans = record(|tracer| {
        for n in 0..60 {
            let attributes = vec![KeyValue::new("n", n), KeyValue::new("pad", "x".repeat(40))];
            let builder = tracer.span_builder(format!("span-{n}"));
            builder.with_attributes(attributes).start(tracer).end();
        }
    });
    let agent = FakeAgent::start();
    let exporter = agent.exporter().with_max_packet_size(LIMIT);
    export_now(&exporter, spans).unwrap();

    let sent = exporter.stats().datagrams_sent as usize;
    assert!(sent > 1, "60 spans should not fit in one {LIMIT}-byte datagram");
    let datagrams: Vec<Vec<u8>> = (0..sent).map(|_| agent.receive()).collect();
    assert!(datagrams.iter().all(|d| d.len() <= LIMIT));
    let batches: Vec<Batch> = datagrams.iter().map(|d| decode_emit_batch(d).unwrap()).collect();
    let names: HashSet<String> = batches
        .iter()
        .flat_map(|b| b.spans.iter().map(|s| s.operation_name.clone()))
        .collect();
    assert_eq!(names.len(), 60);
    assert_eq!(batches.iter().map(|b| b.spans.len()).sum::<usize>(), 60);
    let seq_nos: Vec<i64> = batches.iter().map(|b| b.seq_no.unwrap()).collect();
    assert!(seq_nos.windows(2).all(|w| w[0] < w[1]), "{seq_nos:?}");
}

#[test]
fn a_span_with_a_200_kb_attribute_is_trimmed_and_still_arrives() {
    let agent = FakeAgent::start();
    let exporter = agent.exporter();
    let stats = exporter.stats_handle();
    let provider = provider_for(exporter);
    let tracer = provider.tracer("test");
    let mut span = tracer.span_builder("upload").start(&tracer);
    span.add_event("chunk", vec![KeyValue::new("index", 1)]);
    span.set_attribute(KeyValue::new("payload", "x".repeat(200 * 1024)));
    span.set_attribute(KeyValue::new("size", 204_800));
    span.end();
    provider.shutdown().unwrap();

    let datagram = agent.receive();
    assert!(datagram.len() <= 65_000);
    let span = decode_emit_batch(&datagram).unwrap().spans.remove(0);
    assert_eq!(span.operation_name, "upload");
    assert_eq!(
        tag(&span.tags, "maximus.trimmed_attributes"),
        Some(TagValue::Long(2))
    );
    assert_eq!(tag(&span.tags, "maximus.trimmed_events"), Some(TagValue::Long(1)));
    assert_eq!(tag(&span.tags, "payload"), None);
    assert!(span.logs.is_empty());
    assert_eq!(stats.stats().spans_trimmed, 1);
}

#[test]
fn a_span_too_large_even_when_trimmed_is_dropped_counted_and_reported() {
    let mut spans = record_one("small", Vec::new());
    spans.extend(record(|tracer| {
        tracer.span_builder("y".repeat(100_000)).start(tracer).end();
    }));
    let agent = FakeAgent::start();
    let exporter = agent.exporter();

    let message = internal_failure(export_now(&exporter, spans));
    assert!(message.contains("1 span(s) dropped"), "{message}");
    assert_eq!(exporter.stats().spans_dropped_too_large, 1);
    assert_eq!(agent.receive_batches(1)[0].spans[0].operation_name, "small");
}

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

#[test]
fn export_to_a_closed_port_returns_without_blocking_the_caller() {
    let port = {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    let exporter = JaegerAgentExporter::new("127.0.0.1", port);
    // Several exports: the kernel may report the first datagram's rejection on a later send.
    for _ in 0..3 {
        let _ = export_now(&exporter, record_one("nobody-listens", Vec::new()));
    }
    let stats = exporter.stats();
    assert_eq!(stats.datagrams_sent + stats.send_errors, 3);
}

#[test]
fn an_unresolvable_host_gives_an_error_naming_it() {
    // A label longer than DNS allows fails inside the resolver: no query leaves the machine.
    let host = format!("{}.invalid", "no-such-agent-".repeat(5));
    let exporter = JaegerAgentExporter::new(host.clone(), 6831);
    let message = internal_failure(export_now(&exporter, record_one("lost", Vec::new())));
    assert!(message.contains(&host), "{message}");
    assert_eq!(exporter.stats().send_errors, 1);
}

#[test]
fn export_after_shutdown_is_refused() {
    let agent = FakeAgent::start();
    let exporter = agent.exporter();
    exporter.shutdown().unwrap();
    let result = export_now(&exporter, record_one("late", Vec::new()));
    assert!(matches!(result, Err(OTelSdkError::AlreadyShutdown)), "{result:?}");
}
