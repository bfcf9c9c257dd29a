//! This thread's record buffer: taking it (once per outermost span), handing the ended
//! records to the pipeline's queue (every [`HANDOFF`] records, at a flush, when the export
//! thread ticks), and taking in records of spans that ended elsewhere.

use std::sync::atomic::{AtomicU64, Ordering};

use super::frame::{Frame, Target};
use super::ids::SpanId;
use super::record::Record;
use super::route::{self, RouteRef};
use super::shared::{Buffer, Op, ThreadShared};
use super::thread::{self, FAST, Inner, Local, local_index};

/// Ended records a thread keeps before handing them to the pipeline's queue.
pub(crate) const HANDOFF: usize = 64;

/// Bumped by the export thread on every scheduled tick and flush: a busy thread hands its
/// ended records over at its next span end when it sees a new value.
static EPOCH: AtomicU64 = AtomicU64::new(0);

pub(crate) fn bump_epoch() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// Whether the buffer is due for a hand-over (full, or the export thread asked).
#[inline]
pub(crate) fn due(records: usize, inner: &Inner) -> bool {
    records >= HANDOFF || EPOCH.load(Ordering::Relaxed) != inner.epoch
}

/// This thread's buffer for a record of pipeline `generation`, taken first if it is not
/// held yet (or holds another generation's records). One branch when it is held already.
#[inline(always)]
pub(crate) fn open<'a>(shared: &'a ThreadShared, inner: &'a mut Inner, generation: u64) -> &'a mut Buffer {
    let ready = inner
        .hold
        .as_ref()
        .is_some_and(|hold| shared.buffer_ref(hold).generation == generation);
    if !ready {
        take(shared, inner, generation);
    }
    // SAFETY: `hold` is `Some`: `ready` found it so, or `take` (below) has just made it so,
    // and nothing between touches it. (Checked instead, the check and its panic path make
    // every span's start keep its values in memory for unwinding.)
    let hold = unsafe { inner.hold.as_mut().unwrap_unchecked() };
    shared.buffer(hold)
}

/// Takes this thread's buffer for pipeline `generation` (the first record since the stack
/// emptied, or the first after a new `init()`). Leaves `inner.hold` set.
#[cold]
#[inline(never)]
fn take(shared: &ThreadShared, inner: &mut Inner, generation: u64) {
    if inner.hold.is_none() {
        inner.hold = Some(shared.acquire());
        if inner.spare.capacity() == 0 {
            inner.spare = Vec::with_capacity(HANDOFF);
        }
    }
    let Some(hold) = inner.hold.as_mut() else {
        return;
    };
    let buffer = shared.buffer(hold);
    let stale = buffer.generation != generation;
    if stale {
        buffer.records.clear();
        buffer.generation = generation;
        buffer.mixed = false;
    }
    if buffer.records.capacity() == 0 {
        buffer.records = std::mem::take(&mut inner.spare);
    }
    if stale {
        // The records of a pipeline that has shut down (a new one is installed). Its spans
        // still open here stay current, so their children keep the trace, but are no longer
        // recorded: a span is exported only by the pipeline that started it (whose service
        // and exporter it was started under), as owned spans are.
        for frame in inner.frames.iter_mut() {
            if let Target::Local(_) = frame.target {
                frame.target = Target::Unrecorded;
                frame.top = frame.kind();
            }
        }
        inner.top_changed();
    }
}

/// Puts a record into this thread's buffer, taking the buffer first if needed; its index.
#[inline(always)]
pub(crate) fn push(shared: &ThreadShared, inner: &mut Inner, generation: u64, record: Record) -> usize {
    let buffer = open(shared, inner, generation);
    buffer.mixed |= !record.sampled;
    buffer.records.push(record);
    buffer.records.len() - 1
}

/// Moves the records of open frames out of `records` into `into`, repointing the frames, so
/// `records` keeps ended records only (no slot left behind for the queue to skip). Open
/// spans are few: each is swap-removed, highest index first, so the indices still to take
/// do not move.
fn relocate_open(frames: &mut [Frame], records: &mut Vec<Record>, into: &mut Vec<Record>) {
    let mut open: Vec<(usize, usize)> = frames
        .iter()
        .enumerate()
        .filter_map(|(at, frame)| match frame.target {
            Target::Local(index) => Some((index, at)),
            _ => None,
        })
        .collect();
    open.sort_unstable_by_key(|&(index, _)| std::cmp::Reverse(index));
    for (index, at) in open {
        into.push(records.swap_remove(index));
        frames[at].target = Target::Local(into.len() - 1);
    }
}

