//! The span record: what a sampled span holds from its start until the export thread turns
//! it into OpenTelemetry's `SpanData`.
//!
//! It is compact on purpose (104 bytes, attributes 40 bytes each) because ended spans wait
//! in buffers: names and keys are [`SmallStr`]s, and everything most spans never use (events,
//! links, a status, trace state, drop counts) sits behind one optional box.

use crate::tracestate::TraceState;

use super::clock::Ticks;
use super::ids::{SpanId, SpanIds, TraceId};
use super::limits::{self, Limits};
use crate::model::SmallStr;
use crate::model::{Key, KeyValue, Value};
use crate::model::{SpanKind, Status};

/// Where a record is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Started, not ended.
    Open,
    /// Ended: ready for export.
    Done,
    /// Its content moved elsewhere (a guard turned into an owned span); skip it.
    Moved,
}

/// An attribute as a record keeps it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Attr {
    pub key: Key,
    pub value: AttrValue,
}

/// An attribute value in three words (the public [`Value`] takes four): arrays, which are
/// rare, are boxed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AttrValue {
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(SmallStr),
    Array(Box<Value>),
}

impl Attr {
    /// Converts a public attribute, cutting strings to the value length limit.
    pub(crate) fn from_key_value(kv: KeyValue, limits: &Limits) -> Self {
        let value = match kv.value.truncated(limits.value_length) {
            Value::Bool(v) => AttrValue::Bool(v),
            Value::I64(v) => AttrValue::I64(v),
            Value::F64(v) => AttrValue::F64(v),
            Value::String(s) => AttrValue::Str(SmallStr::from_cow(s)),
            array => AttrValue::Array(Box::new(array)),
        };
        Attr { key: kv.key, value }
    }

    pub(crate) fn into_otel(self) -> opentelemetry::KeyValue {
        let key = self.key.into_otel();
        let value = match self.value {
            AttrValue::Bool(v) => opentelemetry::Value::Bool(v),
            AttrValue::I64(v) => opentelemetry::Value::I64(v),
            AttrValue::F64(v) => opentelemetry::Value::F64(v),
            AttrValue::Str(s) => opentelemetry::Value::String(opentelemetry::StringValue::from(s.into_cow())),
            AttrValue::Array(v) => v.into_otel(),
        };
        opentelemetry::KeyValue::new(key, value)
    }
}

/// Converts attributes under the limits: the first `attribute_count` are kept, the rest are
/// counted as dropped. A later value for a key already present replaces the earlier one.
pub(crate) fn convert_attributes<I>(attributes: I, limits: &Limits, max: usize) -> (Vec<Attr>, u32)
where
    I: IntoIterator<Item = KeyValue>,
{
    let iter = attributes.into_iter();
    let mut out: Vec<Attr> = Vec::with_capacity(iter.size_hint().0.min(max));
    let mut dropped = 0;
    for kv in iter {
        put(&mut out, Attr::from_key_value(kv, limits), max, &mut dropped);
    }
    (out, dropped)
}

/// Sets `attr` in `attributes`: replaces the value of the same key, else appends within `max`.
fn put(attributes: &mut Vec<Attr>, attr: Attr, max: usize, dropped: &mut u32) {
    if let Some(existing) = attributes.iter_mut().find(|a| a.key.same(&attr.key)) {
        existing.value = attr.value;
    } else if attributes.len() < max {
        attributes.push(attr);
    } else {
        *dropped = dropped.saturating_add(1);
    }
}

/// A timestamped event on a span.
#[derive(Clone, Debug)]
pub(crate) struct EventRecord {
    pub name: std::borrow::Cow<'static, str>,
    pub time: Ticks,
    pub attributes: Vec<Attr>,
    pub dropped_attributes: u32,
    /// An `exception` event's error, rendered into attributes (before `attributes`) on the
    /// export thread.
    pub exception: Option<Box<crate::engine::exception::Exception>>,
}

