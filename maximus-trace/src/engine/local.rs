//! The per-thread half of the engine: the stack of current spans (frames), the id
//! generator, and the buffer that sampled spans are recorded into.
//!
//! A sync span's record is written once, into this thread's buffer, when the span starts;
//! its frame remembers the index; ending it stores the end time. Every 64 records, at a
//! flush, or when the export thread's clock ticks, the ended records go to the pipeline's
//! queue in one move. Nothing here locks or allocates per span (the buffer is reused).

use std::cell::{OnceCell, RefCell, RefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::bridge;
use super::clock;
use super::frame::{Frame, Inherited, Parent, Target};
use super::handle::{Handle, RecordRef};
use super::ids::{IdGenerator, SpanId, SpanIds};
use super::record::Record;
use super::registry;
use super::shared::{Op, ThreadShared};
use super::start::{Begin, decide};
use crate::pipeline::{self, Pipeline, PipelineRef};

/// Ended records a thread keeps before handing them to the pipeline's queue.
pub(crate) const HANDOFF: usize = 64;

/// Bumped by the export thread on every scheduled tick and flush: a busy thread hands its
/// ended records over at its next span end when it sees a new value.
static EPOCH: AtomicU64 = AtomicU64::new(0);

pub(crate) fn bump_epoch() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}

struct Local {
    shared: OnceCell<Arc<ThreadShared>>,
    inner: RefCell<Inner>,
}

struct Inner {
    frames: Vec<Frame>,
    ids: IdGenerator,
    /// This thread holds its buffer (from its first record until its stack empties).
    busy: bool,
    epoch: u64,
    /// An empty buffer, ready to replace the one handed over.
    spare: Vec<Record>,
}

thread_local! {
    static LOCAL: Local = Local {
        shared: OnceCell::new(),
        inner: RefCell::new(Inner {
            frames: Vec::new(),
            ids: IdGenerator::new(),
            busy: false,
            epoch: EPOCH.load(Ordering::Relaxed),
            spare: Vec::new(),
        }),
    };
}

impl Local {
    fn shared(&self) -> &Arc<ThreadShared> {
        self.shared.get_or_init(registry::register)
    }

    /// The state, unless this thread is already inside the engine (a logger or a `Drop`
    /// that makes spans while we work): such re-entrant spans are not recorded.
    fn inner(&self) -> Option<RefMut<'_, Inner>> {
        self.inner.try_borrow_mut().ok()
    }
}

impl Drop for Local {
    /// The thread is exiting: its ended records go to the queue, its counters to the
    /// pipeline, and it leaves the registry.
    fn drop(&mut self) {
        let Some(shared) = self.shared.get() else { return };
        let inner = self.inner.get_mut();
        if !inner.busy {
            shared.acquire();
        }
        inner.frames.clear();
        // SAFETY: acquired above (or held since the last record), on the owning thread.
        let buffer = unsafe { shared.buffer() };
        let records = std::mem::take(&mut buffer.records);
        shared.release();
        if let Some(pipeline) = pipeline::global() {
            if pipeline.generation == buffer.generation
                && records.iter().any(|r| r.state == super::record::State::Done)
            {
                drop(pipeline.exchange(records));
            }
            let (started, ended) = shared.counters(pipeline.generation);
            pipeline.retire_counts(started, ended);
        }
        registry::unregister(shared.token);
    }
}

/// This thread's token, as span handles name their owner.
pub(crate) fn token() -> Option<u64> {
    LOCAL.try_with(|l| l.shared().token).ok()
}

// ---- reading the current span ----

/// The span a new span hangs under by default: the current frame, else (when bridging) the
/// OpenTelemetry context's span.
pub(crate) fn parent() -> Option<Parent> {
    let top = LOCAL
        .try_with(|l| {
            let inner = l.inner.try_borrow().ok()?;
            inner.frames.last().map(|f| Parent {
                ids: f.ids,
                inherited: f.inherited.clone(),
            })
        })
        .ok()
        .flatten();
    top.or_else(bridge::otel_parent)
}

/// The ids of the current span.
pub(crate) fn current_ids() -> Option<SpanIds> {
    LOCAL
        .try_with(|l| l.inner.try_borrow().ok()?.frames.last().map(|f| f.ids))
        .ok()
        .flatten()
}

