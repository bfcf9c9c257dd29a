//! The export queue between the application's threads and the export thread.
//!
//! Threads hand over ended records in chunks (a whole thread buffer at a time), so the
//! queue's lock is taken once per 64 spans, not per span. At most `max_queue_size` records
//! wait; what exceeds it is dropped and counted, so memory stays bounded under any load. The
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
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
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

/// How long `force_flush` waits for the export thread.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Empty buffers kept for threads to reuse (a thread buffer's worth of capacity each).
const POOL: usize = 16;

#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    /// The most records that may wait; more are dropped.
    capacity: usize,
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
        let capacity = batch.max_queue_size.max(1);
        Queue {
            state: Mutex::new(State::default()),
            capacity,
            wake_at: batch.max_export_batch_size.clamp(1, capacity),
            wake: Condvar::new(),
            progress: Condvar::new(),
            counters,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a thread's buffer of records (ended ones exported, others skipped) and gives an
    /// empty buffer back.
    pub(crate) fn exchange(&self, mut chunk: Vec<Record>) -> Vec<Record> {
        let exportable = chunk.iter().filter(|r| Converter::exports(r)).count();
        let mut state = self.lock();
        if exportable > 0 {
            self.admit(&mut state, &mut chunk, exportable);
        }
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
        let mut state = self.lock();
        let mut one = vec![record];
        self.admit(&mut state, &mut one, 1);
        if let Some(record) = one.pop() {
            match state.chunks.back_mut().filter(|c| c.len() < c.capacity()) {
                Some(chunk) => chunk.push(record),
                None => {
                    let mut chunk = state.pool.pop().unwrap_or_else(|| Vec::with_capacity(HANDOFF));
                    chunk.push(record);
                    state.chunks.push_back(chunk);
                }
            }
        }
        self.wake_if_due(&mut state);
    }

    /// Counts `exportable` records of `chunk` in, dropping (and counting) what exceeds the
    /// capacity, or all of them after shutdown.
    fn admit(&self, state: &mut State, chunk: &mut Vec<Record>, exportable: usize) {
        let room = if state.shutdown {
            0
        } else {
            self.capacity.saturating_sub(state.pending)
        };
        if exportable <= room {
            state.pending += exportable;
            return;
        }
        let mut excess = exportable - room;
        self.counters.dropped_queue_full(excess);
        state.pending += room;
        // Drop from the end: the oldest spans of the chunk are kept.
        while excess > 0 {
            match chunk.pop() {
                Some(r) if Converter::exports(&r) => excess -= 1,
                Some(_) => {}
                None => break,
            }
        }
    }

    fn wake_if_due(&self, state: &mut State) {
        if state.sleeping && state.pending >= self.wake_at {
            state.sleeping = false;
            self.wake.notify_one();
        }
    }

    /// Waits (at most `timeout`) until the export thread has exported everything handed over
    /// before this call.
    pub(crate) fn flush(&self, timeout: Duration) -> OTelSdkResult {
        let mut state = self.lock();
        if state.finished {
            return Ok(());
        }
        state.flush_requested += 1;
        let target = state.flush_requested;
        self.wake.notify_one();
        self.wait_for(state, timeout.min(FLUSH_TIMEOUT), |s| {
            s.flush_completed >= target || s.finished
        })
        .map(drop)
    }

    /// Exports what is left, shuts the exporter down, and stops the export thread (waiting
    /// at most `timeout`).
    pub(crate) fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        let mut state = self.lock();
        if state.shutdown {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        state.shutdown = true;
        self.wake.notify_one();
        self.wait_for(state, timeout, |s| s.finished).map(drop)
    }

    fn wait_for<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        timeout: Duration,
        done: impl Fn(&State) -> bool,
    ) -> Result<MutexGuard<'a, State>, OTelSdkError> {
        let deadline = Instant::now() + timeout;
        while !done(&state) {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Err(OTelSdkError::Timeout(timeout));
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
    /// Waits for a full batch, a flush, a shutdown or the schedule delay; takes one batch
    /// worth of chunks (all of them when sweeping).
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
        let mut chunks = Vec::new();
        let mut taken = 0;
        while sweep || taken < batch.max_export_batch_size {
            let Some(chunk) = state.chunks.pop_front() else {
                break;
            };
            taken += chunk.iter().filter(|r| Converter::exports(r)).count();
            chunks.push(chunk);
        }
        state.pending = state.pending.saturating_sub(taken);
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

    /// Queues records stolen from idle threads (within the capacity, like any hand-over).
    fn add_stolen(&self, stolen: Vec<Vec<Record>>) {
        let mut state = self.lock();
        for mut chunk in stolen {
            let exportable = chunk.iter().filter(|r| Converter::exports(r)).count();
            self.admit(&mut state, &mut chunk, exportable);
            state.chunks.push_back(chunk);
        }
    }
}

/// The export thread's side: where batches go.
pub(crate) struct Sinks<E> {
    pub exporter: Option<E>,
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

    fn export(&self, batch: Vec<SpanData>, counters: &Counters) {
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
        let count = batch.len();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            futures_executor::block_on(exporter.export(batch))
        }));
        if outcome.is_err() {
            counters.failed(count);
            log::error!("maximus-trace: the span exporter panicked; {count} spans were lost");
        }
    }

    fn shutdown(&self, timeout: Duration) {
        if let Some(e) = &self.exporter {
            let _ = e.shutdown_with_timeout(timeout);
        }
        if let Some(c) = &self.console {
            let _ = c.shutdown_with_timeout(timeout);
        }
    }
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
        let mut staged: VecDeque<SpanData> = VecDeque::new();
        loop {
            let work = queue.next_work(&self.batch);
            let mut chunks = work.chunks;
            if work.sweep {
                local::bump_epoch();
                chunks.extend(self.steal_idle());
                // Whatever the sweep added to the queue goes out in this round too.
                chunks.extend(queue.lock().chunks.drain(..));
                queue.lock().pending = 0;
            }
            converter.reanchor();
            let mut emptied = Vec::with_capacity(chunks.len());
            for mut chunk in chunks {
                staged.extend(
                    chunk
                        .drain(..)
                        .filter(Converter::exports)
                        .map(|r| converter.convert(r)),
                );
                emptied.push(chunk);
            }
            queue.recycle(emptied);
            let batch_size = self.batch.max_export_batch_size.max(1);
            while staged.len() >= batch_size || (work.sweep && !staged.is_empty()) {
                let take = staged.len().min(batch_size);
                let batch: Vec<SpanData> = staged.drain(..take).collect();
                self.sinks.export(batch, &queue.counters);
            }
            let mut state = queue.lock();
            if let Some(target) = work.flush {
                state.flush_completed = state.flush_completed.max(target);
            }
            if work.shutdown {
                state.chunks.clear();
                state.pool = Vec::new();
                state.pending = 0;
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

    /// Takes the ended records of every idle thread (global pipeline only).
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
                Ok(records) => stolen.push(records),
                Err(spare) => spares.push(spare),
            }
        });
        self.queue.recycle(spares);
        self.queue.add_stolen(stolen);
        Vec::new()
    }
}
