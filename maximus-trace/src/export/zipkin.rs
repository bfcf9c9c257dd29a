//! Zipkin v2 JSON over HTTP (behind the `zipkin` feature), mapped as the OpenTelemetry
//! specification's Zipkin exporter section says.
//!
//! Written here rather than taken from `opentelemetry-zipkin`: that crate is deprecated
//! upstream, and its 0.33 release sends no `localEndpoint.serviceName` at all, so a real
//! Jaeger files every span under `missing-service-name` (found by the real-Jaeger suite).
//! The format is small and stable: one JSON array of spans per POST.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde::Serialize;

use crate::config::Settings;

/// Posts batches to a Zipkin v2 collector (`POST {endpoint}` with a JSON array of spans).
#[derive(Debug)]
pub(crate) struct ZipkinExporter {
    endpoint: String,
    timeout: Duration,
    service: String,
    /// Created on the export thread at the first batch: a blocking client must not be
    /// created (or dropped) inside an async runtime, where `init()` is often called.
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
}

impl ZipkinExporter {
    pub(crate) fn new(settings: &Settings) -> Self {
        ZipkinExporter {
            endpoint: settings.zipkin_endpoint.clone(),
            timeout: settings.batch.export_timeout,
            service: settings.service_name.clone(),
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, OTelSdkError> {
        let client = self.client.get_or_init(|| {
            reqwest::blocking::Client::builder()
                .timeout(self.timeout)
                .build()
                .map_err(|e| e.to_string())
        });
        client
            .as_ref()
            .map_err(|e| OTelSdkError::InternalFailure(format!("no HTTP client: {e}")))
    }
}

impl SpanExporter for ZipkinExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans: Vec<ZipkinSpan<'_>> = batch.iter().map(|s| span(s, &self.service)).collect();
        let body = serde_json::to_vec(&spans)
            .map_err(|e| OTelSdkError::InternalFailure(format!("encoding failed: {e}")))?;
        let response = self
            .client()?
            .post(&self.endpoint)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .map_err(|e| OTelSdkError::InternalFailure(crate::export::describe_transport_error(e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(format!(
                "the collector answered HTTP {status}"
            )))
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(name) = resource.get(&opentelemetry::Key::from_static_str("service.name")) {
            self.service = name.to_string();
        }
    }
}

/// One span of the Zipkin v2 API (`zipkin2.Span`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ZipkinSpan<'a> {
    trace_id: String,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<String>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    /// Microseconds since the epoch.
    timestamp: u64,
    /// Microseconds; at least 1, as Zipkin requires of a duration it is given.
    duration: u64,
    local_endpoint: Endpoint<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_endpoint: Option<Endpoint<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<Annotation>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    tags: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Endpoint<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    service_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4: Option<std::net::Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6: Option<std::net::Ipv6Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
}

/// The attributes naming a client's peer, best first (the OpenTelemetry specification's
/// Zipkin mapping; `net.peer.name` is the older name of `server.address`).
const PEER_NAME_KEYS: [&str; 3] = ["peer.service", "server.address", "net.peer.name"];

/// The peer of a CLIENT or PRODUCER span (Zipkin's dependency view is drawn from it), from
/// its attributes; `peer.service` alone for other kinds. `None` when nothing names it.
fn remote_endpoint<'a>(data: &'a SpanData) -> Option<Endpoint<'a>> {
    let text = |key: &str| {
        data.attributes.iter().find_map(|kv| match &kv.value {
            Value::String(s) if kv.key.as_str() == key => Some(s.as_str()),
            _ => None,
        })
    };
    let outgoing = matches!(data.span_kind, SpanKind::Client | SpanKind::Producer);
    if !outgoing {
        return text("peer.service").map(|name| Endpoint {
            service_name: Some(name),
            ..Endpoint::default()
        });
    }
    let port = data
        .attributes
        .iter()
        .find_map(|kv| match (&kv.value, kv.key.as_str()) {
            (Value::I64(port), "network.peer.port" | "server.port" | "net.peer.port") => {
                u16::try_from(*port).ok()
            }
            _ => None,
        });
    let address = text("network.peer.address").and_then(|a| a.parse::<std::net::IpAddr>().ok());
    let endpoint = Endpoint {
        service_name: PEER_NAME_KEYS.iter().find_map(|key| text(key)),
        ipv4: match address {
            Some(std::net::IpAddr::V4(ip)) => Some(ip),
            _ => None,
        },
        ipv6: match address {
            Some(std::net::IpAddr::V6(ip)) => Some(ip),
            _ => None,
        },
        port,
    };
    let named = endpoint.service_name.is_some() || address.is_some();
    named.then_some(endpoint)
}

