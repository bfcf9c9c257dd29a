//! Records to OTLP protobuf (`ExportTraceServiceRequest`), written straight from our records.
//!
//! Written by hand because the crate route (records to `SpanData`, then `opentelemetry-proto`
//! messages, then `prost`) allocates a string per key and value and a vector per span and
//! caps the export thread at about 0.4 million spans a second; this writes each byte once.
//! Field numbers are those of `opentelemetry/proto/trace/v1/trace.proto` and
//! `common/v1/common.proto`; `tests/otlp_export.rs` decodes the result with
//! `opentelemetry-proto`'s generated types.

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use crate::engine::SpanId;
use crate::engine::clock::WallClock;
use crate::engine::ids::TraceId;
use crate::engine::record::{Attr, AttrValue, EventRecord, LinkRecord, More, Record};
use crate::model::Value;
use crate::model::{SpanKind, Status};

/// `SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK` and `SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;
/// The W3C `sampled` flag: every exported span has it.
const SAMPLED: u32 = 0x01;

/// Encodes batches for one resource and instrumentation scope (encoded once).
pub(crate) struct Encoder {
    /// `resource` (field 1 of `ResourceSpans`), key and length included.
    resource: Vec<u8>,
    /// `scope` (field 1 of `ScopeSpans`), key and length included.
    scope: Vec<u8>,
    span_lens: Vec<usize>,
}

impl Encoder {
    pub(crate) fn new(resource: &opentelemetry_sdk::Resource) -> Self {
        let mut attributes = Vec::new();
        for (key, value) in resource.iter() {
            otel_key_value(key.as_str(), value, &mut attributes);
        }
        let mut resource = Vec::new();
        message(1, &attributes, &mut resource);
        let mut scope_fields = Vec::new();
        string(1, "maximus-trace", &mut scope_fields);
        string(2, env!("CARGO_PKG_VERSION"), &mut scope_fields);
        let mut scope = Vec::new();
        message(1, &scope_fields, &mut scope);
        Encoder {
            resource,
            scope,
            span_lens: Vec::new(),
        }
    }

    /// The request for `records` (ended, sampled ones), times converted against `clock`;
    /// sized exactly, so it becomes the request body as it is.
    pub(crate) fn encode<'a>(
        &mut self,
        records: impl Iterator<Item = &'a Record> + Clone,
        clock: &WallClock,
    ) -> Vec<u8> {
        self.span_lens.clear();
        self.span_lens.extend(records.clone().map(span_len));
        let spans: usize = self.span_lens.iter().map(|&len| field_len(2, len)).sum();
        let scope_spans = self.scope.len() + spans;
        let resource_spans = self.resource.len() + field_len(2, scope_spans);
        let mut body = Vec::with_capacity(field_len(1, resource_spans));
        let buf = &mut body;
        len_key(1, resource_spans, buf);
        buf.extend_from_slice(&self.resource);
        len_key(2, scope_spans, buf);
        buf.extend_from_slice(&self.scope);
        for (record, &len) in records.zip(&self.span_lens) {
            len_key(2, len, buf);
            let at = buf.len();
            write_span(record, clock, buf);
            debug_assert_eq!(buf.len() - at, len, "span length computed and written agree");
        }
        body
    }
}

// ---- spans ----

fn span_len(r: &Record) -> usize {
    let more = r.more.as_deref();
    let mut len = field_len(1, 16) + field_len(2, 8);
    if let Some(state) = more.and_then(trace_state) {
        len += field_len(3, state.len());
    }
    if r.parent_id.is_valid() {
        len += field_len(4, 8);
    }
    len += field_len(5, r.name.as_str().len());
    len += key_len(6) + encoded_len_varint(kind(r.kind));
    len += 2 * (key_len(7) + 8);
    len += r
        .attributes
        .iter()
        .map(|a| field_len(9, attr_len(a)))
        .sum::<usize>();
    if let Some(more) = more {
        len += varint_field_len(10, u64::from(more.dropped_attributes));
        len += more
            .events
            .iter()
            .map(|e| field_len(11, event_len(e)))
            .sum::<usize>();
        len += varint_field_len(12, u64::from(more.dropped_events));
        len += more
            .links
            .iter()
            .map(|l| field_len(13, link_len(l)))
            .sum::<usize>();
        len += varint_field_len(14, u64::from(more.dropped_links));
        if let Some(status) = status_len(&more.status) {
            len += field_len(15, status);
        }
    }
    len + key_len(16) + 4
}

