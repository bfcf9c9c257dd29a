//! The current span of this thread, and the spans recorded on it: reading it, ending a span
//! that `start/current.rs` made current, making spans recorded elsewhere (futures, owned
//! spans) current by pushing a frame that points at them, and operations on this thread's
//! recorded spans.
//!
//! A sync span (`span!`, `#[trace_span]`, `SpanBuilder::entered`) is recorded into this
//! thread's buffer when it starts: its record is written once, in place, and its frame on
//! the stack remembers the index; ending it stores the end time.

use std::ptr::NonNull;
use std::sync::Arc;

use super::bridge;
use super::buffer;
use super::clock;
use super::frame::Top;
use super::frame::{Frame, Inherited, Parent, Target};
use super::handle::{EndCount, Handle, RecordRef};
use super::ids::{SpanId, SpanIds};
use super::record::Record;
use super::route;
use super::thread::{self, FAST, Inner, Local};

pub(crate) use super::buffer::{bump_epoch, deliver, flush_this_thread};
pub(crate) use super::thread::{publish_counts, token};

// ---- reading the current span ----

/// The span a new span hangs under by default: the current frame, else (when bridging) the
/// OpenTelemetry context's span.
pub(crate) fn parent() -> Option<Parent> {
    let top = thread::with(|l| top_parent(&*l.peek()?)).flatten();
    top.or_else(bridge::otel_parent)
}

/// The top frame, as a parent.
pub(crate) fn top_parent(inner: &Inner) -> Option<Parent> {
    inner.frames.last().map(|f| Parent {
        ids: f.ids,
        inherited: f.inherited.clone(),
    })
}

/// The ids of the current span, as [`parent`] finds it (so log lines name the span that
/// `inject` propagates).
pub(crate) fn current_ids() -> Option<SpanIds> {
    thread::with(|l| l.peek()?.frames.last().map(|f| f.ids))
        .flatten()
        .or_else(|| bridge::otel_parent().map(|p| p.ids))
}

/// A handle on the current span, for `Span::current()`.
pub(crate) fn current() -> Option<Handle> {
    thread::with(|l| Some(handle(l, l.peek()?.frames.last()?))).flatten()
}

/// A handle on the span of `frame`, one of this thread's.
fn handle(local: &Local, frame: &Frame) -> Handle {
    Handle {
        ids: frame.ids,
        inherited: frame.inherited.clone(),
        record: record_ref(local, frame.target),
    }
}

/// How a handle reaches the record a frame points at.
fn record_ref(local: &Local, target: Target) -> RecordRef {
    match target {
        Target::Unrecorded => RecordRef::Unrecorded(EndCount::Done),
        Target::Local(_) => RecordRef::Thread(local.shared().token),
        Target::Thread(owner) => RecordRef::Thread(owner),
        // SAFETY: the frame's pusher keeps the `Arc` alive while the frame exists.
        Target::Cell(ptr) => RecordRef::Cell(unsafe {
            Arc::increment_strong_count(ptr.as_ptr());
            Arc::from_raw(ptr.as_ptr())
        }),
    }
}

/// A handle on this thread's span `span_id` (for a guard's `span()`).
pub(crate) fn handle_of(span_id: SpanId) -> Option<Handle> {
    thread::with(|local| {
        let inner = local.peek()?;
        let frame = inner.frames.iter().rev().find(|f| f.ids.span_id == span_id)?;
        Some(handle(local, frame))
    })
    .flatten()
}

// ---- sync spans: recorded into this thread's buffer ----

/// Whether `span_id`'s frame is the current one on this thread.
pub(crate) fn is_current(span_id: SpanId) -> bool {
    thread::with(|l| {
        l.peek()
            .is_some_and(|i| i.frames.last().is_some_and(|f| f.ids.span_id == span_id))
    })
    .unwrap_or(false)
}

/// Makes the ids of a span that shares its parent's frame current (a future polled away
/// from that frame), until [`pop`].
pub(crate) fn push_shared(ids: SpanIds, inherited: Option<Arc<Inherited>>) {
    thread::with(|l| push(l, Frame::new(ids, inherited, Target::Unrecorded).sharing(true)));
}

/// Counts a span started (or ended) for the global pipeline of `generation` on this thread.
pub(crate) fn count(started: bool, generation: u64) {
    let counted = thread::with(|l| {
        FAST.with(|f| {
            if started {
                f.started(generation);
            } else {
                f.ended(generation);
            }
        });
        if l.peek().is_some_and(|inner| inner.frames.is_empty()) {
            FAST.with(|f| f.publish(l.shared()));
        }
    });
    if counted.is_none() {
        if let Some(pipeline) = route::global().filter(|p| p.generation == generation) {
            if started {
                pipeline.count_started();
            } else {
                pipeline.count_ended();
            }
        }
    }
}

