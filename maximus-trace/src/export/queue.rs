//! The export queue between the application's threads and the export thread.
//!
//! Threads hand over ended records in chunks (a whole thread buffer at a time), so the
//! queue's lock is taken once per 64 spans, not per span. The records waiting and being
//! exported may hold at most `max_queue_bytes` (and, when set, number `max_queue_size`);
//! what exceeds it is dropped and counted, so memory stays bounded under any load. The
//! queue also carries the export thread's orders (flush, shut down, each with the deadline
//! its caller waits until) and reports their completion.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::convert::Converter;
use crate::config::BatchSettings;
use crate::engine::Record;
use crate::engine::buffer::HANDOFF;
use crate::stats::Counters;

/// Empty buffers kept for threads to reuse (a thread buffer's worth of capacity each).
pub(crate) const POOL: usize = 16;

#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    /// The most records that may wait, when a count is set.
    max_records: Option<usize>,
    /// The most bytes that records waiting or being exported may hold.
    max_bytes: usize,
    /// Records waiting at which a hand-over wakes the export thread early: a full batch.
    wake_at: usize,
    /// Wakes the export thread: a full batch, a flush, a shutdown.
    wake: Condvar,
    /// Wakes callers waiting for a flush or the shutdown to complete.
    progress: Condvar,
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct State {
    chunks: VecDeque<Vec<Record>>,
    /// Exportable records in `chunks`.
    pending: usize,
    /// Records admitted and not exported yet (in `chunks` or with the export thread), and
    /// what they hold: what the budget bounds.
    held: usize,
    held_bytes: usize,
    pool: Vec<Vec<Record>>,
    flush_requested: u64,
    /// The latest flush request the export thread has finished a round for.
    flush_completed: u64,
    /// The latest flush request whose round ended with every batch's outcome counted.
    flush_delivered: u64,
    /// The deadline of the latest flush request (the export thread waits for posts still
    /// out until then).
    flush_by: Option<Instant>,
    /// Set by the shutdown: the deadline it waits until.
    shutdown_by: Option<Instant>,
    /// The export thread has stopped: whether every batch had its outcome counted.
    finished: Option<Completeness>,
    /// The export thread is waiting for work (a hand-over that fills a batch wakes it).
    sleeping: bool,
}

/// Whether the export thread stopped with every batch's outcome counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Completeness {
    /// Every span handed to the exporter was counted exported or failed.
    Complete,
    /// Some were still out when the shutdown's deadline came.
    Incomplete,
}

impl Queue {
    pub(crate) fn new(batch: &BatchSettings, counters: Arc<Counters>) -> Self {
        let max_records = batch.max_queue_size.map(|n| n.max(1));
        Queue {
            state: Mutex::new(State::default()),
            max_records,
            max_bytes: batch.max_queue_bytes.max(1),
            wake_at: batch
                .max_export_batch_size
                .clamp(1, max_records.unwrap_or(usize::MAX)),
            wake: Condvar::new(),
            progress: Condvar::new(),
            counters,
        }
    }

    /// The pipeline's counters (the queue counts drops; the export thread, exports).
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a thread's buffer of exportable records (the engine filters what will not be
    /// exported) and gives an empty buffer back.
    pub(crate) fn exchange(&self, mut chunk: Vec<Record>) -> Vec<Record> {
        // Only what will be exported enters the queue, so `pending` counts every record it
        // holds.
        debug_assert!(
            chunk.iter().all(Record::exportable),
            "thread buffers hand over exportable records"
        );
        if chunk.is_empty() {
            return chunk;
        }
        // One fact per record, folded without branches: the sizes are walked only when a
        // record owns heap memory.
        let any_heap = chunk.iter().fold(0, |heap, record| heap | record.heap_word()) != 0;
        let bytes = match any_heap {
            true => Record::retained_bytes_of(&chunk),
            false => chunk.len() * std::mem::size_of::<Record>(),
        };
        let mut state = self.lock();
        self.admit(&mut state, &mut chunk, bytes);
        let spare = if chunk.is_empty() {
            Some(chunk)
        } else {
            state.chunks.push_back(chunk);
            state.pool.pop()
        };
        self.wake_if_due(&mut state);
        drop(state);
        spare.unwrap_or_else(|| Vec::with_capacity(HANDOFF))
    }

