//! A running pipeline: the sampler spans ask, the queue ended spans go to, the export
//! thread behind it, and the counters. The global one (installed by `init()`) takes spans
//! through per-thread buffers; a standalone one (`build()`) takes them one at a time.
//! `setup.rs` assembles one from the settings; `flush_error.rs` says why a flush failed.

mod flush_error;
mod setup;

pub use flush_error::FlushError;
pub(crate) use setup::Setup;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use opentelemetry_sdk::Resource;

use crate::config::Settings;
use crate::engine::route::{self, Route, Sink};
use crate::engine::sampling::Sampler;
use crate::engine::{Record, local, registry};
use crate::export::queue::Completeness;
use crate::export::{NOT_GLOBAL, Queue, Sinks, Worker};
use crate::stats::{Counters, Stats};

pub(crate) struct Pipeline {
    /// What the engine sees of this pipeline: generation, sampler, and this pipeline's
    /// queue as the sink of ended records.
    route: Arc<Route>,
    pub settings: Settings,
    queue: Arc<Queue>,
    /// Whether spans go anywhere that counts them (not with `Exporter::None`).
    delivers: bool,
    /// A flush that ran out of time and has not completed since: one bound covers a
    /// program's exit, so a shutdown that follows waits only what is left of it.
    unfinished_flush: Mutex<Option<UnfinishedFlush>>,
    /// The route's generation once installed as the global pipeline, else [`NOT_GLOBAL`].
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

/// A flush request whose caller stopped waiting at `deadline`.
#[derive(Clone, Copy, Debug)]
struct UnfinishedFlush {
    target: u64,
    deadline: Instant,
}

/// Everything a pipeline is started from.
pub(crate) struct Parts {
    pub settings: Settings,
    pub sampler: Sampler,
    pub sinks: Sinks,
    pub resource: Resource,
    pub counters: Arc<Counters>,
    pub jaeger_stats: Option<crate::export::jaeger::JaegerAgentStatsHandle>,
    pub metrics: Option<crate::metrics::SpanMetrics>,
}

impl Pipeline {
    /// Starts the export thread.
    pub(crate) fn start(parts: Parts) -> Self {
        crate::engine::clock::clock();
        let delivers = parts.sinks.delivers();
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
        let sink = Arc::new(QueueSink(Arc::clone(&queue)));
        let route = Route::new(parts.sampler, parts.settings.otel_context, sink);
        Pipeline {
            route: Arc::new(route),
            settings: parts.settings,
            queue,
            delivers,
            unfinished_flush: Mutex::new(None),
            global,
            worker: Mutex::new(worker),
            jaeger_stats: parts.jaeger_stats,
            metrics: parts.metrics,
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        self.route.is_active()
    }

    /// What the engine sees of this pipeline.
    pub(crate) fn route(&self) -> &Arc<Route> {
        &self.route
    }

    /// Makes this the global pipeline: spans then go through thread buffers, and the export
    /// thread collects them from idle threads.
    pub(crate) fn install_global(&self) {
        self.global.store(self.route.generation, Ordering::Release);
        route::install_global(Arc::clone(&self.route));
    }

    fn is_global(&self) -> bool {
        self.global.load(Ordering::Relaxed) != NOT_GLOBAL
    }

    /// Exports every ended span now, waiting at most the shutdown bound. A flush that does
    /// not complete is remembered: a shutdown that follows while it is still unfinished
    /// waits only what is left of its bound.
    pub(crate) fn force_flush(&self) -> Result<(), FlushError> {
        if !self.is_active() {
            return Err(FlushError::ShutDown);
        }
        if self.is_global() {
            local::flush_this_thread();
        }
        let (failed_before, _) = self.queue.counters().failures();
        let deadline = Instant::now() + self.settings.shutdown_timeout;
        let Some(target) = self.queue.request_flush(deadline) else {
            return Err(FlushError::ShutDown);
        };
        let flushed = self.queue.wait_flushed(target, deadline);
        {
            let mut unfinished = self.lock_unfinished_flush();
            match flushed {
                Err(_) => *unfinished = Some(UnfinishedFlush { target, deadline }),
                // Completing this request completes every earlier one.
                Ok(()) if unfinished.is_some_and(|u| u.target <= target) => *unfinished = None,
                Ok(()) => {}
            }
        }
        // After the spans: their batches have just updated the span metrics. Within the
        // same bound.
        if let Some(metrics) = &self.metrics {
            metrics.flush(deadline);
        }
        flushed.map_err(FlushError::Timeout)?;
        match self.queue.counters().failures() {
            (failed, Some(source)) if failed > failed_before => Err(FlushError::Export {
                spans: failed - failed_before,
                source,
            }),
            _ => Ok(()),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut stats = self.queue.counters().snapshot();
        if self.is_global() {
            local::publish_counts();
            registry::for_each(|thread| {
                let (started, ended) = thread.counters(self.route.generation);
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
    /// Span metrics are pushed last, with what is left of the bound (they count the last
    /// batches).
    pub(crate) fn shutdown(&self) {
        if !self.route.deactivate() {
            return;
        }
        if self.is_global() {
            local::flush_this_thread();
        }
        let deadline = self.exit_deadline();
        self.queue.begin_shutdown(deadline);
        let finished = self.queue.wait_finished(deadline);
        if let Some(metrics) = &self.metrics {
            metrics.stop(deadline);
        }
        if finished == Ok(Completeness::Complete) {
            let worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(worker) = worker {
                let _ = worker.join();
            }
            log::debug!("maximus-trace: pipeline shut down");
            return;
        }
        // The export thread is left to finish (or not) on its own: the caller goes on.
        let lost = match self.delivers {
            true => self.queue.counters().abandon_undelivered(),
            false => 0,
        };
        log::warn!(
            "maximus-trace: the {:?} shutdown bound ran out: {lost} spans not delivered by the {} export to {}",
            self.settings.shutdown_timeout,
            self.settings.exporter,
            self.settings.endpoint_description()
        );
    }

    /// The shutdown's deadline: the bound from now, or what is left of it when a flush that
    /// ran out of time is still unfinished.
    fn exit_deadline(&self) -> Instant {
        let own = Instant::now() + self.settings.shutdown_timeout;
        match *self.lock_unfinished_flush() {
            Some(flush) if !self.queue.is_flushed(flush.target) => flush.deadline.min(own),
            _ => own,
        }
    }

    fn lock_unfinished_flush(&self) -> std::sync::MutexGuard<'_, Option<UnfinishedFlush>> {
        self.unfinished_flush
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The engine's sink for a pipeline: its export queue, and the counters behind `stats()`.
#[derive(Debug)]
struct QueueSink(Arc<Queue>);

impl Sink for QueueSink {
    fn exchange(&self, chunk: Vec<Record>) -> Vec<Record> {
        self.0.exchange(chunk)
    }

    fn push(&self, record: Record) {
        self.0.counters().ended(1);
        self.0.push(record);
    }

    fn count(&self, started: u64, ended: u64) {
        self.0.counters().started(started);
        self.0.counters().ended(ended);
    }
}