/// Ends the span `span_id` started by [`enter`] or [`enter_current`] and pops its frame.
/// Out of line (a guard's drop stays a compare and a call), everything else inside.
#[inline(never)]
pub(crate) fn exit(span_id: SpanId) {
    // Read first when the span ending is recorded here: the clock's latency then overlaps
    // the bookkeeping below.
    let recorded = FAST.with(|f| f.top.get()) == Top::Recorded;
    let at = if recorded { clock::now() } else { clock::Ticks(0) };
    thread::with(|local| {
        let Some(mut inner) = local.inner() else { return };
        // A `Recorded` top frame owns nothing (`Top::of`): only its id needs checking.
        match pop_plain(&mut inner, span_id, recorded) {
            Some(target) => ended(local, &mut inner, span_id, target, recorded.then_some(at)),
            None => {
                drop(inner);
                exit_slow(local, span_id);
            }
        }
    });
}

/// [`exit`] for a frame that owns something, or that is not on top (guards dropped out of
/// order).
#[cold]
#[inline(never)]
fn exit_slow(local: &Local, span_id: SpanId) {
    let Some(mut inner) = local.inner() else { return };
    let Some(frame) = pop_frame(&mut inner, span_id) else {
        return;
    };
    ended(local, &mut inner, span_id, frame.target, None);
    drop(inner);
    // What a frame owns (inherited context, an OpenTelemetry guard) is dropped outside the
    // borrow: an OpenTelemetry context may hold values whose drop runs user code.
    drop(frame);
}

/// Counts the end of a span whose frame was just popped, and ends its record if it has one
/// (stores the end time; hands the buffer over when due).
#[inline(always)]
fn ended(local: &Local, inner: &mut Inner, span_id: SpanId, target: Target, at: Option<clock::Ticks>) {
    FAST.with(|f| f.ended_here());
    if let Target::Local(index) = target {
        let at = at.unwrap_or_else(clock::now);
        let shared = local.shared();
        if shared.has_mail() || std::thread::panicking() {
            end_unusual(shared, inner, span_id, index);
        }
        // A `Local` frame means this thread holds its buffer, and frames are repointed
        // whenever records move (hand-off, new generation): both hold, and are checked.
        if let Some(hold) = inner.hold.as_mut() {
            let records = &mut shared.buffer(hold).records;
            let len = records.len();
            debug_assert!(index < len, "a Local frame points into the buffer");
            if let Some(record) = records.get_mut(index) {
                record.finish(at);
            }
            if buffer::due(len, inner) {
                buffer::hand_off(shared, inner);
            }
        }
    }
    if inner.frames.is_empty() {
        buffer::stack_emptied(local.shared(), inner);
    }
}

/// Before a record ends: operations other threads left for it, a panic unwinding through it.
#[cold]
fn end_unusual(shared: &super::shared::ThreadShared, inner: &mut Inner, span_id: SpanId, index: usize) {
    buffer::apply_mail(shared, inner, Some((span_id, index)));
    if std::thread::panicking() {
        let record = inner
            .hold
            .as_mut()
            .and_then(|hold| shared.buffer(hold).records.get_mut(index));
        if let Some(record) = record {
            crate::engine::exception::record_panic(record);
        }
    }
}

/// Pops the top frame if it is `span_id`'s and owns nothing (no drop glue to run, the
/// common case): its target. `None`: the slow path ([`pop_frame`]) must do it. `owns_nothing`:
/// the caller knows the top frame owns nothing (its kind is [`Top::Recorded`]).
#[inline(always)]
fn pop_plain(inner: &mut Inner, span_id: SpanId, owns_nothing: bool) -> Option<Target> {
    let top = inner.frames.last()?;
    let owns = !owns_nothing && (top.inherited.is_some() || top.otel.is_some());
    if top.ids.span_id != span_id || owns {
        return None;
    }
    let target = top.target;
    let depth = inner.frames.len();
    // SAFETY: the rest of a frame is `Copy`; with nothing owned there is nothing to drop.
    unsafe { inner.frames.set_len(depth - 1) };
    inner.top_changed();
    Some(target)
}

/// Removes the frame of `span_id` (the top one, unless guards were dropped out of order).
fn pop_frame(inner: &mut Inner, span_id: SpanId) -> Option<Frame> {
    let frame = match inner.frames.last() {
        Some(top) if top.ids.span_id == span_id => inner.frames.pop()?,
        _ => {
            let at = inner.frames.iter().rposition(|f| f.ids.span_id == span_id)?;
            inner.frames.remove(at)
        }
    };
    inner.top_changed();
    Some(frame)
}