    /// Takes one ended record (a span that did not end in a thread buffer).
    pub(crate) fn push(&self, record: Record) {
        if !Converter::exports(&record) {
            return;
        }
        let bytes = record.retained_bytes();
        let mut state = self.lock();
        if state.shutdown_by.is_some() {
            self.counters.dropped_after_shutdown(1);
            return;
        }
        if !self.has_room(&state, 1, bytes) {
            self.counters.dropped_queue_full(1);
            return;
        }
        state.pending += 1;
        state.held += 1;
        state.held_bytes += bytes;
        self.counters.admitted(1);
        match state.chunks.back_mut().filter(|c| c.len() < c.capacity()) {
            Some(chunk) => chunk.push(record),
            None => {
                let mut chunk = state.pool.pop().unwrap_or_else(|| Vec::with_capacity(HANDOFF));
                chunk.push(record);
                state.chunks.push_back(chunk);
            }
        }
        self.wake_if_due(&mut state);
    }

    /// Whether `records` more holding `bytes` fit.
    fn has_room(&self, state: &State, records: usize, bytes: usize) -> bool {
        self.max_records.is_none_or(|max| state.held + records <= max)
            && state.held_bytes + bytes <= self.max_bytes
    }

    /// Counts `chunk` (exportable records only, holding `bytes`) in, dropping (and counting)
    /// what exceeds the budget, or all of it after shutdown (counted apart). The oldest spans
    /// of the chunk are kept.
    fn admit(&self, state: &mut State, chunk: &mut Vec<Record>, bytes: usize) {
        if state.shutdown_by.is_some() {
            self.counters.dropped_after_shutdown(chunk.len());
            chunk.clear();
            return;
        }
        let bytes = if self.has_room(state, chunk.len(), bytes) {
            bytes
        } else {
            self.admit_part(state, chunk)
        };
        state.pending += chunk.len();
        state.held += chunk.len();
        state.held_bytes += bytes;
        self.counters.admitted(chunk.len());
    }

    /// Keeps the chunk's first records that fit; the bytes they hold.
    #[cold]
    fn admit_part(&self, state: &State, chunk: &mut Vec<Record>) -> usize {
        let mut kept = 0;
        let mut bytes = 0;
        for record in chunk.iter() {
            let size = record.retained_bytes();
            if !self.has_room(state, kept + 1, bytes + size) {
                break;
            }
            kept += 1;
            bytes += size;
        }
        self.counters.dropped_queue_full(chunk.len() - kept);
        chunk.truncate(kept);
        bytes
    }

    /// Records the export thread took from elsewhere (idle threads' buffers): held, outside
    /// the budget (at most a thread buffer per thread).
    pub(crate) fn hold(&self, records: usize, bytes: usize) {
        let mut state = self.lock();
        state.held += records;
        state.held_bytes += bytes;
        self.counters.admitted(records);
    }

    /// Records handed to the exporter, and the bytes they held.
    pub(crate) fn release(&self, records: usize, bytes: usize) {
        let mut state = self.lock();
        state.held = state.held.saturating_sub(records);
        state.held_bytes = state.held_bytes.saturating_sub(bytes);
    }

    fn wake_if_due(&self, state: &mut State) {
        if state.sleeping && state.pending >= self.wake_at {
            state.sleeping = false;
            self.wake.notify_one();
        }
    }

    /// Asks the export thread to export everything handed over before this call, waiting
    /// for posts still out until `deadline`. The request's number, or `None` when the export
    /// thread has stopped.
    pub(crate) fn request_flush(&self, deadline: Instant) -> Option<u64> {
        let mut state = self.lock();
        if state.finished.is_some() || state.shutdown_by.is_some() {
            return None;
        }
        state.flush_requested += 1;
        state.flush_by = Some(deadline);
        self.wake.notify_one();
        Some(state.flush_requested)
    }

    /// Whether flush request `target` has delivered everything (or the export thread has
    /// stopped).
    pub(crate) fn is_flushed(&self, target: u64) -> bool {
        let state = self.lock();
        state.flush_delivered >= target || state.finished.is_some()
    }

    /// Waits (until `deadline` at most) for flush request `target` to deliver everything.
    /// `Err` with the time waited when it has not by then.
    pub(crate) fn wait_flushed(&self, target: u64, deadline: Instant) -> Result<(), Duration> {
        let began = Instant::now();
        let state = self.lock();
        let state = self.wait_for(state, deadline, |s| {
            s.flush_completed >= target || s.finished.is_some()
        })?;
        match state.flush_delivered >= target || state.finished.is_some() {
            true => Ok(()),
            false => Err(began.elapsed()),
        }
    }