/// A handle on the current span, for `Span::current()`.
pub(crate) fn current() -> Option<Handle> {
    LOCAL
        .try_with(|l| {
            let inner = l.inner.try_borrow().ok()?;
            let frame = inner.frames.last()?;
            let record = match frame.target {
                Target::Unrecorded => RecordRef::Unrecorded(None),
                Target::Local(_) => RecordRef::Thread(l.shared().token),
                Target::Thread(owner) => RecordRef::Thread(owner),
                // SAFETY: the frame's pusher keeps the `Arc` alive while the frame exists.
                Target::Cell(ptr) => RecordRef::Cell(unsafe {
                    Arc::increment_strong_count(ptr.as_ptr());
                    Arc::from_raw(ptr.as_ptr())
                }),
            };
            Some(Handle {
                ids: frame.ids,
                inherited: frame.inherited.clone(),
                record,
            })
        })
        .ok()
        .flatten()
}

// ---- sync spans: recorded into this thread's buffer ----

/// Starts a span of the global pipeline and makes it current: what `span!` and a sync
/// `#[trace_span]` run (`parent: None`: under the current span), and `SpanBuilder::entered`.
/// `None` inside the engine or at thread exit.
#[inline]
pub(crate) fn enter<I>(
    pipeline: &'static Pipeline,
    parent: Option<(Option<Parent>, Option<Arc<Inherited>>)>,
    name: super::small_str::SmallStr,
    kind: crate::SpanKind,
    attributes: impl FnOnce() -> I,
    links: Vec<super::record::LinkRecord>,
) -> Option<Handle>
where
    I: IntoIterator<Item = crate::KeyValue>,
{
    LOCAL
        .try_with(|local| {
            let shared = local.shared();
            let (parent, root_inherited, ids) = {
                let mut inner = local.inner()?;
                let (parent, root_inherited) = match parent {
                    Some(given) => given,
                    None => match inner.frames.last() {
                        Some(f) => (
                            Some(Parent {
                                ids: f.ids,
                                inherited: f.inherited.clone(),
                            }),
                            None,
                        ),
                        None => (bridge::otel_parent(), None),
                    },
                };
                let ids = new_ids(&mut inner.ids, parent.as_ref());
                (parent, root_inherited, ids)
            };
            shared.count_started(pipeline.generation);
            let begun = match decide(
                pipeline,
                parent,
                root_inherited,
                ids,
                name,
                kind,
                attributes,
                links,
            ) {
                Begin::Unrecorded(ids, inherited) => {
                    push(local, Frame::new(ids, inherited.clone(), Target::Unrecorded));
                    return Some(Handle::unrecorded(ids, inherited));
                }
                Begin::Recorded(begun) => begun,
            };
            let (ids, inherited) = (begun.ids, begun.inherited.clone());
            let at = clock::now();
            let mut frame = Frame::new(ids, inherited.clone(), Target::Unrecorded);
            bridge::attach(&mut frame);
            let mut inner = local.inner()?;
            let index = record(
                shared,
                &mut inner,
                pipeline.generation,
                Record::start(begun.start, at),
            );
            frame.target = Target::Local(index);
            inner.frames.push(frame);
            drop(inner);
            Some(Handle {
                ids,
                inherited,
                record: RecordRef::Thread(shared.token),
            })
        })
        .ok()
        .flatten()
}

/// Trace id from the parent (or new), a new span id.
#[inline]
pub(crate) fn new_ids(generator: &mut IdGenerator, parent: Option<&Parent>) -> SpanIds {
    let trace_id = match parent {
        Some(p) => p.ids.trace_id,
        None => generator.trace_id(),
    };
    SpanIds {
        trace_id,
        span_id: generator.span_id(),
        sampled: false,
        remote: false,
    }
}

/// New ids for a span started outside [`enter`] (a builder or a future).
pub(crate) fn generate_ids(parent: Option<&Parent>) -> SpanIds {
    LOCAL
        .try_with(|l| match l.inner() {
            Some(mut inner) => new_ids(&mut inner.ids, parent),
            None => new_ids(&mut IdGenerator::new(), parent),
        })
        .unwrap_or_else(|_| new_ids(&mut IdGenerator::new(), parent))
}

/// Counts a span started (or ended) for the global pipeline on this thread.
pub(crate) fn count(started: bool, generation: u64) {
    let _ = LOCAL.try_with(|l| {
        let shared = l.shared();
        if started {
            shared.count_started(generation);
        } else {
            shared.count_ended(generation);
        }
    });
}

/// Puts a record into this thread's buffer, taking the buffer first if needed; its index.
fn record(shared: &ThreadShared, inner: &mut Inner, generation: u64, record: Record) -> usize {
    if !inner.busy {
        shared.acquire();
        inner.busy = true;
        if inner.spare.capacity() == 0 {
            inner.spare = Vec::with_capacity(HANDOFF);
        }
    }
    // SAFETY: held since `acquire` (here or earlier in this session), on the owning thread.
    let buffer = unsafe { shared.buffer() };
    if buffer.generation != generation {
        adopt_generation(inner, &mut buffer.records, generation);
        buffer.generation = generation;
    }
    if buffer.records.capacity() == 0 {
        buffer.records = std::mem::take(&mut inner.spare);
    }
    buffer.records.push(record);
    buffer.records.len() - 1
}

