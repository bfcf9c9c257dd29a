//! A running pipeline: the sampler spans ask, the queue ended spans go to, the export
//! thread behind it, and the counters. The global one (installed by `init()`) takes spans
//! through per-thread buffers; a standalone one (`build()`) takes them one at a time.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanExporter;

use crate::config::Settings;
use crate::engine::{Record, local, registry};
use crate::export::queue::{NOT_GLOBAL, Queue, Sinks, Worker};
use crate::manager::FlushError;
use crate::sampling::Sampler;
use crate::stats::{Counters, Stats};

/// Generations start at 1 ([`NOT_GLOBAL`] is 0).
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

pub(crate) struct Pipeline {
    active: AtomicBool,
    /// Tells this pipeline's records from those of earlier ones in thread buffers.
    pub generation: u64,
    pub settings: Settings,
    pub sampler: Sampler,
    /// Spans take the short path: a built-in sampler and no OpenTelemetry context bridge.
    pub short_path: bool,
    /// On the short path, a span under a sampled span is sampled (a parent-based sampler).
    pub children_follow: bool,
    queue: Arc<Queue>,
    /// When a flush that has not completed will have used up the shutdown bound: one bound
    /// covers a program's exit, a flush just before the guard drops included.
    exit_deadline: Mutex<Option<Instant>>,
    /// `generation` once installed as the global pipeline, else [`NOT_GLOBAL`].
    global: Arc<AtomicU64>,
    worker: Mutex<Option<JoinHandle<()>>>,
    /// The Jaeger exporter's own counters (trimmed and oversized spans), when it is in use.
    pub jaeger_stats: Option<crate::export::jaeger::JaegerAgentStatsHandle>,
    /// Span metrics, when switched on.
    pub metrics: Option<crate::metrics::SpanMetrics>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("service", &self.settings.service_name)
            .field("exporter", &self.settings.exporter)
            .field("active", &self.is_active())
            .finish_non_exhaustive()
    }
}

/// Everything a pipeline is started from.
pub(crate) struct Parts<E> {
    pub settings: Settings,
    pub sampler: Sampler,
    pub sinks: Sinks<E>,
    pub resource: Resource,
    pub counters: Arc<Counters>,
    pub jaeger_stats: Option<crate::export::jaeger::JaegerAgentStatsHandle>,
    pub metrics: Option<crate::metrics::SpanMetrics>,
}