    /// Stops admitting records and tells the export thread to export what is left and shut
    /// the exporter down, by `deadline`. `false` when a shutdown had begun already.
    pub(crate) fn begin_shutdown(&self, deadline: Instant) -> bool {
        let mut state = self.lock();
        if state.shutdown_by.is_some() {
            return false;
        }
        state.shutdown_by = Some(deadline);
        self.wake.notify_one();
        true
    }

    /// Waits (until `deadline` at most) for the export thread to stop; how complete its
    /// work was, or `Err` with the time waited when it has not stopped by then.
    pub(crate) fn wait_finished(&self, deadline: Instant) -> Result<Completeness, Duration> {
        let state = self.lock();
        let state = self.wait_for(state, deadline, |s| s.finished.is_some())?;
        Ok(state.finished.unwrap_or(Completeness::Incomplete))
    }

    fn wait_for<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        deadline: Instant,
        done: impl Fn(&State) -> bool,
    ) -> Result<MutexGuard<'a, State>, Duration> {
        let began = Instant::now();
        while !done(&state) {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Err(began.elapsed());
            };
            state = self
                .progress
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(state)
    }
}

/// Why the export thread woke up.
pub(crate) struct Work {
    pub chunks: Vec<Vec<Record>>,
    /// Collect from idle threads and export everything (a tick, a flush, a shutdown).
    pub sweep: bool,
    /// The flush request this round completes and its deadline, if any.
    pub flush: Option<(u64, Instant)>,
    /// The shutdown's deadline, once it has begun: this round is the last.
    pub shutdown: Option<Instant>,
}

impl Queue {
    /// Waits for a full batch, a flush, a shutdown or the schedule delay; takes everything
    /// that waits (the budget counts it until it is exported: taking it frees no room).
    pub(crate) fn next_work(&self, batch: &BatchSettings) -> Work {
        let mut state = self.lock();
        let deadline = Instant::now() + batch.schedule_delay;
        let mut tick = false;
        loop {
            let urgent = state.pending >= self.wake_at
                || state.flush_requested > state.flush_completed
                || state.shutdown_by.is_some();
            if urgent {
                break;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                tick = true;
                break;
            };
            state.sleeping = true;
            state = self
                .wake
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            state.sleeping = false;
        }
        let flush = (state.flush_requested > state.flush_completed)
            .then(|| (state.flush_requested, state.flush_by.unwrap_or_else(Instant::now)));
        let sweep = tick || flush.is_some() || state.shutdown_by.is_some();
        let chunks: Vec<Vec<Record>> = state.chunks.drain(..).collect();
        state.pending = 0;
        Work {
            chunks,
            sweep,
            flush,
            shutdown: state.shutdown_by,
        }
    }

    /// The export thread has finished a round for flush request `flush` (if any), with
    /// every batch's outcome counted or not.
    pub(crate) fn round_done(&self, flush: Option<u64>, completeness: Completeness) {
        if let Some(target) = flush {
            let mut state = self.lock();
            state.flush_completed = state.flush_completed.max(target);
            if completeness == Completeness::Complete {
                state.flush_delivered = state.flush_delivered.max(target);
            }
        }
        self.progress.notify_all();
    }

    /// The export thread has stopped.
    pub(crate) fn finished(&self, completeness: Completeness) {
        let mut state = self.lock();
        state.chunks.clear();
        state.pool = Vec::new();
        state.pending = 0;
        state.held = 0;
        state.held_bytes = 0;
        state.finished = Some(completeness);
        drop(state);
        self.progress.notify_all();
    }

    /// Buffers for stealing from idle threads (so they get their capacity back).
    pub(crate) fn spares(&self, n: usize) -> Vec<Vec<Record>> {
        let mut state = self.lock();
        let keep = state.pool.len().saturating_sub(n);
        state.pool.split_off(keep)
    }

    /// Emptied buffers back into the pool (beyond its size they are freed).
    pub(crate) fn recycle(&self, buffers: impl IntoIterator<Item = Vec<Record>>) {
        let mut state = self.lock();
        for mut buffer in buffers {
            if state.pool.len() >= POOL || buffer.capacity() < HANDOFF {
                continue;
            }
            buffer.clear();
            state.pool.push(buffer);
        }
    }
}