/// The buffer holds another pipeline's records: keep the open ones (their frames point at
/// them), drop the ended ones (that pipeline has shut down).
#[cold]
fn adopt_generation(inner: &mut Inner, records: &mut Vec<Record>, _generation: u64) {
    let mut kept = Vec::with_capacity(HANDOFF);
    relocate_open(&mut inner.frames, records, &mut kept);
    *records = kept;
}

/// Moves the records of open frames from `records` into `into`, repointing the frames.
fn relocate_open(frames: &mut [Frame], records: &mut [Record], into: &mut Vec<Record>) {
    for frame in frames {
        if let Target::Local(i) = frame.target {
            into.push(std::mem::replace(&mut records[i], Record::moved()));
            frame.target = Target::Local(into.len() - 1);
        }
    }
}

/// Ends the sync span `span_id` of this thread and pops its frame.
#[inline]
pub(crate) fn exit(span_id: SpanId) {
    let at = clock::now();
    let _ = LOCAL.try_with(|local| {
        let Some(mut inner) = local.inner() else { return };
        let Some(frame) = pop_frame(&mut inner, span_id) else {
            return;
        };
        let shared = local.shared();
        shared.count_ended(pipeline::global_generation());
        if let Target::Local(i) = frame.target {
            // SAFETY: a `Local` frame exists, so this thread holds its buffer.
            let buffer = unsafe { shared.buffer() };
            if let Some(mail) = shared.take_mail() {
                apply_mail(&inner.frames, &mut buffer.records, mail, Some((span_id, i)));
            }
            let record = &mut buffer.records[i];
            if std::thread::panicking() {
                crate::error::record_panic(record);
            }
            record.finish(at);
            if buffer.records.len() >= HANDOFF || EPOCH.load(Ordering::Relaxed) != inner.epoch {
                hand_off(shared, &mut inner);
            }
        }
        after_pop(shared, &mut inner, frame);
    });
}

/// Removes the frame of `span_id` (the top one, unless guards were dropped out of order).
#[inline]
fn pop_frame(inner: &mut Inner, span_id: SpanId) -> Option<Frame> {
    match inner.frames.last() {
        Some(top) if top.ids.span_id == span_id => inner.frames.pop(),
        _ => {
            let at = inner.frames.iter().rposition(|f| f.ids.span_id == span_id)?;
            Some(inner.frames.remove(at))
        }
    }
}

/// After a frame left the stack: give the buffer back once the stack is empty.
#[inline]
fn after_pop(shared: &ThreadShared, inner: &mut Inner, frame: Frame) {
    if inner.frames.is_empty() && inner.busy {
        inner.busy = false;
        shared.release();
    }
    if frame.otel.is_some() {
        bridge::detach(frame);
    }
}

/// Hands the ended records to the global pipeline's queue (or drops them when their
/// pipeline is gone), keeping the open ones.
#[cold]
fn hand_off(shared: &ThreadShared, inner: &mut Inner) {
    inner.epoch = EPOCH.load(Ordering::Relaxed);
    // SAFETY: called with the buffer held.
    let buffer = unsafe { shared.buffer() };
    let mut fresh = std::mem::take(&mut inner.spare);
    if fresh.capacity() == 0 {
        fresh.reserve(HANDOFF);
    }
    relocate_open(&mut inner.frames, &mut buffer.records, &mut fresh);
    let full = std::mem::replace(&mut buffer.records, fresh);
    inner.spare = match pipeline::global().filter(|p| p.generation == buffer.generation) {
        Some(pipeline) => pipeline.exchange(full),
        None => {
            let mut full = full;
            full.clear();
            full
        }
    };
}

/// Applies operations other threads left for this thread's open spans.
#[cold]
fn apply_mail(
    frames: &[Frame],
    records: &mut [Record],
    mail: Vec<(SpanId, Op)>,
    ending: Option<(SpanId, usize)>,
) {
    for (span_id, op) in mail {
        let index = frames
            .iter()
            .rev()
            .find_map(|f| match f.target {
                Target::Local(i) if f.ids.span_id == span_id => Some(i),
                _ => None,
            })
            .or_else(|| ending.filter(|(id, _)| *id == span_id).map(|(_, i)| i));
        if let Some(i) = index {
            super::handle::apply(&mut records[i], op);
        }
    }
}

// ---- frames of spans recorded elsewhere (owned spans, futures) ----

impl Frame {
    pub(crate) fn new(ids: SpanIds, inherited: Option<Arc<Inherited>>, target: Target) -> Self {
        Frame {
            ids,
            inherited,
            target,
            otel: None,
        }
    }
}