fn write_span(r: &Record, clock: &WallClock, buf: &mut Vec<u8>) {
    let more = r.more.as_deref();
    trace_id(1, r.trace_id, buf);
    span_id(2, r.span_id, buf);
    if let Some(state) = more.and_then(trace_state) {
        string(3, &state, buf);
    }
    if r.parent_id.is_valid() {
        span_id(4, r.parent_id, buf);
    }
    string(5, r.name.as_str(), buf);
    varint(6, kind(r.kind), buf);
    fixed64(7, clock.unix_nanos(r.start), buf);
    fixed64(8, clock.unix_nanos(r.end), buf);
    for a in &r.attributes {
        len_key(9, attr_len(a), buf);
        write_attr(a, buf);
    }
    if let Some(more) = more {
        varint_if(10, u64::from(more.dropped_attributes), buf);
        for e in &more.events {
            len_key(11, event_len(e), buf);
            write_event(e, clock, buf);
        }
        varint_if(12, u64::from(more.dropped_events), buf);
        for l in &more.links {
            len_key(13, link_len(l), buf);
            write_link(l, buf);
        }
        varint_if(14, u64::from(more.dropped_links), buf);
        if let Some(len) = status_len(&more.status) {
            len_key(15, len, buf);
            write_status(&more.status, buf);
        }
    }
    let remote = if r.parent_remote { IS_REMOTE } else { 0 };
    fixed32(16, SAMPLED | HAS_IS_REMOTE | remote, buf);
}

fn trace_state(more: &More) -> Option<String> {
    state_header(more.trace_state.as_ref())
}

/// The `tracestate` header of a span or link, as received (valid by the W3C grammar; the
/// OpenTelemetry type would drop members its stricter rules refuse).
fn state_header(state: Option<&crate::tracestate::TraceState>) -> Option<String> {
    state.map(|s| s.header().to_owned())
}