/// Hands the ended records to the global pipeline's queue (or drops them when their
/// pipeline is gone), keeping the open ones.
#[cold]
pub(crate) fn hand_off(shared: &ThreadShared, inner: &mut Inner) {
    inner.epoch = EPOCH.load(Ordering::Relaxed);
    let Some(hold) = inner.hold.as_mut() else { return };
    let buffer = shared.buffer(hold);
    let mut fresh = std::mem::take(&mut inner.spare);
    if fresh.capacity() == 0 {
        fresh.reserve(HANDOFF);
    }
    relocate_open(&mut inner.frames, &mut buffer.records, &mut fresh);
    let mut full = std::mem::replace(&mut buffer.records, fresh);
    // The queue takes exportable records only.
    if std::mem::take(&mut buffer.mixed) {
        full.retain(Record::exportable);
    }
    inner.spare = match route::global().filter(|p| p.generation == buffer.generation) {
        Some(pipeline) => pipeline.exchange(full),
        None => {
            let mut full = full;
            full.clear();
            full
        }
    };
}

/// The stack is empty: publish the counts, give the buffer back.
#[cold]
pub(crate) fn stack_emptied(shared: &ThreadShared, inner: &mut Inner) {
    FAST.with(|f| f.publish(shared));
    if shared.has_mail() {
        // For spans that have ended (none is open now): posted as they ended.
        drop(shared.take_mail());
    }
    if let Some(hold) = inner.hold.take() {
        shared.release(hold);
    }
}

/// Applies operations other threads left for this thread's open spans (`ending`: the span
/// whose frame was just popped).
#[cold]
pub(crate) fn apply_mail(shared: &ThreadShared, inner: &mut Inner, ending: Option<(SpanId, usize)>) {
    let Some(mail) = shared.take_mail() else { return };
    let Some(hold) = inner.hold.as_mut() else { return };
    let records = &mut shared.buffer(hold).records;
    for (span_id, op) in mail {
        let index = local_index(&inner.frames, span_id)
            .or_else(|| ending.filter(|(id, _)| *id == span_id).map(|(_, i)| i));
        if let Some(record) = index.and_then(|i| records.get_mut(i)) {
            super::handle::apply(record, op);
        }
    }
}

/// Hands an ended record to its pipeline: through this thread's buffer for the global
/// pipeline, straight to the queue for another (or when this thread is exiting).
pub(crate) fn deliver(pipeline: &RouteRef, record: Record) {
    let generation = pipeline.generation;
    let mut slot = Some(record);
    if let RouteRef::Global(p) = pipeline {
        if p.is_active() {
            thread::with(|local| {
                if let Some(record) = slot.take() {
                    slot = buffer_ended(local, generation, record);
                }
            });
        }
    }
    // Another pipeline's, or this thread cannot take it (exiting, or inside the engine).
    if let Some(record) = slot {
        pipeline.push(record);
    }
}

/// Puts an ended record into this thread's buffer; gives it back if the engine is busy on
/// this thread (re-entrancy).
fn buffer_ended(local: &Local, generation: u64, record: Record) -> Option<Record> {
    let shared = local.shared();
    let Some(mut inner) = local.inner() else {
        return Some(record);
    };
    FAST.with(|f| f.ended(generation));
    let index = push(shared, &mut inner, generation, record);
    if due(index + 1, &inner) {
        hand_off(shared, &mut inner);
    }
    if inner.frames.is_empty() {
        stack_emptied(shared, &mut inner);
    }
    None
}

/// Hands this thread's ended records over now (`force_flush` on this thread).
pub(crate) fn flush_this_thread() {
    thread::with(|local| {
        let Some(shared) = local.registered() else { return };
        let Some(mut inner) = local.inner() else { return };
        let held = inner.hold.is_some();
        if !held {
            inner.hold = Some(shared.acquire());
        }
        hand_off(shared, &mut inner);
        if !held {
            if let Some(hold) = inner.hold.take() {
                shared.release(hold);
            }
        }
    });
}

/// An operation to leave for the thread `owner` (another thread's span).
pub(crate) fn post(owner: u64, span_id: SpanId, op: Op) {
    if let Some(thread) = super::registry::find(owner) {
        thread.post(span_id, op);
    }
}