impl EventRecord {
    pub(crate) fn new<A>(name: std::borrow::Cow<'static, str>, attributes: A) -> Self
    where
        A: IntoIterator<Item = KeyValue>,
    {
        let limits = limits::current();
        let (attributes, dropped_attributes) =
            convert_attributes(attributes, &limits, limits.attributes_per_event);
        EventRecord {
            name,
            time: super::clock::now(),
            attributes,
            dropped_attributes,
            exception: None,
        }
    }

    /// The `exception` event of an error.
    pub(crate) fn exception(exception: crate::engine::exception::Exception) -> Self {
        EventRecord {
            name: "exception".into(),
            time: super::clock::now(),
            attributes: Vec::new(),
            dropped_attributes: 0,
            exception: Some(Box::new(exception)),
        }
    }

    /// Its attributes: the exception's first, then the others.
    pub(crate) fn all_attributes(&self) -> impl Iterator<Item = &Attr> {
        let exception = self
            .exception
            .as_deref()
            .map(crate::engine::exception::Exception::attributes);
        exception.into_iter().flatten().chain(&self.attributes)
    }
}

/// A link to another span (FOLLOWS_FROM in Jaeger).
#[derive(Clone, Debug)]
pub(crate) struct LinkRecord {
    pub ids: SpanIds,
    pub trace_state: Option<TraceState>,
}

/// What few spans have, kept out of line.
#[derive(Debug, Default)]
pub(crate) struct More {
    pub events: Vec<EventRecord>,
    pub links: Vec<LinkRecord>,
    pub status: Status,
    pub trace_state: Option<TraceState>,
    pub dropped_attributes: u32,
    pub dropped_events: u32,
    pub dropped_links: u32,
}

/// One sampled span.
#[derive(Debug)]
pub(crate) struct Record {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// `SpanId::INVALID` for a root.
    pub parent_id: SpanId,
    pub start: Ticks,
    pub end: Ticks,
    pub name: SmallStr,
    pub attributes: Vec<Attr>,
    pub more: Option<Box<More>>,
    pub kind: SpanKind,
    pub state: State,
    pub parent_remote: bool,
    /// Exported when ended (false for a custom sampler's "record only").
    pub sampled: bool,
}

impl Record {
    /// The memory this record holds while it waits for export: itself and what it owns on
    /// the heap (owned names, keys and strings, the attribute vector's capacity, events,
    /// links, ...). What the export queue's byte budget counts.
    #[inline]
    pub(crate) fn retained_bytes(&self) -> usize {
        std::mem::size_of::<Record>() + if self.owns_heap() { self.heap_bytes() } else { 0 }
    }

    /// Whether the record owns anything on the heap. Most own nothing (a literal name, no
    /// attributes, no events): one test without branches, before anything is walked (the
    /// hand-over sizes every record on the application's thread).
    #[inline]
    pub(crate) fn owns_heap(&self) -> bool {
        (self.attributes.capacity() != 0) | self.more.is_some() | self.name.is_owned()
    }

    /// Not zero exactly when the record owns heap memory: the words that say so, or-ed. The
    /// hand-over folds it over 64 records (half the instructions of folding [`owns_heap`]'s
    /// three comparisons, which is 2 or 3 of a span's).
    ///
    /// [`owns_heap`]: Record::owns_heap
    #[inline]
    pub(crate) fn heap_word(&self) -> usize {
        let more = self
            .more
            .as_deref()
            .map_or(0, |more| std::ptr::from_ref(more) as usize);
        self.attributes.capacity() | more | self.name.owned_bit()
    }

    /// What the record owns on the heap.
    #[inline(never)]
    fn heap_bytes(&self) -> usize {
        let attributes = if self.attributes.capacity() == 0 {
            0
        } else {
            attributes_bytes(&self.attributes)
        };
        self.name.heap_bytes() + attributes + self.more.as_deref().map_or(0, More::heap_bytes)
    }

    /// Whether this is an ended, sampled span: what gets exported.
    #[inline]
    pub(crate) fn exportable(&self) -> bool {
        self.state == State::Done && self.sampled
    }

    /// What `records` hold together (the sum of their [`Record::retained_bytes`]).
    pub(crate) fn retained_bytes_of<'a>(records: impl IntoIterator<Item = &'a Record>) -> usize {
        records.into_iter().map(Record::retained_bytes).sum()
    }
}

/// The heap behind an attribute vector.
fn attributes_bytes(attributes: &Vec<Attr>) -> usize {
    attributes.capacity() * std::mem::size_of::<Attr>()
        + attributes.iter().map(Attr::heap_bytes).sum::<usize>()
}

impl Attr {
    /// Bytes its key and value own on the heap.
    fn heap_bytes(&self) -> usize {
        self.key.heap_bytes()
            + match &self.value {
                AttrValue::Str(s) => s.heap_bytes(),
                AttrValue::Array(v) => std::mem::size_of::<Value>() + v.heap_bytes(),
                _ => 0,
            }
    }
}

impl More {
    /// Its own size and what it owns.
    fn heap_bytes(&self) -> usize {
        let events: usize = self
            .events
            .iter()
            .map(|e| {
                attributes_bytes(&e.attributes)
                    + e.exception
                        .as_deref()
                        .map_or(0, crate::engine::exception::Exception::heap_bytes)
                    + if let std::borrow::Cow::Owned(name) = &e.name {
                        name.capacity()
                    } else {
                        0
                    }
            })
            .sum();
        std::mem::size_of::<More>()
            + self.events.capacity() * std::mem::size_of::<EventRecord>()
            + events
            + self.links.capacity() * std::mem::size_of::<LinkRecord>()
            + self.trace_state.as_ref().map_or(0, |t| t.header().len())
    }
}

/// The fields that `local::record_current` writes one by one into the buffer's spare slot:
/// adding a field to [`Record`] stops this compiling until it writes that field too.
#[allow(dead_code)]
fn written_in_place(record: Record) {
    let Record {
        trace_id: _,
        span_id: _,
        parent_id: _,
        start: _,
        end: _,
        name: _,
        attributes: _,
        more: _,
        kind: _,
        state: _,
        parent_remote: _,
        sampled: _,
    } = record;
}