/// `Span.SpanKind`: internal 1, server 2, client 3, producer 4, consumer 5.
fn kind(kind: SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn status_len(status: &Status) -> Option<usize> {
    match status {
        Status::Unset => None,
        Status::Ok => Some(key_len(3) + 1),
        Status::Error { description } => Some(string_len_if(2, description.len()) + key_len(3) + 1),
    }
}

/// `Status`: message (2), code (3; ok 1, error 2).
fn write_status(status: &Status, buf: &mut Vec<u8>) {
    match status {
        Status::Unset => {}
        Status::Ok => varint(3, 1, buf),
        Status::Error { description } => {
            if !description.is_empty() {
                string(2, description, buf);
            }
            varint(3, 2, buf);
        }
    }
}

/// `Span.Event`: time (1), name (2), attributes (3), dropped attributes (4).
fn event_len(e: &EventRecord) -> usize {
    key_len(1)
        + 8
        + string_len_if(2, e.name.len())
        + e.all_attributes()
            .map(|a| field_len(3, attr_len(a)))
            .sum::<usize>()
        + varint_field_len(4, u64::from(e.dropped_attributes))
}

fn write_event(e: &EventRecord, clock: &WallClock, buf: &mut Vec<u8>) {
    fixed64(1, clock.unix_nanos(e.time), buf);
    if !e.name.is_empty() {
        string(2, &e.name, buf);
    }
    for a in e.all_attributes() {
        len_key(3, attr_len(a), buf);
        write_attr(a, buf);
    }
    varint_if(4, u64::from(e.dropped_attributes), buf);
}

/// `Span.Link`: trace id (1), span id (2), trace state (3), flags (6).
fn link_len(l: &LinkRecord) -> usize {
    let state = state_header(l.trace_state.as_ref()).map_or(0, |s| field_len(3, s.len()));
    field_len(1, 16) + field_len(2, 8) + state + key_len(6) + 4
}

fn write_link(l: &LinkRecord, buf: &mut Vec<u8>) {
    trace_id(1, l.ids.trace_id, buf);
    span_id(2, l.ids.span_id, buf);
    if let Some(state) = state_header(l.trace_state.as_ref()) {
        string(3, &state, buf);
    }
    let sampled = if l.ids.sampled { SAMPLED } else { 0 };
    let remote = if l.ids.remote { IS_REMOTE } else { 0 };
    fixed32(6, sampled | HAS_IS_REMOTE | remote, buf);
}

// ---- attributes: `KeyValue { key = 1; value = 2 (AnyValue) }` ----

fn attr_len(a: &Attr) -> usize {
    field_len(1, a.key.as_str().len()) + field_len(2, any_len(&a.value))
}

fn write_attr(a: &Attr, buf: &mut Vec<u8>) {
    string(1, a.key.as_str(), buf);
    len_key(2, any_len(&a.value), buf);
    write_any(&a.value, buf);
}

/// `AnyValue`: string 1, bool 2, int 3, double 4, array 5.
fn any_len(v: &AttrValue) -> usize {
    match v {
        AttrValue::Str(s) => field_len(1, s.as_str().len()),
        AttrValue::Bool(_) => key_len(2) + 1,
        AttrValue::I64(i) => key_len(3) + encoded_len_varint(*i as u64),
        AttrValue::F64(_) => key_len(4) + 8,
        AttrValue::Array(array) => field_len(5, array_len(array)),
    }
}

fn write_any(v: &AttrValue, buf: &mut Vec<u8>) {
    match v {
        AttrValue::Str(s) => string(1, s.as_str(), buf),
        AttrValue::Bool(b) => varint(2, u64::from(*b), buf),
        AttrValue::I64(i) => varint(3, *i as u64, buf),
        AttrValue::F64(f) => fixed64(4, f.to_bits(), buf),
        AttrValue::Array(array) => {
            len_key(5, array_len(array), buf);
            write_array(array, buf);
        }
    }
}

/// `ArrayValue { repeated AnyValue values = 1 }`.
fn array_len(v: &Value) -> usize {
    let scalar = |len: usize| field_len(1, len);
    match v {
        Value::BoolArray(items) => items.iter().map(|_| scalar(key_len(2) + 1)).sum(),
        Value::I64Array(items) => items
            .iter()
            .map(|i| scalar(key_len(3) + encoded_len_varint(*i as u64)))
            .sum(),
        Value::F64Array(items) => items.iter().map(|_| scalar(key_len(4) + 8)).sum(),
        Value::StringArray(items) => items.iter().map(|s| scalar(field_len(1, s.len()))).sum(),
        // Scalars never reach an array attribute; an empty array is what they would read as.
        _ => 0,
    }
}

fn write_array(v: &Value, buf: &mut Vec<u8>) {
    match v {
        Value::BoolArray(items) => {
            for b in items {
                len_key(1, key_len(2) + 1, buf);
                varint(2, u64::from(*b), buf);
            }
        }
        Value::I64Array(items) => {
            for i in items {
                len_key(1, key_len(3) + encoded_len_varint(*i as u64), buf);
                varint(3, *i as u64, buf);
            }
        }
        Value::F64Array(items) => {
            for f in items {
                len_key(1, key_len(4) + 8, buf);
                fixed64(4, f.to_bits(), buf);
            }
        }
        Value::StringArray(items) => {
            for s in items {
                len_key(1, field_len(1, s.len()), buf);
                string(1, s, buf);
            }
        }
        _ => {}
    }
}

/// A resource attribute (OpenTelemetry's value types), appended as field 1 of `Resource`.
fn otel_key_value(key: &str, value: &opentelemetry::Value, buf: &mut Vec<u8>) {
    let mut any = Vec::new();
    match value {
        opentelemetry::Value::Bool(b) => varint(2, u64::from(*b), &mut any),
        opentelemetry::Value::I64(i) => varint(3, *i as u64, &mut any),
        opentelemetry::Value::F64(f) => fixed64(4, f.to_bits(), &mut any),
        // An array stays an array (`AnyValue.array_value`), not its text.
        opentelemetry::Value::Array(_) => {
            let array = Value::from_otel(value.clone());
            len_key(5, array_len(&array), &mut any);
            write_array(&array, &mut any);
        }
        other => string(1, other.as_str().as_ref(), &mut any),
    }
    let mut kv = Vec::new();
    string(1, key, &mut kv);
    message(2, &any, &mut kv);
    message(1, &kv, buf);
}

// ---- wire primitives ----

fn field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// A string field that is left out when empty (proto3's default).
fn string_len_if(tag: u32, len: usize) -> usize {
    if len == 0 { 0 } else { field_len(tag, len) }
}

fn varint_field_len(tag: u32, value: u64) -> usize {
    if value == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(value)
    }
}

