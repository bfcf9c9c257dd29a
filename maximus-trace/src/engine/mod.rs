//! The engine behind spans: what runs on the application's threads.
//!
//! A span is started on the caller's thread with a clock read, a per-thread id, and (when
//! sampled) a record pushed into that thread's buffer; the current span is the top of a
//! per-thread stack of frames. Ended records move to the pipeline's queue in batches, and
//! only the export thread turns them into OpenTelemetry `SpanData` (`export/convert.rs`).
//!
//! ```text
//! span!/#[trace_span] ─► local.rs (frames, buffer) ─┬─► pipeline queue ─► export thread ─► exporter
//! Span/futures ───────► cell.rs (record behind a lock) ┘        ▲
//!                                        idle threads' buffers ─┘ (stolen by the export thread)
//! ```

pub(crate) mod bridge;
pub(crate) mod buffer;
pub(crate) mod cell;
pub(crate) mod clock;
pub(crate) mod exception;
pub(crate) mod frame;
pub(crate) mod handle;
pub(crate) mod handoff;
pub(crate) mod ids;
pub(crate) mod limits;
pub(crate) mod local;
pub(crate) mod record;
pub(crate) mod registry;
pub(crate) mod route;
pub(crate) mod sampling;
pub(crate) mod shared;
pub(crate) mod start;
pub(crate) mod thread;

pub(crate) use frame::{Inherited, Parent};
pub(crate) use handle::{Handle, RecordRef};
pub(crate) use ids::{SpanId, SpanIds, TraceId};
pub(crate) use record::Record;
