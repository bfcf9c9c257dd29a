//! The Jaeger agent wire format: the `jaeger.thrift` types and the `Agent.emitBatch` oneway call
//! of `agent.thrift` (both from jaeger-idl), in the Thrift compact protocol.
//!
//! Written by hand on the `thrift` crate's protocol primitives: there is no Thrift compiler in our
//! build, and generated code would have to be vendored and kept in sync by hand anyway. The IDL is
//! small and frozen (Jaeger now prefers OTLP), so a hand-written codec stays short. Field ids and
//! types follow jaeger-idl exactly; `Batch` fields 3 (`seqNo`) and 4 (`stats`) are newer than many
//! decoders, so the decoder here reads them and skips any field it does not know.

use std::io;

use thrift::protocol::{
    TCompactInputProtocol, TCompactOutputProtocol, TFieldIdentifier, TInputProtocol, TListIdentifier,
    TMessageIdentifier, TMessageType, TOutputProtocol, TStructIdentifier, TType,
};
use thrift::{ProtocolError, ProtocolErrorKind, TConfiguration};

/// The name of the oneway call that carries a batch to the agent.
const EMIT_BATCH: &str = "emitBatch";

/// `Batch`: the spans of one process, as carried by one `emitBatch` call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    /// Field 1: the process (service) that produced the spans.
    pub process: Process,
    /// Field 2: the spans.
    pub spans: Vec<JaegerSpan>,
    /// Field 3 (optional): a sequence number, incremented per batch, so that the receiver can
    /// detect lost datagrams.
    pub seq_no: Option<i64>,
    /// Field 4 (optional): the client's loss counters.
    pub stats: Option<ClientStats>,
}

/// `Process`: the traced service that emits spans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Process {
    /// Field 1: the service name shown in Jaeger.
    pub service_name: String,
    /// Field 2 (optional): process-wide tags (hostname, version, ...).
    pub tags: Vec<Tag>,
}

/// `ClientStats`: counters of spans a client lost, reported alongside a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientStats {
    /// Field 1: spans dropped because the client's queue was full.
    pub full_queue_dropped_spans: i64,
    /// Field 2: spans dropped because they did not fit in a datagram.
    pub too_large_dropped_spans: i64,
    /// Field 3: spans lost because a send failed.
    pub failed_to_emit_spans: i64,
}

/// `Span`: one named, timed unit of work.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JaegerSpan {
    /// Field 1: the low 64 bits of the 128-bit trace id (bit-cast to `i64`).
    pub trace_id_low: i64,
    /// Field 2: the high 64 bits of the trace id; 0 for 64-bit trace ids.
    pub trace_id_high: i64,
    /// Field 3: the span id (bit-cast to `i64`).
    pub span_id: i64,
    /// Field 4: the parent's span id, 0 for a root span.
    pub parent_span_id: i64,
    /// Field 5: the operation name.
    pub operation_name: String,
    /// Field 6 (optional): causal references to other spans.
    pub references: Vec<SpanRef>,
    /// Field 7: bit field; 1 = sampled, 2 = debug.
    pub flags: i32,
    /// Field 8: start time, microseconds since the Unix epoch.
    pub start_time: i64,
    /// Field 9: duration in microseconds.
    pub duration: i64,
    /// Field 10 (optional): the span's tags.
    pub tags: Vec<Tag>,
    /// Field 11 (optional): timed events.
    pub logs: Vec<Log>,
}

/// `Tag`: a typed key/value pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// Field 1: the key.
    pub key: String,
    /// Field 2 (`vType`) with the one of fields 3 to 7 it selects.
    pub value: TagValue,
}

impl Tag {
    /// A tag with this key and value.
    pub fn new(key: impl Into<String>, value: TagValue) -> Self {
        Tag {
            key: key.into(),
            value,
        }
    }
}

