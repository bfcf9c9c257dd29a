//! OTLP/HTTP export through the real global pipeline (`TracingManager::builder()...init()`) into
//! a local receiver that decodes each request's protobuf body.

#[path = "support/otlp_receiver.rs"]
mod otlp_receiver;
mod support;

use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use maximus_trace::{KeyValue, SpanKind, TracingBuilder, TracingManager, get_tracing, span};
use opentelemetry_proto::tonic::common::v1::KeyValue as ProtoKeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind as ProtoKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use otlp_receiver::{ExportRequest, OtlpReceiver};

/// Generous: a safety net so that a lost export fails the test instead of hanging it.
const ARRIVAL: Duration = Duration::from_secs(10);

/// A builder that ignores the process environment and exports to `endpoint`.
fn otlp(endpoint: String) -> TracingBuilder {
    TracingManager::builder()
        .environment(|_| None)
        .service_name("checkout")
        .otlp_endpoint(endpoint)
}

#[derive(Debug)]
struct CardDeclined;

impl std::fmt::Display for CardDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

impl std::error::Error for CardDeclined {}

/// The sample trace as it arrived, plus the trace id the application saw.
struct Sample {
    trace_id: String,
    requests: Vec<ExportRequest>,
    spans: Vec<Span>,
}

impl Sample {
    fn span(&self, name: &str) -> &Span {
        self.spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("span {name} did not arrive"))
    }

    fn resource(&self) -> &Resource {
        self.requests[0].body.resource_spans[0]
            .resource
            .as_ref()
            .expect("a resource")
    }
}

/// `checkout` (server, typed attributes) → `charge-card` (client, an event, an error) →
/// `validate-card` (internal), exported once and shared by the tests that read it.
fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let _lock = support::exclusive();
        let receiver = OtlpReceiver::start();
        let guard = otlp(receiver.endpoint())
            .resource_attribute("deployment.environment", "test")
            .init()
            .expect("init");
        let trace_id = {
            let root = get_tracing()
                .span_builder("checkout")
                .kind(SpanKind::Server)
                .attributes([
                    KeyValue::new("order.items", 3),
                    KeyValue::new("order.total", 99.5),
                    KeyValue::new("order.express", true),
                    KeyValue::new("order.id", "A-17"),
                    KeyValue::new("order.tags", vec!["gift", "express"]),
                ])
                .entered();
            let _child = get_tracing()
                .span_builder("charge-card")
                .kind(SpanKind::Client)
                .entered();
            maximus_trace::add_event("retry", [("attempt", 2)]);
            maximus_trace::record_error(&CardDeclined);
            let _grandchild = span!("validate-card", card.brand = "visa");
            root.trace_id().expect("a sampled root")
        };
        guard.force_flush().expect("flush");
        let spans = receiver.wait_for_spans(3, ARRIVAL);
        let requests = receiver.requests();
        drop(guard);
        Sample {
            trace_id,
            requests,
            spans,
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn value<'a>(attributes: &'a [ProtoKeyValue], key: &str) -> Option<&'a Any> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn string(s: &str) -> Any {
    Any::StringValue(s.to_owned())
}

fn exception_event(span: &Span) -> &Event {
    span.events
        .iter()
        .find(|e| e.name == "exception")
        .expect("an exception event")
}

// ---------------------------------------------------------------------------------------------
// The sample trace
// ---------------------------------------------------------------------------------------------

#[test]
fn every_span_carries_the_trace_id_the_application_saw() {
    let sample = sample();
    assert_eq!(sample.spans.len(), 3);
    for span in &sample.spans {
        assert_eq!(hex(&span.trace_id), sample.trace_id, "{}", span.name);
    }
}

#[test]
fn parent_span_ids_chain_root_child_grandchild() {
    let sample = sample();
    let (root, child, grandchild) = (
        sample.span("checkout"),
        sample.span("charge-card"),
        sample.span("validate-card"),
    );
    assert!(root.parent_span_id.is_empty());
    assert_eq!(child.parent_span_id, root.span_id);
    assert_eq!(grandchild.parent_span_id, child.span_id);
}

#[test]
fn attributes_arrive_with_their_protobuf_value_types() {
    let attributes = &sample().span("checkout").attributes;
    assert_eq!(value(attributes, "order.items"), Some(&Any::IntValue(3)));
    assert_eq!(value(attributes, "order.total"), Some(&Any::DoubleValue(99.5)));
    assert_eq!(value(attributes, "order.express"), Some(&Any::BoolValue(true)));
    assert_eq!(value(attributes, "order.id"), Some(&string("A-17")));
    let Some(Any::ArrayValue(array)) = value(attributes, "order.tags") else {
        panic!("order.tags is not an array_value");
    };
    let elements: Vec<_> = array.values.iter().map(|v| v.value.clone()).collect();
    assert_eq!(elements, [Some(string("gift")), Some(string("express"))]);
}

#[test]
fn span_macro_attributes_arrive_as_string_values() {
    let attributes = &sample().span("validate-card").attributes;
    assert_eq!(value(attributes, "card.brand"), Some(&string("visa")));
}

#[test]
fn events_arrive_with_their_attributes() {
    let child = sample().span("charge-card");
    let retry = child
        .events
        .iter()
        .find(|e| e.name == "retry")
        .expect("a retry event");
    assert_eq!(value(&retry.attributes, "attempt"), Some(&Any::IntValue(2)));
}

