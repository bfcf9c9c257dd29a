//! The export queue between the application's threads and the export thread.
//!
//! Threads hand over ended records in chunks (a whole thread buffer at a time), so the
//! queue's lock is taken once per 64 spans, not per span. The records waiting and being
//! exported may hold at most `max_queue_bytes` (and, when set, `max_queue_size` may wait);
//! what exceeds it is dropped and counted, so memory stays bounded under any load. The
//! export thread takes a batch at a time, collects the ended spans of idle threads on every
//! tick and flush, converts records to `SpanData`, shows each batch to the observers (span
//! metrics), and hands it to the exporter. A panicking exporter costs its batch, not the
//! thread.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::convert::Converter;
use crate::config::BatchSettings;
use crate::engine::buffer::HANDOFF;
use crate::engine::local;
use crate::engine::{Record, registry};
use crate::stats::Counters;

/// Sees every batch on the export thread before the exporter does (span metrics).
pub(crate) trait BatchObserver: Send + Sync {
    /// Called with each batch, off the application's threads.
    fn observe(&self, batch: &[SpanData]);
}

/// Empty buffers kept for threads to reuse (a thread buffer's worth of capacity each).
const POOL: usize = 16;

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
    /// What the records admitted and not exported yet (in `chunks` or with the export
    /// thread) hold: what the byte budget bounds.
    held_bytes: usize,
    pool: Vec<Vec<Record>>,
    flush_requested: u64,
    flush_completed: u64,
    shutdown: bool,
    finished: bool,
    /// The export thread is waiting for work (a hand-over that fills a batch wakes it).
    sleeping: bool,
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

    /// Takes a thread's buffer of records (ended ones exported, others skipped) and gives an
    /// empty buffer back.
    pub(crate) fn exchange(&self, mut chunk: Vec<Record>) -> Vec<Record> {
        // Only what will be exported enters the queue, so `pending` counts every record it
        // holds (a slot left by a span still open, kept here, would be memory nobody counts).
        // A scan first (sizing the chunk too): usually every record is exportable, and
        // `retain` costs twice a scan.
        let mut bytes = 0;
        let mut all = true;
        for record in &chunk {
            all &= Converter::exports(record);
            bytes += record.retained_bytes();
        }
        if !all {
            chunk.retain(Converter::exports);
            if chunk.is_empty() {
                return chunk;
            }
            bytes = chunk.iter().map(Record::retained_bytes).sum();
        }
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
        if state.shutdown {
            self.counters.dropped_after_shutdown(1);
            return;
        }
        if !self.has_room(&state, 1, bytes) {
            self.counters.dropped_queue_full(1);
            return;
        }
        state.pending += 1;
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
        self.max_records.is_none_or(|max| state.pending + records <= max)
            && state.held_bytes + bytes <= self.max_bytes
    }

    /// Counts `chunk` (exportable records only, holding `bytes`) in, dropping (and counting)
    /// what exceeds the budget, or all of it after shutdown (counted apart). The oldest spans
    /// of the chunk are kept.
    fn admit(&self, state: &mut State, chunk: &mut Vec<Record>, bytes: usize) {
        if state.shutdown {
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
    fn hold(&self, records: usize, bytes: usize) {
        self.lock().held_bytes += bytes;
        self.counters.admitted(records);
    }

    /// Bytes of records handed to the exporter.
    fn release(&self, bytes: usize) {
        let mut state = self.lock();
        state.held_bytes = state.held_bytes.saturating_sub(bytes);
    }

    fn wake_if_due(&self, state: &mut State) {
        if state.sleeping && state.pending >= self.wake_at {
            state.sleeping = false;
            self.wake.notify_one();
        }
    }

    /// Waits (until `deadline` at most) until the export thread has exported everything
    /// handed over before this call. `Err` with the time waited when it has not.
    pub(crate) fn flush(&self, deadline: Instant) -> Result<(), Duration> {
        let mut state = self.lock();
        if state.finished {
            return Ok(());
        }
        state.flush_requested += 1;
        let target = state.flush_requested;
        self.wake.notify_one();
        self.wait_for(state, deadline, |s| s.flush_completed >= target || s.finished)
            .map(drop)
    }

    /// Exports what is left, shuts the exporter down, and stops the export thread (waiting
    /// until `deadline` at most). `Err` with the time waited when it has not stopped by then.
    pub(crate) fn shutdown(&self, deadline: Instant) -> Result<(), Duration> {
        let mut state = self.lock();
        if state.shutdown {
            return Ok(());
        }
        state.shutdown = true;
        self.wake.notify_one();
        self.wait_for(state, deadline, |s| s.finished).map(drop)
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
struct Work {
    chunks: Vec<Vec<Record>>,
    /// Collect from idle threads and export everything (a tick, a flush, a shutdown).
    sweep: bool,
    /// The flush request this round completes, if any.
    flush: Option<u64>,
    shutdown: bool,
}

impl Queue {
    /// Waits for a full batch, a flush, a shutdown or the schedule delay; takes everything
    /// that waits (the budget counts it until it is exported: taking it frees no room).
    fn next_work(&self, batch: &BatchSettings) -> Work {
        let mut state = self.lock();
        let deadline = Instant::now() + batch.schedule_delay;
        let mut tick = false;
        loop {
            let urgent = state.pending >= self.wake_at
                || state.flush_requested > state.flush_completed
                || state.shutdown;
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
        let flush = (state.flush_requested > state.flush_completed).then_some(state.flush_requested);
        let sweep = tick || flush.is_some() || state.shutdown;
        let chunks: Vec<Vec<Record>> = state.chunks.drain(..).collect();
        state.pending = 0;
        Work {
            chunks,
            sweep,
            flush,
            shutdown: state.shutdown,
        }
    }

    /// Buffers for stealing from idle threads (so they get their capacity back).
    fn spares(&self, n: usize) -> Vec<Vec<Record>> {
        let mut state = self.lock();
        let keep = state.pool.len().saturating_sub(n);
        state.pool.split_off(keep)
    }

    /// Emptied buffers back into the pool (beyond its size they are freed).
    fn recycle(&self, buffers: impl IntoIterator<Item = Vec<Record>>) {
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

/// The export thread's side: where batches go.
pub(crate) struct Sinks<E> {
    /// An OpenTelemetry `SpanExporter` (given `SpanData`).
    pub exporter: Option<super::monitored::Monitored<E>>,
    /// The built-in OTLP/HTTP exporter (given records; it counts its own results).
    pub direct: Option<super::otlp::OtlpHttp>,
    /// A copy to the console that `stats()` does not count (`print_traces(true)`).
    pub console: Option<super::monitored::Monitored<super::ConsoleExporter>>,
    pub observers: Vec<Arc<dyn BatchObserver>>,
}

impl<E: SpanExporter> Sinks<E> {
    fn set_resource(&mut self, resource: &Resource) {
        if let Some(e) = &mut self.exporter {
            e.set_resource(resource);
        }
        if let Some(c) = &mut self.console {
            c.set_resource(resource);
        }
    }

    /// Whether anything needs the batch as OpenTelemetry `SpanData`.
    fn wants_span_data(&self) -> bool {
        self.exporter.is_some() || self.console.is_some() || !self.observers.is_empty()
    }

    /// Exports one batch (a run of chunks); gives the emptied chunks back for reuse.
    fn export(
        &mut self,
        mut batch: Vec<Vec<Record>>,
        converter: &Converter,
        counters: &Counters,
    ) -> Vec<Vec<Record>> {
        let count = batch.iter().map(Vec::len).sum();
        if let Some(direct) = &mut self.direct {
            let records = batch.iter().flatten();
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                direct.export(records, count, converter.clock())
            }));
            if outcome.is_err() {
                panicked(counters, count);
            }
        }
        if !self.wants_span_data() {
            batch.iter_mut().for_each(Vec::clear);
            return batch;
        }
        let data: Vec<SpanData> = batch
            .iter_mut()
            .flat_map(|chunk| chunk.drain(..))
            .map(|r| converter.convert(r))
            .collect();
        self.export_span_data(data, count, counters);
        batch
    }

    fn export_span_data(&self, batch: Vec<SpanData>, count: usize, counters: &Counters) {
        for observer in &self.observers {
            observer.observe(&batch);
        }
        if let Some(console) = &self.console {
            let copy = batch.clone();
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
                futures_executor::block_on(console.export(copy))
            }));
        }
        let Some(exporter) = &self.exporter else { return };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            futures_executor::block_on(exporter.export(batch))
        }));
        if outcome.is_err() {
            panicked(counters, count);
        }
    }

    /// Waits until what was handed to the exporters has gone out (a flush).
    fn wait_idle(&self, timeout: Duration) {
        if let Some(direct) = &self.direct {
            direct.wait_idle(timeout);
        }
    }

    fn shutdown(&mut self, timeout: Duration) {
        if let Some(e) = &self.exporter {
            let _ = e.shutdown_with_timeout(timeout);
        }
        if let Some(direct) = &mut self.direct {
            direct.shutdown(timeout);
        }
        if let Some(c) = &self.console {
            let _ = c.shutdown_with_timeout(timeout);
        }
    }
}