/// The typed value of a [`Tag`] (`TagType` in jaeger.thrift).
#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    /// `STRING`, carried in field 3 (`vStr`).
    String(String),
    /// `DOUBLE`, carried in field 4 (`vDouble`).
    Double(f64),
    /// `BOOL`, carried in field 5 (`vBool`).
    Bool(bool),
    /// `LONG`, carried in field 6 (`vLong`).
    Long(i64),
    /// `BINARY`, carried in field 7 (`vBinary`).
    Binary(Vec<u8>),
}

impl TagValue {
    /// The `TagType` enum value on the wire.
    fn type_code(&self) -> i32 {
        match self {
            TagValue::String(_) => 0,
            TagValue::Double(_) => 1,
            TagValue::Bool(_) => 2,
            TagValue::Long(_) => 3,
            TagValue::Binary(_) => 4,
        }
    }
}

/// `Log`: a timed event with fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Log {
    /// Field 1: microseconds since the Unix epoch.
    pub timestamp: i64,
    /// Field 2: the event's fields.
    pub fields: Vec<Tag>,
}

/// `SpanRef`: a causal link from a span to another span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanRef {
    /// Field 1: how the spans relate.
    pub ref_type: SpanRefType,
    /// Field 2: the low 64 bits of the referenced trace id.
    pub trace_id_low: i64,
    /// Field 3: the high 64 bits of the referenced trace id.
    pub trace_id_high: i64,
    /// Field 4: the referenced span id.
    pub span_id: i64,
}

/// `SpanRefType`: the kind of a [`SpanRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanRefType {
    /// `CHILD_OF` (0): the referenced span is a parent.
    ChildOf,
    /// `FOLLOWS_FROM` (1): the referenced span caused this one but does not wait for it.
    FollowsFrom,
}

/// A borrowed view of a [`Batch`], so the exporter can encode each datagram's slice of spans with
/// one shared `Process` instead of cloning it per datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchRef<'a> {
    pub process: &'a Process,
    pub spans: &'a [JaegerSpan],
    pub seq_no: Option<i64>,
    pub stats: Option<&'a ClientStats>,
}

