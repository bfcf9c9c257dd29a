//! The export queue between the application and the exporter.
//!
//! Ended spans wait here (at most `max_queue_size`; what exceeds it is dropped and counted,
//! so memory stays bounded under any load) until the export thread takes them in batches.
//! Written instead of the SDK's `BatchSpanProcessor` because that one keeps its drop count
//! private, has no place to observe batches on the export thread, and cannot survive a
//! panicking exporter.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use crate::config::BatchSettings;
use crate::stats::COUNTERS;

/// Sees every batch on the export thread before the exporter does (span metrics).
pub(crate) trait BatchObserver: Send + Sync {
    /// Called with each batch, off the application's threads.
    fn observe(&self, batch: &[SpanData]);
}

/// How long `force_flush` waits for the export thread.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct QueueProcessor {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
    counted: bool,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// The most spans that may wait; more are dropped.
    capacity: usize,
    /// Queue length at which an ended span wakes the export thread early: a full batch.
    wake_at: usize,
    /// Wakes the export thread: a full batch, a flush, a shutdown, a resource.
    wake: Condvar,
    /// Wakes callers waiting for a flush or the shutdown to complete.
    progress: Condvar,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<SpanData>,
    flush_requested: u64,
    flush_completed: u64,
    shutdown: bool,
    finished: bool,
    resource: Option<Resource>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits (at most `timeout`) for the export thread to make `done` true.
    fn wait_for_progress<'a>(
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

impl QueueProcessor {
    /// Starts the export thread for `exporter`. `counted` says whether drops feed `stats()`.
    pub fn start<E: SpanExporter + 'static>(
        exporter: E,
        batch: BatchSettings,
        observers: Vec<Arc<dyn BatchObserver>>,
        counted: bool,
    ) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            capacity: batch.max_queue_size.max(1),
            wake_at: batch.max_export_batch_size.clamp(1, batch.max_queue_size.max(1)),
            wake: Condvar::new(),
            progress: Condvar::new(),
        });
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("maximus-trace-export".into())
                .spawn(move || export_loop(exporter, &shared, batch, &observers))
                .map_err(|e| log::error!("maximus-trace: cannot start the export thread: {e}"))
                .ok()
        };
        QueueProcessor {
            shared,
            worker: Mutex::new(worker),
            counted,
        }
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let mut state = self.shared.lock();
        if state.shutdown || state.queue.len() >= self.shared.capacity {
            drop(state);
            if self.counted {
                COUNTERS.dropped_queue_full();
            }
            return;
        }
        state.queue.push_back(span);
        let len = state.queue.len();
        drop(state);
        // The export thread sleeps until a batch is full (or the delay passes).
        if len == self.shared.wake_at {
            self.shared.wake.notify_one();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut state = self.shared.lock();
        state.flush_requested += 1;
        let target = state.flush_requested;
        self.shared.wake.notify_one();
        self.shared
            .wait_for_progress(state, FLUSH_TIMEOUT, |s| {
                s.flush_completed >= target || s.finished
            })
            .map(drop)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let mut state = self.shared.lock();
        if state.shutdown {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        state.shutdown = true;
        self.shared.wake.notify_one();
        drop(self.shared.wait_for_progress(state, timeout, |s| s.finished)?);
        if let Some(worker) = self.worker.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = worker.join();
        }
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.shared.lock().resource = Some(resource.clone());
        self.shared.wake.notify_one();
    }
}

fn export_loop<E: SpanExporter>(
    mut exporter: E,
    shared: &Shared,
    batch: BatchSettings,
    observers: &[Arc<dyn BatchObserver>],
) {
    loop {
        let (spans, resource, shutting_down) = next_batch(shared, &batch);
        if let Some(resource) = resource {
            exporter.set_resource(&resource);
        }
        if !spans.is_empty() {
            for observer in observers {
                observer.observe(&spans);
            }
            export(&exporter, spans);
        }
        let mut state = shared.lock();
        if state.queue.is_empty() {
            state.flush_completed = state.flush_requested;
            if shutting_down {
                // The manager outlives its pipeline (`get_tracing()` hands out `&'static`);
                // give the queue's buffer back now rather than never.
                state.queue = VecDeque::new();
                drop(state);
                let _ = exporter.shutdown_with_timeout(batch.export_timeout);
                shared.lock().finished = true;
                shared.progress.notify_all();
                return;
            }
            shared.progress.notify_all();
        }
    }
}

/// Waits for a full batch, a flush, a shutdown or the schedule delay; takes one batch.
fn next_batch(shared: &Shared, batch: &BatchSettings) -> (Vec<SpanData>, Option<Resource>, bool) {
    let mut state = shared.lock();
    let deadline = Instant::now() + batch.schedule_delay;
    loop {
        let urgent = state.queue.len() >= batch.max_export_batch_size
            || state.flush_requested > state.flush_completed
            || state.shutdown
            || state.resource.is_some();
        let Some(left) = deadline
            .checked_duration_since(Instant::now())
            .filter(|_| !urgent)
        else {
            break;
        };
        state = shared
            .wake
            .wait_timeout(state, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    let take = state.queue.len().min(batch.max_export_batch_size);
    let spans: Vec<SpanData> = state.queue.drain(..take).collect();
    // A burst grows the buffer; once it has drained, keep only a batch's worth.
    if state.queue.capacity() > 2 * batch.max_export_batch_size
        && state.queue.len() < batch.max_export_batch_size
    {
        state.queue.shrink_to(batch.max_export_batch_size);
    }
    (spans, state.resource.take(), state.shutdown)
}

/// Hands a batch to the exporter. A panicking exporter costs its batch, not the thread.
fn export<E: SpanExporter>(exporter: &E, spans: Vec<SpanData>) {
    let count = spans.len();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        futures_executor::block_on(exporter.export(spans))
    }));
    if outcome.is_err() {
        COUNTERS.failed(count);
        log::error!("maximus-trace: the span exporter panicked; {count} spans were lost");
    }
}
