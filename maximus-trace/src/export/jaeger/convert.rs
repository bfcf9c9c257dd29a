//! OpenTelemetry spans and resources in Jaeger's model, the way Jaeger's own clients and the
//! OpenTelemetry Jaeger exporters mapped them.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Array, InstrumentationScope, Key, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::{JaegerSpan, Log, Process, SpanRef, SpanRefType, Tag, TagValue};

const SERVICE_NAME: &str = "service.name";
const DEFAULT_SERVICE_NAME: &str = "unknown_service";
const SAMPLED: i32 = 1;

/// How much `packing` removed from a span to make it fit; becomes tags.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Trimmed {
    pub events: usize,
    pub attributes: usize,
}

impl Trimmed {
    pub fn any(self) -> bool {
        self.events > 0 || self.attributes > 0
    }
}

pub(super) fn default_process() -> Process {
    Process {
        service_name: DEFAULT_SERVICE_NAME.to_owned(),
        tags: Vec::new(),
    }
}

/// `service.name` becomes the process's service name; every other resource attribute a tag.
pub(super) fn process(resource: &Resource) -> Process {
    let service_name = resource
        .get_ref(&Key::from_static_str(SERVICE_NAME))
        .map(|name| name.as_str().into_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
    let mut tags: Vec<Tag> = resource
        .iter()
        .filter(|(key, _)| key.as_str() != SERVICE_NAME)
        .map(|(key, value)| Tag::new(key.as_str(), tag_value(value)))
        .collect();
    // The resource is a hash map: sort so that identical resources encode identically.
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    Process { service_name, tags }
}

pub(super) fn span(data: &SpanData, trimmed: Trimmed) -> JaegerSpan {
    let context = &data.span_context;
    let (trace_id_high, trace_id_low) = trace_id_halves(context.trace_id());
    let duration = data.end_time.duration_since(data.start_time);
    JaegerSpan {
        trace_id_low,
        trace_id_high,
        span_id: span_id(context.span_id()),
        parent_span_id: span_id(data.parent_span_id),
        operation_name: data.name.to_string(),
        references: references(data),
        flags: if context.is_sampled() { SAMPLED } else { 0 },
        start_time: micros_since_epoch(data.start_time),
        // An end before the start (the clock stepped back) becomes 0, not an error.
        duration: micros(duration.unwrap_or_default()),
        tags: tags(data, trimmed),
        logs: data.events.iter().map(log).collect(),
    }
}

/// The 128-bit trace id's big-endian halves, bit-cast to the IDL's signed `i64`s.
fn trace_id_halves(trace_id: TraceId) -> (i64, i64) {
    let bytes = trace_id.to_bytes();
    let (high, low) = bytes.split_at(8);
    (be_i64(high), be_i64(low))
}

fn span_id(span_id: SpanId) -> i64 {
    be_i64(&span_id.to_bytes())
}

fn be_i64(bytes: &[u8]) -> i64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[..8]);
    i64::from_be_bytes(word)
}

/// A remote parent becomes an explicit CHILD_OF reference too, as Jaeger's clients sent it;
/// links become FOLLOWS_FROM (Jaeger references have no attributes, so link attributes go).
fn references(data: &SpanData) -> Vec<SpanRef> {
    let trace_id = data.span_context.trace_id();
    let has_remote_parent = data.parent_span_is_remote && data.parent_span_id != SpanId::INVALID;
    let remote_parent =
        has_remote_parent.then(|| reference(SpanRefType::ChildOf, trace_id, data.parent_span_id));
    let links = data.links.iter().map(|link| follows_from(&link.span_context));
    remote_parent.into_iter().chain(links).collect()
}

fn follows_from(linked: &SpanContext) -> SpanRef {
    reference(SpanRefType::FollowsFrom, linked.trace_id(), linked.span_id())
}

fn reference(ref_type: SpanRefType, trace_id: TraceId, id: SpanId) -> SpanRef {
    let (trace_id_high, trace_id_low) = trace_id_halves(trace_id);
    SpanRef {
        ref_type,
        trace_id_low,
        trace_id_high,
        span_id: span_id(id),
    }
}

/// The span's attributes first, then what Jaeger has no field for.
fn tags(data: &SpanData, trimmed: Trimmed) -> Vec<Tag> {
    let mut tags: Vec<Tag> = data.attributes.iter().map(attribute_tag).collect();
    if let Some(kind) = kind(&data.span_kind) {
        tags.push(string_tag("span.kind", kind));
    }
    status_tags(&data.status, &mut tags);
    scope_tags(&data.instrumentation_scope, &mut tags);
    tags.extend(count_tags(data, trimmed));
    tags
}