/// Everything needed to start a record, gathered before the clock is read.
pub(crate) struct Start {
    pub ids: SpanIds,
    pub parent: Option<SpanIds>,
    pub name: SmallStr,
    pub kind: SpanKind,
    pub attributes: Vec<Attr>,
    pub more: Option<Box<More>>,
}

impl Record {
    pub(crate) fn start(start: Start, at: Ticks) -> Self {
        Record {
            trace_id: start.ids.trace_id,
            span_id: start.ids.span_id,
            parent_id: start.parent.map_or(SpanId::INVALID, |p| p.span_id),
            start: at,
            end: at,
            name: start.name,
            attributes: start.attributes,
            more: start.more,
            kind: start.kind,
            state: State::Open,
            parent_remote: start.parent.is_some_and(|p| p.remote),
            sampled: start.ids.sampled,
        }
    }

    /// What is left in a buffer slot whose record moved out.
    pub(crate) fn moved() -> Self {
        Record {
            trace_id: TraceId::INVALID,
            span_id: SpanId::INVALID,
            parent_id: SpanId::INVALID,
            start: Ticks(0),
            end: Ticks(0),
            name: SmallStr::from_static(""),
            attributes: Vec::new(),
            more: None,
            kind: SpanKind::Internal,
            state: State::Moved,
            parent_remote: false,
            sampled: false,
        }
    }

    fn more(&mut self) -> &mut More {
        self.more.get_or_insert_with(Box::default)
    }

    pub(crate) fn set_attribute(&mut self, kv: KeyValue) {
        let limits = limits::current();
        let attr = Attr::from_key_value(kv, &limits);
        let mut dropped = 0;
        put(&mut self.attributes, attr, limits.attribute_count, &mut dropped);
        if dropped > 0 {
            let more = self.more();
            more.dropped_attributes = more.dropped_attributes.saturating_add(dropped);
        }
    }

    pub(crate) fn add_event(&mut self, event: EventRecord) {
        let max = limits::current().event_count;
        let more = self.more();
        if more.events.len() < max {
            more.events.push(event);
        } else {
            more.dropped_events = more.dropped_events.saturating_add(1);
        }
    }

    /// `Ok` is final; an error replaces an earlier error (the latest cause is the one worth
    /// reading); `Unset` changes nothing.
    pub(crate) fn set_status(&mut self, status: Status) {
        match status {
            Status::Unset => {}
            Status::Ok => self.more().status = Status::Ok,
            error @ Status::Error { .. } => {
                let more = self.more();
                if more.status != Status::Ok {
                    more.status = error;
                }
            }
        }
    }

    /// Ends the record at `at`.
    pub(crate) fn finish(&mut self, at: Ticks) {
        self.end = at;
        self.state = State::Done;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        let ids = SpanIds {
            trace_id: TraceId { hi: 1, lo: 2 },
            span_id: SpanId(3),
            sampled: true,
            remote: false,
        };
        Record::start(
            Start {
                ids,
                parent: None,
                name: SmallStr::from_static("r"),
                kind: SpanKind::Internal,
                attributes: Vec::new(),
                more: None,
            },
            Ticks(1),
        )
    }

    #[test]
    fn record_and_attributes_stay_compact() {
        assert_eq!(std::mem::size_of::<Record>(), 104);
        assert_eq!(std::mem::size_of::<Attr>(), 40);
    }

    #[test]
    fn a_later_value_replaces_the_earlier_one_in_place() {
        let mut r = record();
        r.set_attribute(KeyValue::new("a", 1));
        r.set_attribute(KeyValue::new("b", 2));
        r.set_attribute(KeyValue::new("a", 3));
        let kept: Vec<(&str, &AttrValue)> = r.attributes.iter().map(|a| (a.key.as_str(), &a.value)).collect();
        assert_eq!(kept, [("a", &AttrValue::I64(3)), ("b", &AttrValue::I64(2))]);
    }

    #[test]
    fn ok_status_is_final_and_a_later_error_replaces_an_earlier_one() {
        let mut r = record();
        r.set_status(Status::error("first"));
        r.set_status(Status::error("second"));
        assert_eq!(r.more.as_ref().unwrap().status, Status::error("second"));
        r.set_status(Status::Ok);
        r.set_status(Status::error("after ok"));
        r.set_status(Status::Unset);
        assert_eq!(r.more.as_ref().unwrap().status, Status::Ok);
    }

    #[test]
    fn arrays_and_owned_strings_convert_to_opentelemetry_values() {
        let limits = Limits::default();
        let attr = Attr::from_key_value(KeyValue::new(format!("k{}", 1), vec![1, 2]), &limits);
        let kv = attr.into_otel();
        assert_eq!(kv.key.as_str(), "k1");
        assert_eq!(
            kv.value,
            opentelemetry::Value::Array(opentelemetry::Array::I64(vec![1, 2]))
        );
        let attr = Attr::from_key_value(KeyValue::new("s", "text"), &limits);
        assert_eq!(attr.into_otel().value, opentelemetry::Value::from("text"));
    }
}