/// Chunks waiting for export, only ended, sampled records in them.
#[derive(Default)]
struct Staged {
    chunks: VecDeque<Vec<Record>>,
    len: usize,
}

impl Staged {
    fn add(&mut self, chunk: Vec<Record>) {
        self.len += chunk.len();
        self.chunks.push_back(chunk);
    }

    /// Whole chunks up to `max` records; the last one split if it would overshoot.
    fn take(&mut self, max: usize) -> Vec<Vec<Record>> {
        let mut batch = Vec::new();
        let mut taken = 0;
        while taken < max {
            let Some(mut chunk) = self.chunks.pop_front() else {
                break;
            };
            if taken + chunk.len() > max {
                let rest = chunk.split_off(max - taken);
                self.chunks.push_front(rest);
            }
            taken += chunk.len();
            batch.push(chunk);
        }
        self.len -= taken;
        batch
    }
}

fn panicked(counters: &Counters, count: usize) {
    counters.failed(count);
    log::error!("maximus-trace: the span exporter panicked; {count} spans were lost");
}

/// What the export thread needs to know about its pipeline.
pub(crate) struct Worker<E> {
    pub queue: Arc<Queue>,
    pub sinks: Sinks<E>,
    pub batch: BatchSettings,
    pub resource: Resource,
    /// The pipeline's generation when it collects from thread buffers (the global one),
    /// read on every sweep since a pipeline becomes global after it started.
    pub global: Arc<std::sync::atomic::AtomicU64>,
}