/// What was dropped (by the SDK's limits) or trimmed (to fit a datagram), when anything was.
fn count_tags(data: &SpanData, trimmed: Trimmed) -> impl Iterator<Item = Tag> {
    let attributes = u64::from(data.dropped_attributes_count);
    let events = u64::from(data.events.dropped_count);
    let links = u64::from(data.links.dropped_count);
    [
        ("otel.dropped_attributes_count", attributes),
        ("otel.dropped_events_count", events),
        ("otel.dropped_links_count", links),
        ("maximus.trimmed_events", trimmed.events as u64),
        ("maximus.trimmed_attributes", trimmed.attributes as u64),
    ]
    .into_iter()
    .filter_map(|(key, count)| count_tag(key, count))
}

/// Every kind is sent, `internal` too: Jaeger v2 turns a span without `span.kind` into an
/// OpenTelemetry span of kind UNSPECIFIED (no kind in its UI, `SPAN_KIND_UNSPECIFIED` in
/// its span metrics), where the same span sent over OTLP shows `span.kind=internal`.
fn kind(kind: &SpanKind) -> Option<&'static str> {
    match kind {
        SpanKind::Client => Some("client"),
        SpanKind::Server => Some("server"),
        SpanKind::Producer => Some("producer"),
        SpanKind::Consumer => Some("consumer"),
        SpanKind::Internal => Some("internal"),
    }
}

/// `error=true` is what Jaeger's UI marks red; the `otel.status_*` tags keep the OTel status.
fn status_tags(status: &Status, tags: &mut Vec<Tag>) {
    match status {
        Status::Unset => {}
        Status::Ok => tags.push(string_tag("otel.status_code", "OK")),
        Status::Error { description } => {
            tags.push(string_tag("otel.status_code", "ERROR"));
            tags.push(Tag::new("error", TagValue::Bool(true)));
            if !description.is_empty() {
                tags.push(string_tag("otel.status_description", description));
            }
        }
    }
}

fn scope_tags(scope: &InstrumentationScope, tags: &mut Vec<Tag>) {
    if !scope.name().is_empty() {
        tags.push(string_tag("otel.scope.name", scope.name()));
    }
    if let Some(version) = scope.version().filter(|v| !v.is_empty()) {
        tags.push(string_tag("otel.scope.version", version));
    }
}

/// An event becomes a log whose `event` field is the name, then the event's attributes.
fn log(event: &Event) -> Log {
    let mut fields = Vec::with_capacity(event.attributes.len() + 1);
    fields.push(string_tag("event", &event.name));
    fields.extend(event.attributes.iter().map(attribute_tag));
    let dropped = u64::from(event.dropped_attributes_count);
    fields.extend(count_tag("otel.dropped_attributes_count", dropped));
    Log {
        timestamp: micros_since_epoch(event.timestamp),
        fields,
    }
}

fn attribute_tag(attribute: &KeyValue) -> Tag {
    Tag::new(attribute.key.as_str(), tag_value(&attribute.value))
}

fn string_tag(key: &str, value: &str) -> Tag {
    Tag::new(key, TagValue::String(value.to_owned()))
}

/// Counts are tagged only when non-zero, to keep ordinary spans small.
fn count_tag(key: &str, count: u64) -> Option<Tag> {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    (count > 0).then(|| Tag::new(key, TagValue::Long(count)))
}

fn tag_value(value: &Value) -> TagValue {
    match value {
        Value::Bool(b) => TagValue::Bool(*b),
        Value::I64(i) => TagValue::Long(*i),
        Value::F64(f) => double(*f),
        Value::String(s) => TagValue::String(s.as_str().to_owned()),
        Value::Array(array) => TagValue::String(render_array(array)),
        other => TagValue::String(other.as_str().into_owned()),
    }
}

/// Jaeger serves traces as JSON, which has no NaN or infinity (Go's encoder refuses them),
/// so one such tag could make a whole trace fail to load: non-finite doubles travel as text.
fn double(value: f64) -> TagValue {
    if value.is_finite() {
        TagValue::Double(value)
    } else {
        TagValue::String(value.to_string())
    }
}

/// Jaeger tags hold no arrays: render them as JSON so the UI shows something parseable.
fn render_array(array: &Array) -> String {
    // Writing to a `String` cannot fail, hence the ignored `fmt::Result`s.
    match array {
        Array::Bool(items) => json_list(items, |out, b| {
            let _ = write!(out, "{b}");
        }),
        Array::I64(items) => json_list(items, |out, i| {
            let _ = write!(out, "{i}");
        }),
        Array::F64(items) => json_list(items, |out, f| push_json_number(out, *f)),
        Array::String(items) => json_list(items, |out, s| push_json_string(out, s.as_str())),
        other => other.to_string(),
    }
}

fn json_list<T>(items: &[T], mut push_item: impl FnMut(&mut String, &T)) -> String {
    let mut out = String::from("[");
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        push_item(&mut out, item);
    }
    out.push(']');
    out
}

fn push_json_number(out: &mut String, value: f64) {
    if value.is_finite() {
        let _ = write!(out, "{value}");
    } else {
        push_json_string(out, &value.to_string());
    }
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Times before the epoch (a badly set clock) become 0 rather than a negative number.
fn micros_since_epoch(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map(micros).unwrap_or(0)
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