impl Pipeline {
    /// Starts the export thread.
    pub(crate) fn start<E: SpanExporter + 'static>(parts: Parts<E>) -> Self {
        crate::engine::clock::clock();
        let queue = Arc::new(Queue::new(&parts.settings.batch, Arc::clone(&parts.counters)));
        let global = Arc::new(AtomicU64::new(NOT_GLOBAL));
        let worker = Worker {
            queue: Arc::clone(&queue),
            sinks: parts.sinks,
            batch: parts.settings.batch,
            resource: parts.resource,
            global: Arc::clone(&global),
        }
        .spawn();
        let short_path = !parts.settings.otel_context && !matches!(parts.sampler, Sampler::Custom(_));
        let children_follow = short_path && parts.sampler.is_parent_based();
        Pipeline {
            active: AtomicBool::new(true),
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
            settings: parts.settings,
            sampler: parts.sampler,
            short_path,
            children_follow,
            queue,
            exit_deadline: Mutex::new(None),
            global,
            worker: Mutex::new(worker),
            jaeger_stats: parts.jaeger_stats,
            metrics: parts.metrics,
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    fn is_global(&self) -> bool {
        self.global.load(Ordering::Relaxed) != NOT_GLOBAL
    }

    /// Takes a thread buffer of records; returns an empty buffer.
    pub(crate) fn exchange(&self, chunk: Vec<Record>) -> Vec<Record> {
        self.queue.exchange(chunk)
    }

    /// Takes one ended record, counting its end here (it was not counted by a thread).
    pub(crate) fn push(&self, record: Record) {
        self.queue.counters().ended(1);
        self.queue.push(record);
    }

    pub(crate) fn count_started(&self) {
        self.queue.counters().started(1);
    }

    pub(crate) fn count_ended(&self) {
        self.queue.counters().ended(1);
    }

    /// The counts of a thread that is exiting.
    pub(crate) fn retire_counts(&self, started: u64, ended: u64) {
        self.queue.counters().started(started);
        self.queue.counters().ended(ended);
    }

    /// Exports every ended span now, waiting at most the shutdown bound. A flush that does
    /// not complete leaves its deadline for a shutdown that follows (which then waits only
    /// what is left of it).
    pub(crate) fn force_flush(&self) -> Result<(), FlushError> {
        if self.is_global() {
            local::flush_this_thread();
        }
        let deadline = *self
            .lock_exit_deadline()
            .get_or_insert_with(|| Instant::now() + self.settings.shutdown_timeout);
        let flushed = self.queue.flush(deadline).map_err(FlushError::Timeout);
        if flushed.is_ok() {
            *self.lock_exit_deadline() = None;
        }
        // After the spans: their batches have just updated the span metrics. Within the
        // same bound.
        if let Some(metrics) = &self.metrics {
            metrics.flush(deadline);
        }
        flushed
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut stats = self.queue.counters().snapshot();
        if self.is_global() {
            local::publish_counts();
            registry::for_each(|thread| {
                let (started, ended) = thread.counters(self.generation);
                stats.spans_started += started;
                stats.spans_ended += ended;
            });
        }
        if let Some(jaeger) = &self.jaeger_stats {
            let j = jaeger.stats();
            stats.spans_trimmed = j.spans_trimmed;
            stats.spans_dropped_too_large = j.spans_dropped_too_large;
        }
        stats
    }

    /// Stops accepting spans, exports what is left and shuts the exporter down (on the export
    /// thread), waiting at most the configured time: a hung exporter cannot hold the caller.
    pub(crate) fn shutdown(&self) {
        if !self.active.swap(false, Ordering::SeqCst) {
            return;
        }
        if self.is_global() {
            local::flush_this_thread();
        }
        let own = Instant::now() + self.settings.shutdown_timeout;
        let deadline = self.lock_exit_deadline().map_or(own, |flush| flush.min(own));
        if let Some(metrics) = &self.metrics {
            metrics.stop(deadline);
        }
        match self.queue.shutdown(deadline) {
            Ok(()) => {
                let worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(worker) = worker {
                    let _ = worker.join();
                }
                log::debug!("maximus-trace: pipeline shut down");
            }
            // The export thread is left to finish (or not) on its own: the caller goes on.
            Err(_) => {
                let lost = self.queue.counters().abandon_undelivered();
                log::warn!(
                    "maximus-trace: the {:?} shutdown bound ran out: {lost} spans not delivered by the {} export to {}",
                    self.settings.shutdown_timeout,
                    self.settings.exporter,
                    self.settings.endpoint_description()
                );
            }
        }
    }

    fn lock_exit_deadline(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.exit_deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The global pipeline, for the per-span path (a pointer into the leaked global manager).
static GLOBAL: AtomicPtr<Pipeline> = AtomicPtr::new(std::ptr::null_mut());
/// `global()`'s generation, kept beside it so the per-span path (a span under an unsampled
/// one) reads one word instead of following the pointer.
static GLOBAL_GENERATION: AtomicU64 = AtomicU64::new(NOT_GLOBAL);

/// Makes `pipeline` (owned by the leaked global manager, so never freed) the global one.
pub(crate) fn install_global(pipeline: &'static Pipeline) {
    pipeline.global.store(pipeline.generation, Ordering::Release);
    GLOBAL_GENERATION.store(pipeline.generation, Ordering::Relaxed);
    GLOBAL.store(pipeline as *const Pipeline as *mut Pipeline, Ordering::Release);
}

/// The global pipeline (active or shut down), if `init()` ever made one.
#[inline]
pub(crate) fn global() -> Option<&'static Pipeline> {
    let ptr = GLOBAL.load(Ordering::Acquire);
    // SAFETY: non-null pointers in GLOBAL point into a manager leaked by `init()`.
    (!ptr.is_null()).then(|| unsafe { &*ptr })
}

/// The global pipeline's generation (what per-thread counters count for).
#[inline]
pub(crate) fn global_generation() -> u64 {
    GLOBAL_GENERATION.load(Ordering::Relaxed)
}

/// The pipeline a span belongs to.
#[derive(Clone, Debug)]
pub(crate) enum PipelineRef {
    /// Spans go through thread buffers.
    Global(&'static Pipeline),
    /// Spans go straight to this pipeline's queue.
    Standalone(Arc<Pipeline>),
}

impl std::ops::Deref for PipelineRef {
    type Target = Pipeline;

    fn deref(&self) -> &Pipeline {
        match self {
            PipelineRef::Global(p) => p,
            PipelineRef::Standalone(p) => p,
        }
    }
}

impl PipelineRef {
    /// Counts a span start where this pipeline counts them.
    pub(crate) fn count_started(&self) {
        match self {
            PipelineRef::Global(p) => local::count(true, p.generation),
            PipelineRef::Standalone(p) => p.count_started(),
        }
    }
}