#[cfg(test)]
impl Batch {
    pub(crate) fn as_ref(&self) -> BatchRef<'_> {
        BatchRef {
            process: &self.process,
            spans: &self.spans,
            seq_no: self.seq_no,
            stats: self.stats.as_ref(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

type Written = thrift::Result<()>;

/// One complete `emitBatch` message, ready to be sent as a datagram.
pub(crate) fn encode_emit_batch(batch: BatchRef<'_>) -> thrift::Result<Vec<u8>> {
    let mut datagram = Vec::new();
    write_emit_batch(&mut TCompactOutputProtocol::new(&mut datagram), batch)?;
    Ok(datagram)
}

/// The length of [`encode_emit_batch`]'s output, without building it.
pub(crate) fn emit_batch_len(batch: BatchRef<'_>) -> thrift::Result<usize> {
    let mut counter = ByteCounter(0);
    write_emit_batch(&mut TCompactOutputProtocol::new(&mut counter), batch)?;
    Ok(counter.0)
}

/// The encoded length of one span. A compact-protocol struct encodes the same wherever it sits,
/// so a batch's length is its empty length plus its spans' lengths (plus the list-size varint).
pub(crate) fn span_len(span: &JaegerSpan) -> thrift::Result<usize> {
    let mut counter = ByteCounter(0);
    write_span(&mut TCompactOutputProtocol::new(&mut counter), span)?;
    Ok(counter.0)
}

/// Counts bytes instead of storing them, to measure encodings without allocating.
struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write_emit_batch(o: &mut dyn TOutputProtocol, batch: BatchRef<'_>) -> Written {
    // A oneway call gets no reply, so the message sequence id correlates nothing; loss detection
    // uses Batch.seqNo instead.
    o.write_message_begin(&TMessageIdentifier::new(EMIT_BATCH, TMessageType::OneWay, 0))?;
    // The call's argument struct: `emitBatch(1: jaeger.Batch batch)`.
    write_struct(o, |o| field(o, TType::Struct, 1, |o| write_batch(o, batch)))?;
    o.write_message_end()?;
    o.flush()
}

fn write_batch(o: &mut dyn TOutputProtocol, batch: BatchRef<'_>) -> Written {
    write_struct(o, |o| {
        field(o, TType::Struct, 1, |o| write_process(o, batch.process))?;
        list_field(o, 2, batch.spans, write_span)?;
        if let Some(seq_no) = batch.seq_no {
            i64_field(o, 3, seq_no)?;
        }
        if let Some(stats) = batch.stats {
            field(o, TType::Struct, 4, |o| write_client_stats(o, stats))?;
        }
        Ok(())
    })
}

fn write_process(o: &mut dyn TOutputProtocol, process: &Process) -> Written {
    write_struct(o, |o| {
        string_field(o, 1, &process.service_name)?;
        optional_list_field(o, 2, &process.tags, write_tag)
    })
}

fn write_client_stats(o: &mut dyn TOutputProtocol, stats: &ClientStats) -> Written {
    write_struct(o, |o| {
        i64_field(o, 1, stats.full_queue_dropped_spans)?;
        i64_field(o, 2, stats.too_large_dropped_spans)?;
        i64_field(o, 3, stats.failed_to_emit_spans)
    })
}

fn write_span(o: &mut dyn TOutputProtocol, span: &JaegerSpan) -> Written {
    write_struct(o, |o| {
        i64_field(o, 1, span.trace_id_low)?;
        i64_field(o, 2, span.trace_id_high)?;
        i64_field(o, 3, span.span_id)?;
        i64_field(o, 4, span.parent_span_id)?;
        string_field(o, 5, &span.operation_name)?;
        optional_list_field(o, 6, &span.references, write_span_ref)?;
        i32_field(o, 7, span.flags)?;
        i64_field(o, 8, span.start_time)?;
        i64_field(o, 9, span.duration)?;
        optional_list_field(o, 10, &span.tags, write_tag)?;
        optional_list_field(o, 11, &span.logs, write_log)
    })
}

fn write_span_ref(o: &mut dyn TOutputProtocol, r: &SpanRef) -> Written {
    let ref_type = match r.ref_type {
        SpanRefType::ChildOf => 0,
        SpanRefType::FollowsFrom => 1,
    };
    write_struct(o, |o| {
        i32_field(o, 1, ref_type)?;
        i64_field(o, 2, r.trace_id_low)?;
        i64_field(o, 3, r.trace_id_high)?;
        i64_field(o, 4, r.span_id)
    })
}

fn write_log(o: &mut dyn TOutputProtocol, log: &Log) -> Written {
    write_struct(o, |o| {
        i64_field(o, 1, log.timestamp)?;
        list_field(o, 2, &log.fields, write_tag)
    })
}

fn write_tag(o: &mut dyn TOutputProtocol, tag: &Tag) -> Written {
    write_struct(o, |o| {
        string_field(o, 1, &tag.key)?;
        i32_field(o, 2, tag.value.type_code())?;
        match &tag.value {
            TagValue::String(s) => string_field(o, 3, s),
            TagValue::Double(d) => field(o, TType::Double, 4, |o| o.write_double(*d)),
            TagValue::Bool(b) => field(o, TType::Bool, 5, |o| o.write_bool(*b)),
            TagValue::Long(l) => i64_field(o, 6, *l),
            TagValue::Binary(b) => field(o, TType::String, 7, |o| o.write_bytes(b)),
        }
    })
}

fn write_struct(
    o: &mut dyn TOutputProtocol,
    fields: impl FnOnce(&mut dyn TOutputProtocol) -> Written,
) -> Written {
    // The compact protocol never writes struct names.
    o.write_struct_begin(&TStructIdentifier::new(""))?;
    fields(o)?;
    o.write_field_stop()?;
    o.write_struct_end()
}

fn field(
    o: &mut dyn TOutputProtocol,
    field_type: TType,
    id: i16,
    value: impl FnOnce(&mut dyn TOutputProtocol) -> Written,
) -> Written {
    // Field names are not on the wire either; `None` saves an allocation per field.
    o.write_field_begin(&TFieldIdentifier {
        name: None,
        field_type,
        id: Some(id),
    })?;
    value(o)?;
    o.write_field_end()
}

fn i32_field(o: &mut dyn TOutputProtocol, id: i16, value: i32) -> Written {
    field(o, TType::I32, id, |o| o.write_i32(value))
}

fn i64_field(o: &mut dyn TOutputProtocol, id: i16, value: i64) -> Written {
    field(o, TType::I64, id, |o| o.write_i64(value))
}

fn string_field(o: &mut dyn TOutputProtocol, id: i16, value: &str) -> Written {
    field(o, TType::String, id, |o| o.write_string(value))
}

/// Optional lists are left out when empty: receivers read an absent list as an empty one, and the
/// bytes saved make room for spans.
fn optional_list_field<T>(
    o: &mut dyn TOutputProtocol,
    id: i16,
    items: &[T],
    write_item: fn(&mut dyn TOutputProtocol, &T) -> Written,
) -> Written {
    if items.is_empty() {
        return Ok(());
    }
    list_field(o, id, items, write_item)
}

fn list_field<T>(
    o: &mut dyn TOutputProtocol,
    id: i16,
    items: &[T],
    write_item: fn(&mut dyn TOutputProtocol, &T) -> Written,
) -> Written {
    let size = i32::try_from(items.len())
        .map_err(|_| invalid_data(format!("list of {} items is too long", items.len())))?;
    field(o, TType::List, id, |o| {
        o.write_list_begin(&TListIdentifier::new(TType::Struct, size))?;
        for item in items {
            write_item(o, item)?;
        }
        o.write_list_end()
    })
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// Decodes one Jaeger agent datagram: a compact-protocol `Agent.emitBatch` message.
///
/// This is what a Jaeger agent (or Jaeger v2's UDP receiver on port 6831) parses. It accepts
/// `Batch.seqNo` and `Batch.stats` and skips fields it does not know, as Thrift readers must.
/// It never panics and never allocates more than the datagram's size per string or list, whatever
/// the input.
///
/// # Errors
///
/// A [`thrift::Error`] when the datagram is not a complete compact-protocol `emitBatch` message
/// or lacks a required field. The detail, e.g. `required field Span.operationName is missing`,
/// is in [`thrift::ProtocolError::message`]: the `thrift` crate's `Display` shows only the error
/// kind ("bad data"), so print errors with `{:?}` or read `message`.
///
/// # Example
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let socket = std::net::UdpSocket::bind("127.0.0.1:6831")?;
/// let mut datagram = vec![0; 65_535];
/// let len = socket.recv(&mut datagram)?;
/// let batch = maximus_trace::export::jaeger::decode_emit_batch(&datagram[..len])?;
/// println!("{}: {} spans", batch.process.service_name, batch.spans.len());
/// # Ok(())
/// # }
/// ```
pub fn decode_emit_batch(datagram: &[u8]) -> Result<Batch, thrift::Error> {
    let mut rest = datagram;
    let batch = read_emit_batch(&mut TCompactInputProtocol::with_config(
        &mut rest,
        limits(datagram.len())?,
    ))?;
    // One message per datagram: anything after it means a broken encoder, not a second batch.
    if !rest.is_empty() {
        let trailing = rest.len();
        return Err(invalid_data(format!("{trailing} bytes after the message")));
    }
    Ok(batch)
}

fn read_emit_batch(i: &mut Input<'_>) -> thrift::Result<Batch> {
    let message = i.read_message_begin()?;
    let oneway_or_call = matches!(message.message_type, TMessageType::OneWay | TMessageType::Call);
    if message.name != EMIT_BATCH || !oneway_or_call {
        return Err(invalid_data(format!(
            "expected an `{EMIT_BATCH}` call, found {:?} `{}`",
            message.message_type, message.name
        )));
    }
    let mut batch = None;
    read_struct(i, |i, id, field_type| {
        match (id, field_type) {
            (1, TType::Struct) => batch = Some(read_batch(i)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    i.read_message_end()?;
    required(batch, "emitBatch.batch")
}

/// Limits sized to the datagram, so that a corrupt length prefix fails instead of allocating
/// up to the crate's 100 MB defaults.
fn limits(len: usize) -> thrift::Result<TConfiguration> {
    TConfiguration::builder()
        .max_message_size(Some(len))
        .max_frame_size(Some(len))
        .max_string_size(Some(len))
        .build()
}

type Input<'a> = dyn TInputProtocol + 'a;

fn read_batch(i: &mut Input<'_>) -> thrift::Result<Batch> {
    let (mut process, mut spans, mut seq_no, mut stats) = (None, None, None, None);
    read_struct(i, |i, id, field_type| {
        match (id, field_type) {
            (1, TType::Struct) => process = Some(read_process(i)?),
            (2, TType::List) => spans = Some(read_list(i, read_span)?),
            (3, TType::I64) => seq_no = Some(i.read_i64()?),
            (4, TType::Struct) => stats = Some(read_client_stats(i)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(Batch {
        process: required(process, "Batch.process")?,
        spans: required(spans, "Batch.spans")?,
        seq_no,
        stats,
    })
}

fn read_process(i: &mut Input<'_>) -> thrift::Result<Process> {
    let (mut service_name, mut tags) = (None, Vec::new());
    read_struct(i, |i, id, field_type| {
        match (id, field_type) {
            (1, TType::String) => service_name = Some(i.read_string()?),
            (2, TType::List) => tags = read_list(i, read_tag)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(Process {
        service_name: required(service_name, "Process.serviceName")?,
        tags,
    })
}

fn read_client_stats(i: &mut Input<'_>) -> thrift::Result<ClientStats> {
    let mut counts: [Option<i64>; 3] = [None; 3];
    read_struct(i, |i, id, field_type| {
        match (id, field_type) {
            (1, TType::I64) => counts[0] = Some(i.read_i64()?),
            (2, TType::I64) => counts[1] = Some(i.read_i64()?),
            (3, TType::I64) => counts[2] = Some(i.read_i64()?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(ClientStats {
        full_queue_dropped_spans: required(counts[0], "ClientStats.fullQueueDroppedSpans")?,
        too_large_dropped_spans: required(counts[1], "ClientStats.tooLargeDroppedSpans")?,
        failed_to_emit_spans: required(counts[2], "ClientStats.failedToEmitSpans")?,
    })
}

/// The required fields of a `Span`, collected while reading, checked at the end.
#[derive(Default)]
struct SpanFields {
    trace_id_low: Option<i64>,
    trace_id_high: Option<i64>,
    span_id: Option<i64>,
    parent_span_id: Option<i64>,
    operation_name: Option<String>,
    flags: Option<i32>,
    start_time: Option<i64>,
    duration: Option<i64>,
}

fn read_span(i: &mut Input<'_>) -> thrift::Result<JaegerSpan> {
    let mut f = SpanFields::default();
    let (mut references, mut tags, mut logs) = (Vec::new(), Vec::new(), Vec::new());
    read_struct(i, |i, id, field_type| {
        match (id, field_type) {
            (1, TType::I64) => f.trace_id_low = Some(i.read_i64()?),
            (2, TType::I64) => f.trace_id_high = Some(i.read_i64()?),
            (3, TType::I64) => f.span_id = Some(i.read_i64()?),
            (4, TType::I64) => f.parent_span_id = Some(i.read_i64()?),
            (5, TType::String) => f.operation_name = Some(i.read_string()?),
            (6, TType::List) => references = read_list(i, read_span_ref)?,
            (7, TType::I32) => f.flags = Some(i.read_i32()?),
            (8, TType::I64) => f.start_time = Some(i.read_i64()?),
            (9, TType::I64) => f.duration = Some(i.read_i64()?),
            (10, TType::List) => tags = read_list(i, read_tag)?,
            (11, TType::List) => logs = read_list(i, read_log)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(JaegerSpan {
        trace_id_low: required(f.trace_id_low, "Span.traceIdLow")?,
        trace_id_high: required(f.trace_id_high, "Span.traceIdHigh")?,
        span_id: required(f.span_id, "Span.spanId")?,
        parent_span_id: required(f.parent_span_id, "Span.parentSpanId")?,
        operation_name: required(f.operation_name, "Span.operationName")?,
        references,
        flags: required(f.flags, "Span.flags")?,
        start_time: required(f.start_time, "Span.startTime")?,
        duration: required(f.duration, "Span.duration")?,
        tags,
        logs,
    })
}

fn read_span_ref(i: &mut Input<'_>) -> thrift::Result<SpanRef> {
    let (mut ref_type, mut low, mut high, mut span_id) = (None, None, None, None);
    read_struct(i, |i, id, field_type| {
        match (id, field_type) {
            (1, TType::I32) => ref_type = Some(i.read_i32()?),
            (2, TType::I64) => low = Some(i.read_i64()?),
            (3, TType::I64) => high = Some(i.read_i64()?),
            (4, TType::I64) => span_id = Some(i.read_i64()?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let ref_type = match required(ref_type, "SpanRef.refType")? {
        0 => SpanRefType::ChildOf,
        1 => SpanRefType::FollowsFrom,
        other => return Err(invalid_data(format!("unknown SpanRefType {other}"))),
    };
    Ok(SpanRef {
        ref_type,
        trace_id_low: required(low, "SpanRef.traceIdLow")?,
        trace_id_high: required(high, "SpanRef.traceIdHigh")?,
        span_id: required(span_id, "SpanRef.spanId")?,
    })
}

fn read_log(i: &mut Input<'_>) -> thrift::Result<Log> {
    let (mut timestamp, mut fields) = (None, None);
    read_struct(i, |i, id, field_type| {
        match (id, field_type) {
            (1, TType::I64) => timestamp = Some(i.read_i64()?),
            (2, TType::List) => fields = Some(read_list(i, read_tag)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(Log {
        timestamp: required(timestamp, "Log.timestamp")?,
        fields: required(fields, "Log.fields")?,
    })
}

/// The optional value fields of a `Tag`; `vType` says which one counts.
#[derive(Default)]
struct TagValues {
    string: Option<String>,
    double: Option<f64>,
    boolean: Option<bool>,
    long: Option<i64>,
    binary: Option<Vec<u8>>,
}

fn read_tag(i: &mut Input<'_>) -> thrift::Result<Tag> {
    let (mut key, mut v_type, mut v) = (None, None, TagValues::default());
    read_struct(i, |i, id, field_type| {
        match (id, field_type) {
            (1, TType::String) => key = Some(i.read_string()?),
            (2, TType::I32) => v_type = Some(i.read_i32()?),
            (3, TType::String) => v.string = Some(i.read_string()?),
            (4, TType::Double) => v.double = Some(i.read_double()?),
            (5, TType::Bool) => v.boolean = Some(i.read_bool()?),
            (6, TType::I64) => v.long = Some(i.read_i64()?),
            (7, TType::String) => v.binary = Some(i.read_bytes()?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(Tag {
        key: required(key, "Tag.key")?,
        value: tag_value(required(v_type, "Tag.vType")?, v)?,
    })
}

/// A missing value field reads as its type's zero value, as Jaeger's own backend does
/// (`GetVStr()` and friends), rather than rejecting the whole datagram.
fn tag_value(v_type: i32, v: TagValues) -> thrift::Result<TagValue> {
    Ok(match v_type {
        0 => TagValue::String(v.string.unwrap_or_default()),
        1 => TagValue::Double(v.double.unwrap_or_default()),
        2 => TagValue::Bool(v.boolean.unwrap_or_default()),
        3 => TagValue::Long(v.long.unwrap_or_default()),
        4 => TagValue::Binary(v.binary.unwrap_or_default()),
        other => return Err(invalid_data(format!("unknown TagType {other}"))),
    })
}

/// Reads a struct's fields until its stop marker. `on_field` reads the fields it knows and returns
/// `false` for the others, which are skipped; a known id with an unexpected type is skipped too,
/// as generated Thrift code does.
fn read_struct<'a>(
    i: &mut Input<'a>,
    mut on_field: impl FnMut(&mut Input<'a>, i16, TType) -> thrift::Result<bool>,
) -> thrift::Result<()> {
    i.read_struct_begin()?;
    loop {
        let field = i.read_field_begin()?;
        if field.field_type == TType::Stop {
            break;
        }
        let id = field.id.unwrap_or_default();
        if !on_field(i, id, field.field_type)? {
            i.skip(field.field_type)?;
        }
        i.read_field_end()?;
    }
    i.read_struct_end()
}

fn read_list<'a, T>(
    i: &mut Input<'a>,
    read_item: fn(&mut Input<'a>) -> thrift::Result<T>,
) -> thrift::Result<Vec<T>> {
    let list = i.read_list_begin()?;
    if list.element_type != TType::Struct {
        return Err(invalid_data(format!(
            "expected a list of structs, found a list of {:?}",
            list.element_type
        )));
    }
    // The protocol has checked `size` against the datagram's length; the cap keeps a corrupt
    // size from reserving far more memory than the items it could really hold.
    let size = usize::try_from(list.size).unwrap_or_default();
    let mut items = Vec::with_capacity(size.min(1024));
    for _ in 0..size {
        items.push(read_item(i)?);
    }
    i.read_list_end()?;
    Ok(items)
}

fn required<T>(value: Option<T>, field: &str) -> thrift::Result<T> {
    value.ok_or_else(|| invalid_data(format!("required field {field} is missing")))
}

fn invalid_data(message: String) -> thrift::Error {
    thrift::Error::Protocol(ProtocolError::new(ProtocolErrorKind::InvalidData, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_batch() -> Batch {
        let tag = |key: &str, value| Tag::new(key, value);
        Batch {
            process: Process {
                service_name: "svc".into(),
                tags: vec![tag("host.name", TagValue::String("h1".into()))],
            },
            spans: vec![JaegerSpan {
                trace_id_low: -1,
                trace_id_high: i64::MIN,
                span_id: 42,
                parent_span_id: 0,
                operation_name: "op".into(),
                references: vec![SpanRef {
                    ref_type: SpanRefType::FollowsFrom,
                    trace_id_low: 1,
                    trace_id_high: 2,
                    span_id: 3,
                }],
                flags: 1,
                start_time: 1_700_000_000_000_000,
                duration: 1_500,
                tags: vec![
                    tag("s", TagValue::String("v".into())),
                    tag("d", TagValue::Double(1.5)),
                    tag("b", TagValue::Bool(false)),
                    tag("l", TagValue::Long(-7)),
                    tag("x", TagValue::Binary(vec![0, 255])),
                ],
                logs: vec![Log {
                    timestamp: 5,
                    fields: vec![tag("event", TagValue::String("e".into()))],
                }],
            }],
            seq_no: Some(9),
            stats: Some(ClientStats {
                full_queue_dropped_spans: 1,
                too_large_dropped_spans: 2,
                failed_to_emit_spans: 3,
            }),
        }
    }

    fn error_message(error: thrift::Error) -> String {
        match error {
            thrift::Error::Protocol(e) => e.message,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn decoding_an_encoded_batch_gives_it_back() {
        let batch = sample_batch();
        let datagram = encode_emit_batch(batch.as_ref()).unwrap();
        assert_eq!(decode_emit_batch(&datagram).unwrap(), batch);
    }

    #[test]
    fn measured_length_matches_the_encoding() {
        let batch = sample_batch();
        let datagram = encode_emit_batch(batch.as_ref()).unwrap();
        assert_eq!(emit_batch_len(batch.as_ref()).unwrap(), datagram.len());
    }

    #[test]
    fn batch_length_is_empty_batch_plus_span_lengths() {
        let mut batch = sample_batch();
        batch.spans = vec![batch.spans[0].clone(); 3];
        let full = emit_batch_len(batch.as_ref()).unwrap();
        let span = span_len(&batch.spans[0]).unwrap();
        batch.spans.clear();
        assert_eq!(full, emit_batch_len(batch.as_ref()).unwrap() + 3 * span);
    }

    #[test]
    fn message_is_a_oneway_emit_batch_call() {
        let datagram = encode_emit_batch(sample_batch().as_ref()).unwrap();
        let mut i = TCompactInputProtocol::new(&datagram[..]);
        let message = i.read_message_begin().unwrap();
        assert_eq!(message.name, "emitBatch");
        assert_eq!(message.message_type, TMessageType::OneWay);
    }

    #[test]
    fn decoder_accepts_batches_without_seq_no_and_stats() {
        let mut batch = sample_batch();
        batch.seq_no = None;
        batch.stats = None;
        let datagram = encode_emit_batch(batch.as_ref()).unwrap();
        assert_eq!(decode_emit_batch(&datagram).unwrap(), batch);
    }

    #[test]
    fn decoder_skips_unknown_fields() {
        let mut datagram = Vec::new();
        let mut o = TCompactOutputProtocol::new(&mut datagram);
        let batch = sample_batch();
        o.write_message_begin(&TMessageIdentifier::new(EMIT_BATCH, TMessageType::OneWay, 0))
            .unwrap();
        write_struct(&mut o, |o| {
            string_field(o, 7, "from a newer IDL")?;
            field(o, TType::Struct, 1, |o| write_batch(o, batch.as_ref()))
        })
        .unwrap();
        assert_eq!(decode_emit_batch(&datagram).unwrap(), batch);
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut datagram = encode_emit_batch(sample_batch().as_ref()).unwrap();
        datagram.push(0);
        let message = error_message(decode_emit_batch(&datagram).unwrap_err());
        assert!(message.contains("1 bytes after the message"), "{message}");
    }

    #[test]
    fn other_calls_are_rejected() {
        let mut datagram = Vec::new();
        let mut o = TCompactOutputProtocol::new(&mut datagram);
        let id = TMessageIdentifier::new("emitZipkinBatch", TMessageType::OneWay, 0);
        o.write_message_begin(&id).unwrap();
        let message = error_message(decode_emit_batch(&datagram).unwrap_err());
        assert!(message.contains("emitZipkinBatch"), "{message}");
    }

    #[test]
    fn missing_required_fields_are_named() {
        let mut datagram = Vec::new();
        let mut o = TCompactOutputProtocol::new(&mut datagram);
        o.write_message_begin(&TMessageIdentifier::new(EMIT_BATCH, TMessageType::OneWay, 0))
            .unwrap();
        write_struct(&mut o, |o| {
            field(o, TType::Struct, 1, |o| {
                write_struct(o, |o| field(o, TType::Struct, 1, |o| write_struct(o, |_| Ok(()))))
            })
        })
        .unwrap();
        let message = error_message(decode_emit_batch(&datagram).unwrap_err());
        assert!(message.contains("Process.serviceName"), "{message}");
    }

    #[test]
    fn truncated_or_corrupt_datagrams_fail_without_panicking() {
        let datagram = encode_emit_batch(sample_batch().as_ref()).unwrap();
        for len in 0..datagram.len() {
            assert!(
                decode_emit_batch(&datagram[..len]).is_err(),
                "prefix of {len} bytes"
            );
        }
        // Flipping each byte in turn must never panic (most flips are errors, some are not).
        for at in 0..datagram.len() {
            let mut corrupt = datagram.clone();
            corrupt[at] ^= 0xFF;
            let _ = decode_emit_batch(&corrupt);
        }
    }

    #[test]
    fn huge_length_prefixes_fail_without_allocating() {
        // A compact header, then a call name whose varint length claims ~4 GB.
        let datagram = [0x82, 0x81, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F];
        assert!(decode_emit_batch(&datagram).is_err());
    }
}
