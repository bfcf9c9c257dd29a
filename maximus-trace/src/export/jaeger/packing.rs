//! Fitting spans into datagrams: measure each span's encoding, trim what is too large alone,
//! and split the rest across as few datagrams as the packet limit allows.

use opentelemetry_sdk::trace::SpanData;
use thrift::ProtocolErrorKind;

use super::convert::{self, Trimmed};
use super::thrift::{BatchRef, JaegerSpan, Process, emit_batch_len, encode_emit_batch, span_len};

/// The spans-list size grows from 1 byte to at most 1 + 5 (a varint `i32`) as spans are
/// added; the empty batch already counts the 1.
const MAX_LIST_SIZE_GROWTH: usize = 5;

/// One encoded `emitBatch` message.
pub(super) struct Datagram {
    pub bytes: Vec<u8>,
    pub spans: usize,
}

/// The datagrams of one export, and what did not fit as it was.
pub(super) struct Packed {
    pub datagrams: Vec<Datagram>,
    pub trimmed: usize,
    pub dropped: usize,
}

pub(super) fn pack(
    spans: Vec<SpanData>,
    process: &Process,
    max_packet_size: usize,
    mut next_seq_no: impl FnMut() -> i64,
) -> thrift::Result<Packed> {
    let budget = max_packet_size.saturating_sub(overhead(process)?);
    let (mut datagrams, mut trimmed, mut dropped) = (Vec::new(), 0, 0);
    let mut chunk = Chunk::default();
    for data in spans {
        let Some(fitted) = fit(data, budget)? else {
            dropped += 1;
            continue;
        };
        trimmed += usize::from(fitted.trimmed);
        if chunk.len + fitted.len > budget {
            datagrams.extend(chunk.seal(process, &mut next_seq_no)?);
        }
        chunk.push(fitted);
    }
    datagrams.extend(chunk.seal(process, &mut next_seq_no)?);
    check_sizes(&datagrams, max_packet_size)?;
    Ok(Packed {
        datagrams,
        trimmed,
        dropped,
    })
}

/// What a datagram costs besides its spans: the message and `Process`, the longest possible
/// `seqNo`, and the list size's growth.
fn overhead(process: &Process) -> thrift::Result<usize> {
    let empty = BatchRef {
        process,
        spans: &[],
        seq_no: Some(i64::MIN),
        stats: None,
    };
    Ok(emit_batch_len(empty)? + MAX_LIST_SIZE_GROWTH)
}

struct Fitted {
    span: JaegerSpan,
    len: usize,
    trimmed: bool,
}

/// Converts a span, dropping its events and then its attributes while its encoding exceeds
/// `budget`; `None` when even the bare span does not fit.
fn fit(mut data: SpanData, budget: usize) -> thrift::Result<Option<Fitted>> {
    let mut trimmed = Trimmed::default();
    loop {
        let span = convert::span(&data, trimmed);
        let len = span_len(&span)?;
        if len <= budget {
            let trimmed = trimmed.any();
            return Ok(Some(Fitted { span, len, trimmed }));
        }
        if !data.events.events.is_empty() {
            trimmed.events = std::mem::take(&mut data.events.events).len();
        } else if !data.attributes.is_empty() {
            trimmed.attributes = std::mem::take(&mut data.attributes).len();
        } else {
            return Ok(None);
        }
    }
}

#[derive(Default)]
struct Chunk {
    spans: Vec<JaegerSpan>,
    len: usize,
}

impl Chunk {
    fn push(&mut self, fitted: Fitted) {
        self.len += fitted.len;
        self.spans.push(fitted.span);
    }

    /// Encodes the chunk's spans as one datagram (none if empty) and starts a new chunk.
    fn seal(
        &mut self,
        process: &Process,
        next_seq_no: &mut impl FnMut() -> i64,
    ) -> thrift::Result<Option<Datagram>> {
        if self.spans.is_empty() {
            return Ok(None);
        }
        let spans = std::mem::take(&mut self.spans);
        self.len = 0;
        let batch = BatchRef {
            process,
            spans: &spans,
            seq_no: Some(next_seq_no()),
            stats: None,
        };
        let bytes = encode_emit_batch(batch)?;
        Ok(Some(Datagram {
            bytes,
            spans: spans.len(),
        }))
    }
}

/// The budget arithmetic guarantees this; checking is cheap insurance that a miscount can
/// never put an oversized datagram on the wire.
fn check_sizes(datagrams: &[Datagram], max_packet_size: usize) -> thrift::Result<()> {
    match datagrams.iter().find(|d| d.bytes.len() > max_packet_size) {
        Some(d) => Err(thrift::new_protocol_error(
            ProtocolErrorKind::SizeLimit,
            format!(
                "a {}-byte datagram exceeds the {max_packet_size}-byte limit",
                d.bytes.len()
            ),
        )),
        None => Ok(()),
    }
}