/// Sentinel in [`Worker::global`]: not the global pipeline.
pub(crate) const NOT_GLOBAL: u64 = 0;

impl<E: SpanExporter + 'static> Worker<E> {
    pub(crate) fn spawn(self) -> Option<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("maximus-trace-export".into())
            .spawn(move || self.run())
            .map_err(|e| log::error!("maximus-trace: cannot start the export thread: {e}"))
            .ok()
    }

    fn run(mut self) {
        self.sinks.set_resource(&self.resource);
        let queue = Arc::clone(&self.queue);
        let mut converter = Converter::new();
        // Chunks taken from the queue and not exported yet (the tail of a batch).
        let mut staged = Staged::default();
        loop {
            let work = queue.next_work(&self.batch);
            let mut chunks = work.chunks;
            if work.sweep {
                local::bump_epoch();
                // Everything idle threads hold goes out in this round too (at shutdown as
                // well: the queue no longer admits anything by then).
                chunks.extend(self.steal_idle());
            }
            converter.reanchor();
            for chunk in chunks {
                staged.add(chunk);
            }
            let batch_size = self.batch.max_export_batch_size.max(1);
            while staged.len >= batch_size || (work.sweep && staged.len > 0) {
                let batch = staged.take(batch_size);
                let bytes = batch.iter().flatten().map(Record::retained_bytes).sum();
                let emptied = self.sinks.export(batch, &converter, &queue.counters);
                queue.release(bytes);
                queue.recycle(emptied);
            }
            if work.flush.is_some() {
                self.sinks.wait_idle(self.batch.export_timeout);
            }
            let mut state = queue.lock();
            if let Some(target) = work.flush {
                state.flush_completed = state.flush_completed.max(target);
            }
            if work.shutdown {
                state.chunks.clear();
                state.pool = Vec::new();
                state.pending = 0;
                state.held_bytes = 0;
                drop(state);
                self.sinks.shutdown(self.batch.export_timeout);
                queue.lock().finished = true;
                queue.progress.notify_all();
                return;
            }
            drop(state);
            queue.progress.notify_all();
        }
    }

    /// The ended records of every idle thread (global pipeline only), to export now. At
    /// most a thread buffer per thread, so they bypass the queue's capacity.
    fn steal_idle(&self) -> Vec<Vec<Record>> {
        let generation = self.global.load(std::sync::atomic::Ordering::Acquire);
        if generation == NOT_GLOBAL {
            return Vec::new();
        }
        let mut spares = self.queue.spares(POOL);
        let mut stolen = Vec::new();
        registry::for_each(|thread| {
            let spare = spares.pop().unwrap_or_default();
            match thread.steal(generation, spare) {
                Ok(mut records) => {
                    records.retain(Converter::exports);
                    let bytes = records.iter().map(Record::retained_bytes).sum();
                    self.queue.hold(records.len(), bytes);
                    stolen.push(records);
                }
                Err(spare) => spares.push(spare),
            }
        });
        self.queue.recycle(spares);
        stolen.retain(|chunk| !chunk.is_empty());
        stolen
    }
}
