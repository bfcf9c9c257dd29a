//! A `MaximusClient` call through the real exporters: Jaeger agent datagrams decoded from a
//! UDP socket, and OTLP protobuf decoded by an HTTP receiver, both on loopback.

#[path = "../maximus-trace/tests/support/fake_agent.rs"]
mod fake_agent;
#[path = "../maximus-trace/tests/support/otlp_receiver.rs"]
mod otlp_receiver;
mod support;

use std::time::Duration;

use maximus_mock::MockMaximus;
use maximus_trace::TracingManager;
use maximus_trace::export::jaeger::TagValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;

const ARRIVAL: Duration = Duration::from_secs(10);

fn call_health(builder: maximus_trace::TracingBuilder) {
    let _lock = support::exclusive();
    let guard = builder
        .service_name("client-export")
        .environment(|_| None)
        .init()
        .unwrap();
    support::runtime().block_on(async {
        let mock = MockMaximus::start().await.unwrap();
        let client = support::client_builder(mock.url()).build().unwrap();
        client.health().await.unwrap();
    });
    drop(guard);
}

#[test]
fn jaeger_agent_receives_the_client_and_server_spans_with_typed_tags() {
    let agent = fake_agent::FakeAgent::start();
    call_health(TracingManager::builder().jaeger_agent("127.0.0.1", agent.port));
    let batches = agent.wait_for_spans(3, ARRIVAL);
    let spans: Vec<_> = batches.iter().flat_map(|b| &b.spans).collect();
    let by_name = |name: &str| spans.iter().find(|s| s.operation_name == name).copied().unwrap();
    let (endpoint, request, server) = (by_name("health"), by_name("api_request"), by_name("GET /health"));
    assert_eq!(request.parent_span_id, endpoint.span_id);
    assert_eq!(server.parent_span_id, request.span_id);
    assert_eq!(server.trace_id_low, endpoint.trace_id_low);
    let tag = |key: &str| {
        request
            .tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.clone())
    };
    assert_eq!(tag("http.status_code"), Some(TagValue::Long(200)));
    assert_eq!(tag("http.method"), Some(TagValue::String("GET".into())));
    assert_eq!(tag("span.kind"), Some(TagValue::String("client".into())));
    assert!(matches!(tag("http.response_time_ms"), Some(TagValue::Double(_))));
    assert_eq!(batches[0].process.service_name, "client-export");
}

#[test]
fn otlp_receiver_gets_the_client_and_server_spans_with_typed_attributes() {
    let receiver = otlp_receiver::OtlpReceiver::start();
    call_health(TracingManager::builder().otlp_endpoint(receiver.endpoint()));
    let spans = receiver.wait_for_spans(3, ARRIVAL);
    let by_name = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    let (endpoint, request, server) = (by_name("health"), by_name("api_request"), by_name("GET /health"));
    assert_eq!(request.parent_span_id, endpoint.span_id);
    assert_eq!(server.parent_span_id, request.span_id);
    assert_eq!(server.trace_id, endpoint.trace_id);
    let value = |key: &str| {
        let kv = request.attributes.iter().find(|kv| kv.key == key).unwrap();
        kv.value.as_ref().and_then(|v| v.value.clone())
    };
    assert_eq!(value("http.status_code"), Some(Any::IntValue(200)));
    assert_eq!(value("retry.attempt"), Some(Any::IntValue(1)));
    assert!(matches!(
        value("http.response_time_ms"),
        Some(Any::DoubleValue(_))
    ));
}