#[derive(Serialize)]
struct Annotation {
    timestamp: u64,
    value: String,
}

fn span<'a>(data: &'a SpanData, service: &'a str) -> ZipkinSpan<'a> {
    let parent = data.parent_span_id;
    let mut tags = serde_json::Map::new();
    for kv in &data.attributes {
        // Zipkin marks a span failed by the presence of an `error` tag: an attribute of that
        // name (`error = false`, say) would mark a span that did not fail. The status decides.
        if kv.key.as_str() == "error" {
            continue;
        }
        tags.insert(kv.key.to_string(), tag_value(&kv.value).into());
    }
    let scope = &data.instrumentation_scope;
    if !scope.name().is_empty() {
        tags.insert("otel.scope.name".into(), scope.name().into());
    }
    if let Some(version) = scope.version() {
        tags.insert("otel.scope.version".into(), version.into());
    }
    match &data.status {
        Status::Unset => {}
        Status::Ok => {
            tags.insert("otel.status_code".into(), "OK".into());
        }
        // Zipkin marks a failed span with an `error` tag holding the description.
        Status::Error { description } => {
            tags.insert("otel.status_code".into(), "ERROR".into());
            tags.insert("error".into(), description.to_string().into());
        }
    }
    for (key, count) in [
        ("otel.dropped_attributes_count", data.dropped_attributes_count),
        ("otel.dropped_events_count", data.events.dropped_count),
        ("otel.dropped_links_count", data.links.dropped_count),
    ] {
        if count > 0 {
            tags.insert(key.into(), count.to_string().into());
        }
    }
    let start = micros(data.start_time);
    ZipkinSpan {
        trace_id: data.span_context.trace_id().to_string(),
        id: data.span_context.span_id().to_string(),
        parent_id: (parent != opentelemetry::trace::SpanId::INVALID).then(|| parent.to_string()),
        name: &data.name,
        kind: kind(&data.span_kind),
        timestamp: start,
        duration: micros(data.end_time).saturating_sub(start).max(1),
        local_endpoint: Endpoint {
            service_name: Some(service),
            ..Endpoint::default()
        },
        remote_endpoint: remote_endpoint(data),
        annotations: data.events.iter().map(annotation).collect(),
        tags,
    }
}

/// Zipkin has no internal kind: a span without one is a local span.
fn kind(kind: &SpanKind) -> Option<&'static str> {
    match kind {
        SpanKind::Client => Some("CLIENT"),
        SpanKind::Server => Some("SERVER"),
        SpanKind::Producer => Some("PRODUCER"),
        SpanKind::Consumer => Some("CONSUMER"),
        SpanKind::Internal => None,
    }
}

/// An event: its name, or `"name": {attributes as JSON}` when it has attributes (the
/// specification's form; Zipkin annotations hold only text).
fn annotation(event: &opentelemetry::trace::Event) -> Annotation {
    let value = if event.attributes.is_empty() {
        event.name.to_string()
    } else {
        let attributes: serde_json::Map<String, serde_json::Value> = event
            .attributes
            .iter()
            .map(|kv| (kv.key.to_string(), json_value(&kv.value)))
            .collect();
        format!(
            "{}: {}",
            serde_json::Value::String(event.name.to_string()),
            serde_json::Value::Object(attributes)
        )
    };
    Annotation {
        timestamp: micros(event.timestamp),
        value,
    }
}

/// Tag values are strings; arrays are written as JSON arrays.
fn tag_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string(),
        Value::Array(_) => json_value(value).to_string(),
        other => other.to_string(),
    }
}

fn json_value(value: &Value) -> serde_json::Value {
    match value {
        Value::Bool(b) => (*b).into(),
        Value::I64(i) => (*i).into(),
        Value::F64(f) => serde_json::Number::from_f64(*f).map_or_else(|| f.to_string().into(), Into::into),
        Value::String(s) => s.as_str().into(),
        Value::Array(Array::Bool(v)) => v.iter().map(|b| serde_json::Value::from(*b)).collect(),
        Value::Array(Array::I64(v)) => v.iter().map(|i| serde_json::Value::from(*i)).collect(),
        Value::Array(Array::F64(v)) => v.iter().map(|f| json_value(&Value::F64(*f))).collect(),
        Value::Array(Array::String(v)) => v.iter().map(|s| serde_json::Value::from(s.as_str())).collect(),
        other => other.to_string().into(),
    }
}

fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros() as u64
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::Duration;

    use opentelemetry::trace::{Event, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    fn data(kind: SpanKind, status: Status) -> SpanData {
        let start = UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000);
        let mut events = SpanEvents::default();
        events.events.push(Event::new(
            "exception",
            start + Duration::from_micros(10),
            vec![KeyValue::new("exception.type", "PaymentDeclined")],
            0,
        ));
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(0x0af7651916cd43dd8448eb211c80319c),
                SpanId::from(0xb7ad6b7169203331),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(0x00f067aa0ba902b7),
            parent_span_is_remote: false,
            span_kind: kind,
            name: Cow::Borrowed("charge"),
            start_time: start,
            end_time: start + Duration::from_micros(1500),
            attributes: vec![
                KeyValue::new("http.status_code", 502),
                KeyValue::new("peer.service", "payments"),
            ],
            dropped_attributes_count: 0,
            events,
            links: SpanLinks::default(),
            status,
            instrumentation_scope: InstrumentationScope::builder("maximus-trace")
                .with_version("0.1.0")
                .build(),
        }
    }

    fn json(data: &SpanData) -> serde_json::Value {
        serde_json::to_value(span(data, "checkout")).unwrap()
    }

    #[test]
    fn a_span_carries_its_service_ids_times_and_kind() {
        let span = json(&data(SpanKind::Client, Status::Unset));
        assert_eq!(span["localEndpoint"]["serviceName"], "checkout");
        assert_eq!(span["remoteEndpoint"]["serviceName"], "payments");
        assert_eq!(span["traceId"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(span["id"], "b7ad6b7169203331");
        assert_eq!(span["parentId"], "00f067aa0ba902b7");
        assert_eq!(span["kind"], "CLIENT");
        assert_eq!(span["timestamp"], 1_700_000_000_000_000u64);
        assert_eq!(span["duration"], 1500);
        assert_eq!(span["tags"]["http.status_code"], "502");
        assert_eq!(span["tags"]["otel.scope.name"], "maximus-trace");
    }

    #[test]
    fn internal_spans_have_no_kind_and_roots_no_parent() {
        let mut root = data(SpanKind::Internal, Status::Unset);
        root.parent_span_id = SpanId::INVALID;
        let span = json(&root);
        assert!(span.get("kind").is_none(), "{span}");
        assert!(span.get("parentId").is_none(), "{span}");
    }

    #[test]
    fn an_error_is_an_error_tag_with_the_description_and_events_are_annotations() {
        let span = json(&data(SpanKind::Server, Status::error("card declined")));
        assert_eq!(span["tags"]["error"], "card declined");
        assert_eq!(span["tags"]["otel.status_code"], "ERROR");
        assert_eq!(
            span["annotations"][0]["value"],
            r#""exception": {"exception.type":"PaymentDeclined"}"#
        );
        assert_eq!(span["annotations"][0]["timestamp"], 1_700_000_000_000_010u64);
    }

    #[test]
    fn a_client_without_peer_service_names_its_peer_by_address_and_port() {
        let mut client = data(SpanKind::Client, Status::Unset);
        client.attributes = vec![
            KeyValue::new("server.address", "payments.internal"),
            KeyValue::new("network.peer.address", "10.0.0.7"),
            KeyValue::new("server.port", 8443),
        ];
        let span = json(&client);
        assert_eq!(span["remoteEndpoint"]["serviceName"], "payments.internal");
        assert_eq!(span["remoteEndpoint"]["ipv4"], "10.0.0.7");
        assert_eq!(span["remoteEndpoint"]["port"], 8443);
    }

    #[test]
    fn a_server_span_takes_its_remote_endpoint_only_from_peer_service() {
        let mut server = data(SpanKind::Server, Status::Unset);
        server.attributes = vec![KeyValue::new("server.address", "checkout.internal")];
        assert!(json(&server).get("remoteEndpoint").is_none());
    }

    #[test]
    fn an_error_attribute_does_not_mark_a_span_that_did_not_fail() {
        let mut ok = data(SpanKind::Server, Status::Unset);
        ok.attributes.push(KeyValue::new("error", false));
        let span = json(&ok);
        assert!(span["tags"].get("error").is_none(), "{span}");
    }
}