/// Makes a span current on this thread.
fn push(local_frame: &Local, mut frame: Frame) {
    bridge::attach(&mut frame);
    if let Some(mut inner) = local_frame.inner() {
        inner.frames.push(frame);
    }
}

/// Makes `handle`'s span current on this thread until [`pop`].
pub(crate) fn push_handle(handle: &Handle) {
    let target = match &handle.record {
        RecordRef::Unrecorded(_) => Target::Unrecorded,
        RecordRef::Thread(owner) => Target::Thread(*owner),
        RecordRef::Cell(cell) => Target::Cell(std::ptr::NonNull::from(&**cell)),
    };
    let frame = Frame::new(handle.ids, handle.inherited.clone(), target);
    let _ = LOCAL.try_with(|l| push(l, frame));
}

/// Takes `span_id`'s frame off this thread's stack (pushed by [`push_handle`]).
pub(crate) fn pop(span_id: SpanId) {
    let _ = LOCAL.try_with(|local| {
        let Some(mut inner) = local.inner() else { return };
        if let Some(frame) = pop_frame(&mut inner, span_id) {
            let shared = local.shared();
            after_pop(shared, &mut inner, frame);
        }
    });
}

// ---- operations on this thread's recorded spans ----

/// Runs `f` on the open record of this thread's sync span `span_id`.
pub(crate) fn with_record<T>(span_id: SpanId, f: impl FnOnce(&mut Record) -> T) -> Option<T> {
    LOCAL
        .try_with(|local| {
            let inner = local.inner()?;
            let index = find_local(&inner.frames, span_id)?;
            // SAFETY: a `Local` frame exists, so this thread holds its buffer.
            let buffer = unsafe { local.shared().buffer() };
            Some(f(&mut buffer.records[index]))
        })
        .ok()
        .flatten()
}

fn find_local(frames: &[Frame], span_id: SpanId) -> Option<usize> {
    frames.iter().rev().find_map(|f| match f.target {
        Target::Local(i) if f.ids.span_id == span_id => Some(i),
        _ => None,
    })
}

/// Moves this thread's open sync span `span_id` out of the buffer and off the stack (a
/// guard turning into an owned span).
pub(crate) fn take(span_id: SpanId) -> Option<Record> {
    LOCAL
        .try_with(|local| {
            let mut inner = local.inner()?;
            let frame = pop_frame(&mut inner, span_id)?;
            let shared = local.shared();
            let record = match frame.target {
                // SAFETY: the frame was `Local`, so this thread holds its buffer.
                Target::Local(i) => Some(std::mem::replace(
                    &mut unsafe { shared.buffer() }.records[i],
                    Record::moved(),
                )),
                _ => None,
            };
            after_pop(shared, &mut inner, frame);
            record
        })
        .ok()
        .flatten()
}

// ---- records ended elsewhere ----

/// Hands an ended record to its pipeline: through this thread's buffer for the global
/// pipeline, straight to the queue for another (or when this thread is exiting).
pub(crate) fn deliver(pipeline: &PipelineRef, record: Record) {
    let generation = pipeline.generation;
    let mut slot = Some(record);
    if let PipelineRef::Global(p) = pipeline {
        if p.is_active() {
            let _ = LOCAL.try_with(|local| {
                if let Some(record) = slot.take() {
                    slot = buffer_ended(local, generation, record);
                }
            });
        }
    }
    // Another pipeline's, or this thread cannot take it (exiting, or inside the engine).
    if let Some(record) = slot {
        pipeline.push(record, true);
    }
}

/// Puts an ended record into this thread's buffer; gives it back if the engine is busy on
/// this thread (re-entrancy).
fn buffer_ended(local: &Local, generation: u64, record: Record) -> Option<Record> {
    let Some(mut inner) = local.inner() else {
        return Some(record);
    };
    let shared = local.shared();
    shared.count_ended(generation);
    let len = {
        let index = self::record(shared, &mut inner, generation, record);
        index + 1
    };
    if len >= HANDOFF || EPOCH.load(Ordering::Relaxed) != inner.epoch {
        hand_off(shared, &mut inner);
    }
    if inner.frames.is_empty() {
        inner.busy = false;
        shared.release();
    }
    None
}

/// Hands this thread's ended records over now (`force_flush` on this thread).
pub(crate) fn flush_this_thread() {
    let _ = LOCAL.try_with(|local| {
        let Some(shared) = local.shared.get() else { return };
        let Some(mut inner) = local.inner() else { return };
        let held = inner.busy;
        if !held {
            shared.acquire();
            inner.busy = true;
        }
        hand_off(shared, &mut inner);
        if !held {
            inner.busy = false;
            shared.release();
        }
    });
}
