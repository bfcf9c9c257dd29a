//! Encoding: `emitBatch` messages in the compact protocol, and their lengths.

use std::io;

use thrift::protocol::{
    TCompactOutputProtocol, TFieldIdentifier, TListIdentifier, TMessageIdentifier, TMessageType,
    TOutputProtocol, TStructIdentifier, TType,
};

use super::*;

pub(super) type Written = thrift::Result<()>;

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

pub(super) fn write_emit_batch(o: &mut dyn TOutputProtocol, batch: BatchRef<'_>) -> Written {
    // A oneway call gets no reply, so the message sequence id correlates nothing; loss detection
    // uses Batch.seqNo instead.
    o.write_message_begin(&TMessageIdentifier::new(EMIT_BATCH, TMessageType::OneWay, 0))?;
    // The call's argument struct: `emitBatch(1: jaeger.Batch batch)`.
    write_struct(o, |o| field(o, TType::Struct, 1, |o| write_batch(o, batch)))?;
    o.write_message_end()?;
    o.flush()
}

pub(super) fn write_batch(o: &mut dyn TOutputProtocol, batch: BatchRef<'_>) -> Written {
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

pub(super) fn write_process(o: &mut dyn TOutputProtocol, process: &Process) -> Written {
    write_struct(o, |o| {
        string_field(o, 1, &process.service_name)?;
        optional_list_field(o, 2, &process.tags, write_tag)
    })
}

pub(super) fn write_client_stats(o: &mut dyn TOutputProtocol, stats: &ClientStats) -> Written {
    write_struct(o, |o| {
        i64_field(o, 1, stats.full_queue_dropped_spans)?;
        i64_field(o, 2, stats.too_large_dropped_spans)?;
        i64_field(o, 3, stats.failed_to_emit_spans)
    })
}

pub(super) fn write_span(o: &mut dyn TOutputProtocol, span: &JaegerSpan) -> Written {
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

pub(super) fn write_span_ref(o: &mut dyn TOutputProtocol, r: &SpanRef) -> Written {
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

pub(super) fn write_log(o: &mut dyn TOutputProtocol, log: &Log) -> Written {
    write_struct(o, |o| {
        i64_field(o, 1, log.timestamp)?;
        list_field(o, 2, &log.fields, write_tag)
    })
}

pub(super) fn write_tag(o: &mut dyn TOutputProtocol, tag: &Tag) -> Written {
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

pub(super) fn write_struct(
    o: &mut dyn TOutputProtocol,
    fields: impl FnOnce(&mut dyn TOutputProtocol) -> Written,
) -> Written {
    // The compact protocol never writes struct names.
    o.write_struct_begin(&TStructIdentifier::new(""))?;
    fields(o)?;
    o.write_field_stop()?;
    o.write_struct_end()
}

pub(super) fn field(
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

pub(super) fn i32_field(o: &mut dyn TOutputProtocol, id: i16, value: i32) -> Written {
    field(o, TType::I32, id, |o| o.write_i32(value))
}

pub(super) fn i64_field(o: &mut dyn TOutputProtocol, id: i16, value: i64) -> Written {
    field(o, TType::I64, id, |o| o.write_i64(value))
}

pub(super) fn string_field(o: &mut dyn TOutputProtocol, id: i16, value: &str) -> Written {
    field(o, TType::String, id, |o| o.write_string(value))
}

/// Optional lists are left out when empty: receivers read an absent list as an empty one, and the
/// bytes saved make room for spans.
pub(super) fn optional_list_field<T>(
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

pub(super) fn list_field<T>(
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