// ---- frames of spans recorded elsewhere (owned spans, futures) ----

/// Makes a span current on this thread.
pub(crate) fn push(local: &Local, mut frame: Frame) {
    bridge::attach(&mut frame);
    if let Some(mut inner) = local.inner() {
        inner.push(frame);
    }
}

/// Makes `handle`'s span current on this thread until [`pop`].
pub(crate) fn push_handle(handle: &Handle) {
    let target = match &handle.record {
        RecordRef::Unrecorded(_) => Target::Unrecorded,
        RecordRef::Thread(owner) => Target::Thread(*owner),
        RecordRef::Cell(cell) => Target::Cell(NonNull::from(&**cell)),
    };
    if bridge::on() {
        let frame = Frame::new(handle.ids, handle.inherited.clone(), target);
        thread::with(|l| push(l, frame));
        return;
    }
    thread::with(|l| {
        if let Some(mut inner) = l.inner() {
            inner.push_in_place(handle.ids, handle.inherited.clone(), target, false);
        }
    });
}

/// A frame [`push_kept`] pushed, and what keeps the record it points at alive: dropping it
/// takes the frame off this thread's stack (wherever it is by then), then lets the record go.
#[cfg(feature = "tracing")]
#[derive(Debug)]
pub(crate) struct Pushed {
    span_id: SpanId,
    _record: Option<Arc<super::cell::SpanCell>>,
}

#[cfg(feature = "tracing")]
impl Drop for Pushed {
    fn drop(&mut self) {
        pop(self.span_id);
    }
}

/// Makes `handle`'s span current on this thread for as long as the value returned lives: a
/// frame that cannot outlive its record, whoever ends the span meanwhile.
#[cfg(feature = "tracing")]
pub(crate) fn push_kept(handle: &Handle) -> Pushed {
    push_handle(handle);
    Pushed {
        span_id: handle.ids.span_id,
        _record: match &handle.record {
            RecordRef::Cell(cell) => Some(Arc::clone(cell)),
            RecordRef::Unrecorded(_) | RecordRef::Thread(_) => None,
        },
    }
}

/// Takes `span_id`'s frame off this thread's stack (pushed by [`push_handle`]).
pub(crate) fn pop(span_id: SpanId) {
    thread::with(|local| {
        let Some(mut inner) = local.inner() else { return };
        if pop_plain(&mut inner, span_id, false).is_none() {
            drop(inner);
            return pop_slow(local, span_id);
        }
        if inner.frames.is_empty() {
            buffer::stack_emptied(local.shared(), &mut inner);
        }
    });
}

/// [`pop`] for a frame that owns something, or that is not on top.
#[cold]
#[inline(never)]
fn pop_slow(local: &Local, span_id: SpanId) {
    let Some(mut inner) = local.inner() else { return };
    let Some(frame) = pop_frame(&mut inner, span_id) else {
        return;
    };
    if inner.frames.is_empty() {
        buffer::stack_emptied(local.shared(), &mut inner);
    }
    drop(inner);
    // Dropped outside the borrow, as in `exit_slow`.
    drop(frame);
}

// ---- operations on this thread's recorded spans ----

/// Runs `f` on the open record of this thread's sync span `span_id`.
pub(crate) fn with_record<T>(span_id: SpanId, f: impl FnOnce(&mut Record) -> T) -> Option<T> {
    thread::with(|local| {
        let mut inner = local.inner()?;
        let index = inner.local_index(span_id)?;
        let hold = inner.hold.as_mut()?;
        let record = local.shared().buffer(hold).records.get_mut(index)?;
        Some(f(record))
    })
    .flatten()
}

/// Moves this thread's open sync span `span_id` out of the buffer and off the stack (a
/// guard turning into an owned span).
pub(crate) fn take(span_id: SpanId) -> Option<Record> {
    thread::with(|local| {
        let mut inner = local.inner()?;
        let frame = pop_frame(&mut inner, span_id)?;
        let shared = local.shared();
        let record = match (frame.target, inner.hold.as_mut()) {
            (Target::Local(i), Some(hold)) => {
                let buffer = shared.buffer(hold);
                // The slot left behind is not exported.
                buffer.mixed = true;
                buffer
                    .records
                    .get_mut(i)
                    .map(|slot| std::mem::replace(slot, Record::moved()))
            }
            _ => None,
        };
        if inner.frames.is_empty() {
            buffer::stack_emptied(shared, &mut inner);
        }
        drop(inner);
        drop(frame);
        record
    })
    .flatten()
}
