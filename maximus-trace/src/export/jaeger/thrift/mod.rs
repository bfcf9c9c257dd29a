//! The Jaeger agent wire format: the `jaeger.thrift` types and the `Agent.emitBatch` oneway call
//! of `agent.thrift` (both from jaeger-idl), in the Thrift compact protocol.
//!
//! Written by hand on the `thrift` crate's protocol primitives: there is no Thrift compiler in our
//! build, and generated code would have to be vendored and kept in sync by hand anyway. The IDL is
//! small and frozen (Jaeger now prefers OTLP), so a hand-written codec stays short. Field ids and
//! types follow jaeger-idl exactly; `Batch` fields 3 (`seqNo`) and 4 (`stats`) are newer than many
//! decoders, so the decoder here reads them and skips any field it does not know.

mod decode;
mod encode;

pub use decode::decode_emit_batch;
pub(crate) use encode::{emit_batch_len, encode_emit_batch, span_len};

/// The name of the oneway call that carries a batch to the agent.
const EMIT_BATCH: &str = "emitBatch";

/// A protocol error for data that does not fit the IDL (too long to encode, or malformed).
fn invalid_data(message: String) -> thrift::Error {
    thrift::Error::Protocol(thrift::ProtocolError::new(
        thrift::ProtocolErrorKind::InvalidData,
        message,
    ))
}

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

#[cfg(test)]
mod tests {
    use super::decode::*;
    use super::encode::*;
    use super::*;
    use thrift::protocol::*;

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