#[test]
fn record_error_sets_status_error_with_the_message() {
    let status = sample().span("charge-card").status.clone();
    assert_eq!(
        status,
        Some(Status {
            message: "card declined".to_owned(),
            code: StatusCode::Error as i32,
        })
    );
}

#[test]
fn record_error_adds_an_exception_event_with_type_and_message() {
    let event = exception_event(sample().span("charge-card"));
    let Some(Any::StringValue(ty)) = value(&event.attributes, "exception.type") else {
        panic!("exception.type is not a string");
    };
    assert!(ty.ends_with("CardDeclined"), "{ty}");
    assert_eq!(
        value(&event.attributes, "exception.message"),
        Some(&string("card declined"))
    );
}

#[test]
fn spans_without_an_error_have_no_error_status() {
    let root = sample().span("checkout");
    let code = root.status.as_ref().map_or(0, |s| s.code);
    assert_ne!(code, StatusCode::Error as i32);
}

#[test]
fn span_kind_arrives_as_the_protobuf_enum() {
    let sample = sample();
    let kind = |name| sample.span(name).kind;
    assert_eq!(kind("checkout"), ProtoKind::Server as i32);
    assert_eq!(kind("charge-card"), ProtoKind::Client as i32);
    assert_eq!(kind("validate-card"), ProtoKind::Internal as i32);
}

#[test]
fn resource_names_the_service() {
    let attributes = &sample().resource().attributes;
    assert_eq!(value(attributes, "service.name"), Some(&string("checkout")));
}

#[test]
fn resource_carries_builder_resource_attributes() {
    let attributes = &sample().resource().attributes;
    assert_eq!(value(attributes, "deployment.environment"), Some(&string("test")));
}

#[test]
fn resource_names_maximus_trace_as_the_telemetry_sdk() {
    let attributes = &sample().resource().attributes;
    assert_eq!(
        value(attributes, "telemetry.sdk.name"),
        Some(&string("maximus-trace"))
    );
    assert_eq!(value(attributes, "telemetry.sdk.language"), Some(&string("rust")));
}

#[test]
fn export_is_a_protobuf_post_to_the_endpoint_path() {
    let request = &sample().requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/traces");
    assert_eq!(request.header("content-type"), Some("application/x-protobuf"));
}

// ---------------------------------------------------------------------------------------------
// The pipeline's behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn otlp_header_arrives_on_the_export_request() {
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::start();
    let guard = otlp(receiver.endpoint())
        .otlp_header("x-api-key", "s3cret")
        .init()
        .expect("init");
    {
        let _s = span!("authorised");
    }
    guard.force_flush().expect("flush");
    receiver.wait_for_spans(1, ARRIVAL);
    drop(guard);
    let requests = receiver.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.header("x-api-key"), Some("s3cret"));
    }
}

#[test]
fn dropping_the_guard_flushes_every_ended_span() {
    const N: usize = 500;
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::start();
    // Nothing is sent on schedule within the test: only the shutdown can deliver the spans.
    let guard = otlp(receiver.endpoint())
        .batch_delay(Duration::from_secs(600))
        .init()
        .expect("init");
    for i in 0..N {
        let _s = span!("bulk", i = i);
    }
    drop(guard);
    let spans = receiver.wait_for_spans(N, ARRIVAL);
    assert_eq!(spans.len(), N);
}

#[test]
fn export_to_a_closed_port_never_panics_and_counts_errors() {
    let _lock = support::exclusive();
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let guard = otlp(format!("http://127.0.0.1:{port}/v1/traces"))
        .shutdown_timeout(Duration::from_secs(2))
        .init()
        .expect("init");
    for i in 0..1_000 {
        let _s = span!("unsendable", i = i);
    }
    // The flush may report the failure; it must not panic or hang.
    let _ = guard.force_flush();
    let stats = guard.stats();
    drop(guard);
    assert!(stats.export_errors > 0, "{stats:?}");
}

#[test]
fn dropping_the_guard_returns_within_its_bound_when_the_collector_never_answers() {
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::silent();
    let guard = otlp(receiver.endpoint())
        .batch_delay(Duration::from_millis(10))
        .shutdown_timeout(Duration::from_millis(500))
        .init()
        .expect("init");
    {
        let _s = span!("stuck");
    }
    // The scheduled export is now waiting on a collector that never answers.
    assert_eq!(receiver.wait_for_connections(1, ARRIVAL), 1);
    let started = Instant::now();
    drop(guard);
    let took = started.elapsed();
    // A bound, not a benchmark: 500 ms plus generous slack for a loaded machine.
    assert!(took < Duration::from_secs(5), "dropping the guard took {took:?}");
}

#[test]
fn array_values_keep_their_element_type() {
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::start();
    let guard = otlp(receiver.endpoint()).init().expect("init");
    {
        let _s = span!("arrays", ints = vec![1_i64, 2], flags = vec![true, false]);
    }
    guard.force_flush().expect("flush");
    let spans = receiver.wait_for_spans(1, ARRIVAL);
    drop(guard);
    let elements = |key| match value(&spans[0].attributes, key) {
        Some(Any::ArrayValue(a)) => a.values.iter().map(|v| v.value.clone()).collect::<Vec<_>>(),
        other => panic!("{key} is not an array_value: {other:?}"),
    };
    assert_eq!(elements("ints"), [Some(Any::IntValue(1)), Some(Any::IntValue(2))]);
    assert_eq!(
        elements("flags"),
        [Some(Any::BoolValue(true)), Some(Any::BoolValue(false))]
    );
}
