//! `Handle`: what a [`crate::Span`], [`crate::SpanGuard`] or [`crate::SpanRef`] holds, and
//! how an operation on it reaches the span's record wherever that record lives.

use std::sync::Arc;

use super::cell::SpanCell;
use super::frame::{Inherited, Parent};
use super::ids::SpanIds;
use super::local;
use super::record::{EventRecord, Record};
use super::shared::Op;
use crate::model::Status;

/// Where a span's record is.
#[derive(Clone, Debug)]
pub(crate) enum RecordRef {
    /// Not sampled: nothing is recorded; the span's end is counted as this says.
    Unrecorded(EndCount),
    /// In the buffer of the thread with this token, found through that thread's frames.
    Thread(u64),
    /// Behind a lock.
    Cell(Arc<SpanCell>),
}

/// Where the end of a span that records nothing is counted.
#[derive(Clone, Debug)]
pub(crate) enum EndCount {
    /// By this thread, for the global pipeline.
    Global,
    /// By a standalone manager's pipeline.
    Standalone(Arc<super::route::Route>),
    /// Already counted (a span that shared its parent's frame), or a view of a span that
    /// something else ends.
    Done,
}

/// A started span: its ids, what its children inherit, and where its record is.
#[derive(Clone, Debug)]
pub(crate) struct Handle {
    pub ids: SpanIds,
    pub inherited: Option<Arc<Inherited>>,
    pub record: RecordRef,
}

impl Handle {
    /// This span as the parent of a new one.
    pub(crate) fn as_parent(&self) -> Parent {
        Parent {
            ids: self.ids,
            inherited: self.inherited.clone(),
        }
    }

    /// Applies `op` to the record: directly when it is on this thread or behind a lock, by
    /// way of the owner's mailbox when another thread holds it. A no-op once the span ended.
    pub(crate) fn apply(&self, op: Op) {
        match &self.record {
            RecordRef::Unrecorded(_) => {}
            RecordRef::Cell(cell) => {
                cell.with_record(|r| apply(r, op));
            }
            RecordRef::Thread(owner) => {
                if local::token() == Some(*owner) {
                    local::with_record(self.ids.span_id, |r| apply(r, op));
                } else {
                    super::buffer::post(*owner, self.ids.span_id, op);
                }
            }
        }
    }

    /// Whether recording on this span has effect. For a span another thread holds, true: it
    /// has a record, and its owner alone knows when it ends.
    pub(crate) fn is_recording(&self) -> bool {
        match &self.record {
            RecordRef::Unrecorded(_) => false,
            RecordRef::Cell(cell) => cell.is_open(),
            RecordRef::Thread(owner) => {
                if local::token() == Some(*owner) {
                    local::with_record(self.ids.span_id, |_| ()).is_some()
                } else {
                    true
                }
            }
        }
    }

    /// Runs `f` on the record if it is open and reachable from this thread.
    pub(crate) fn with_record<T>(&self, f: impl FnOnce(&mut Record) -> T) -> Option<T> {
        match &self.record {
            RecordRef::Unrecorded(_) => None,
            RecordRef::Cell(cell) => cell.with_record(f),
            RecordRef::Thread(owner) if local::token() == Some(*owner) => {
                local::with_record(self.ids.span_id, f)
            }
            RecordRef::Thread(_) => None,
        }
    }
}

/// One operation on a record.
pub(crate) fn apply(record: &mut Record, op: Op) {
    match op {
        Op::SetAttribute(kv) => record.set_attribute(kv),
        Op::AddEvent(event) => record.add_event(event),
        Op::SetStatus(status) => record.set_status(status),
    }
}

/// The `exception` event and error status of `error` (the type, the message, the `source()`
/// chain and, when `RUST_BACKTRACE` asks, a backtrace).
pub(crate) fn error_ops<E: std::error::Error + ?Sized>(error: &E) -> [Op; 2] {
    let message = error.to_string();
    let event = EventRecord::exception(crate::engine::exception::Exception::of_error(
        error,
        message.clone(),
    ));
    [Op::AddEvent(event), Op::SetStatus(Status::error(message))]
}