fn len_key(tag: u32, len: usize, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

fn message(tag: u32, content: &[u8], buf: &mut Vec<u8>) {
    len_key(tag, content.len(), buf);
    buf.extend_from_slice(content);
}

fn string(tag: u32, s: &str, buf: &mut Vec<u8>) {
    len_key(tag, s.len(), buf);
    buf.extend_from_slice(s.as_bytes());
}

fn trace_id(tag: u32, id: TraceId, buf: &mut Vec<u8>) {
    len_key(tag, 16, buf);
    buf.extend_from_slice(&id.to_u128().to_be_bytes());
}

fn span_id(tag: u32, id: SpanId, buf: &mut Vec<u8>) {
    len_key(tag, 8, buf);
    buf.extend_from_slice(&id.0.to_be_bytes());
}

fn varint(tag: u32, value: u64, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::Varint, buf);
    encode_varint(value, buf);
}

fn varint_if(tag: u32, value: u64, buf: &mut Vec<u8>) {
    if value != 0 {
        varint(tag, value, buf);
    }
}

fn fixed64(tag: u32, value: u64, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::SixtyFourBit, buf);
    buf.extend_from_slice(&value.to_le_bytes());
}

fn fixed32(tag: u32, value: u32, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::ThirtyTwoBit, buf);
    buf.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::clock::Ticks;
    use crate::engine::ids::SpanIds;
    use crate::engine::record::{Start, State};
    use crate::model::KeyValue;
    use crate::model::SmallStr;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use prost::Message;

    fn record(attributes: Vec<KeyValue>, more: Option<Box<More>>, parent: Option<SpanIds>) -> Record {
        let limits = crate::engine::limits::Limits::default();
        let (attributes, _) = crate::engine::record::convert_attributes(attributes, &limits, 128);
        let mut r = Record::start(
            Start {
                ids: SpanIds {
                    trace_id: TraceId::from_u128(0x0af7651916cd43dd8448eb211c80319c),
                    span_id: SpanId(0xb7ad6b7169203331),
                    sampled: true,
                    remote: false,
                },
                parent,
                name: SmallStr::from_static("checkout"),
                kind: SpanKind::Client,
                attributes,
                more,
            },
            Ticks(crate::engine::clock::now().0),
        );
        r.finish(crate::engine::clock::now());
        assert_eq!(r.state, State::Done);
        r
    }

    fn decode(records: &[Record]) -> ExportTraceServiceRequest {
        let resource = opentelemetry_sdk::Resource::builder_empty()
            .with_service_name("svc")
            .with_attribute(opentelemetry::KeyValue::new("deployment.environment", "test"))
            .with_attribute(opentelemetry::KeyValue::new(
                "process.command_args",
                opentelemetry::Value::Array(opentelemetry::Array::String(vec![
                    "app".into(),
                    "--fast".into(),
                ])),
            ))
            .with_attribute(opentelemetry::KeyValue::new(
                "host.ports",
                opentelemetry::Value::Array(opentelemetry::Array::I64(vec![80, -1])),
            ))
            .build();
        let mut encoder = Encoder::new(&resource);
        let bytes = encoder.encode(records.iter(), &WallClock::anchor());
        ExportTraceServiceRequest::decode(bytes.as_slice()).expect("valid OTLP protobuf")
    }

    #[test]
    fn a_span_decodes_with_every_field_in_place() {
        let parent = SpanIds {
            trace_id: TraceId::from_u128(0x0af7651916cd43dd8448eb211c80319c),
            span_id: SpanId(0x1122334455667788),
            sampled: true,
            remote: true,
        };
        let attributes = vec![
            KeyValue::new("http.method", "GET"),
            KeyValue::new("retry", 2),
            KeyValue::new("ratio", 0.5),
            KeyValue::new("cached", true),
            KeyValue::new("tags", vec!["a", "b"]),
            KeyValue::new("negative", -3),
        ];
        let mut more = More {
            status: Status::error("boom"),
            dropped_attributes: 2,
            ..More::default()
        };
        more.events
            .push(EventRecord::new("retry".into(), [KeyValue::new("attempt", 1)]));
        let request = decode(&[record(attributes, Some(Box::new(more)), Some(parent))]);
        let resource_spans = &request.resource_spans[0];
        let resource = resource_spans.resource.as_ref().unwrap();
        assert!(resource.attributes.iter().any(|kv| kv.key == "service.name"
            && kv.value.as_ref().unwrap().value == Some(Any::StringValue("svc".into()))));
        let resource_value = |key: &str| {
            resource
                .attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.clone())
                .and_then(|v| v.value)
        };
        let array = |items: Vec<Any>| {
            Some(Any::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: items
                        .into_iter()
                        .map(|value| opentelemetry_proto::tonic::common::v1::AnyValue { value: Some(value) })
                        .collect(),
                },
            ))
        };
        assert_eq!(
            resource_value("process.command_args"),
            array(vec![
                Any::StringValue("app".into()),
                Any::StringValue("--fast".into())
            ])
        );
        assert_eq!(
            resource_value("host.ports"),
            array(vec![Any::IntValue(80), Any::IntValue(-1)])
        );
        let scope_spans = &resource_spans.scope_spans[0];
        assert_eq!(scope_spans.scope.as_ref().unwrap().name, "maximus-trace");
        let span = &scope_spans.spans[0];
        assert_eq!(hex(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(hex(&span.span_id), "b7ad6b7169203331");
        assert_eq!(hex(&span.parent_span_id), "1122334455667788");
        assert_eq!(span.name, "checkout");
        assert_eq!(span.kind, 3);
        assert_eq!(span.flags, SAMPLED | HAS_IS_REMOTE | IS_REMOTE);
        assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
        let value = |key: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.clone())
                .and_then(|v| v.value)
        };
        assert_eq!(value("http.method"), Some(Any::StringValue("GET".into())));
        assert_eq!(value("retry"), Some(Any::IntValue(2)));
        assert_eq!(value("negative"), Some(Any::IntValue(-3)));
        assert_eq!(value("ratio"), Some(Any::DoubleValue(0.5)));
        assert_eq!(value("cached"), Some(Any::BoolValue(true)));
        assert!(matches!(value("tags"), Some(Any::ArrayValue(a)) if a.values.len() == 2));
        assert_eq!(span.dropped_attributes_count, 2);
        assert_eq!(span.events[0].name, "retry");
        let status = span.status.as_ref().unwrap();
        assert_eq!((status.code, status.message.as_str()), (2, "boom"));
    }

    #[test]
    fn a_root_has_no_parent_and_no_status_when_unset() {
        let request = decode(&[record(Vec::new(), None, None), record(Vec::new(), None, None)]);
        let spans = &request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 2);
        assert!(spans[0].parent_span_id.is_empty());
        assert!(spans[0].status.is_none());
        assert_eq!(spans[0].flags, SAMPLED | HAS_IS_REMOTE);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
