//! Decoding: what a Jaeger agent does with our datagrams (used by tests and `doctor`).

use thrift::TConfiguration;
use thrift::protocol::{TCompactInputProtocol, TInputProtocol, TMessageType, TType};

use super::*;

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

pub(super) fn read_emit_batch(i: &mut Input<'_>) -> thrift::Result<Batch> {
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
pub(super) fn limits(len: usize) -> thrift::Result<TConfiguration> {
    TConfiguration::builder()
        .max_message_size(Some(len))
        .max_frame_size(Some(len))
        .max_string_size(Some(len))
        .build()
}

pub(super) type Input<'a> = dyn TInputProtocol + 'a;

pub(super) fn read_batch(i: &mut Input<'_>) -> thrift::Result<Batch> {
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

pub(super) fn read_process(i: &mut Input<'_>) -> thrift::Result<Process> {
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

pub(super) fn read_client_stats(i: &mut Input<'_>) -> thrift::Result<ClientStats> {
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

pub(super) fn read_span(i: &mut Input<'_>) -> thrift::Result<JaegerSpan> {
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

pub(super) fn read_span_ref(i: &mut Input<'_>) -> thrift::Result<SpanRef> {
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

pub(super) fn read_log(i: &mut Input<'_>) -> thrift::Result<Log> {
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
pub(super) struct TagValues {
    string: Option<String>,
    double: Option<f64>,
    boolean: Option<bool>,
    long: Option<i64>,
    binary: Option<Vec<u8>>,
}

pub(super) fn read_tag(i: &mut Input<'_>) -> thrift::Result<Tag> {
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
pub(super) fn tag_value(v_type: i32, v: TagValues) -> thrift::Result<TagValue> {
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
pub(super) fn read_struct<'a>(
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

pub(super) fn read_list<'a, T>(
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

pub(super) fn required<T>(value: Option<T>, field: &str) -> thrift::Result<T> {
    value.ok_or_else(|| invalid_data(format!("required field {field} is missing")))
}
