//! The `TracingManager`, the global slot that holds it, and the `TracingGuard` that owns a
//! global pipeline's lifetime.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use crate::config::Settings;
use crate::engine::route::RouteRef;
use crate::model::KeyValue;
use crate::pipeline::{FlushError, Pipeline};
use crate::span::{Span, SpanBuilder, SpanGuard};
use crate::stats::Stats;

/// The entry point: creates spans and owns (or refers to) an export pipeline.
///
/// Usually global: `TracingManager::builder().init()?` or [`crate::init_from_env`], then
/// [`crate::get_tracing`] anywhere. [`TracingManager::new`] and
/// [`TracingBuilder::build`](crate::TracingBuilder::build) make a standalone manager that shuts its pipeline down when
/// dropped.
#[derive(Debug)]
pub struct TracingManager {
    pipeline: Option<Arc<Pipeline>>,
    owns_pipeline: bool,
}

/// The manager behind `get_tracing()` when nothing was initialized: records nothing.
static DISABLED: TracingManager = TracingManager {
    pipeline: None,
    owns_pipeline: false,
};

/// The global manager, leaked so `get_tracing()` can hand out `&'static` references that
/// stay valid after its guard drops (the pipeline behind it is shut down, so it records
/// nothing then). One small allocation per `init()`.
static GLOBAL: AtomicPtr<TracingManager> = AtomicPtr::new(std::ptr::null_mut());

/// Whether the global manager records: the single relaxed load on the disabled path.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// True when the global manager is recording. One relaxed atomic load.
#[inline(always)]
pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The global manager; a disabled one (never a panic) before any `init()`.
pub fn get_tracing() -> &'static TracingManager {
    let ptr = GLOBAL.load(Ordering::Acquire);
    if ptr.is_null() {
        &DISABLED
    } else {
        // SAFETY: non-null pointers in GLOBAL come from `Box::leak` and are never freed.
        unsafe { &*ptr }
    }
}

impl TracingManager {
    /// A manager that records nothing.
    pub const fn disabled() -> Self {
        TracingManager {
            pipeline: None,
            owns_pipeline: false,
        }
    }

    pub(crate) fn from_pipeline(pipeline: Arc<Pipeline>, owns_pipeline: bool) -> Self {
        TracingManager {
            pipeline: Some(pipeline),
            owns_pipeline,
        }
    }

    pub(crate) fn pipeline(&self) -> Option<&Arc<Pipeline>> {
        self.pipeline.as_ref().filter(|p| p.is_active())
    }

    /// True when spans are recorded and exported.
    pub fn is_enabled(&self) -> bool {
        self.pipeline().is_some()
    }

    /// The `service.name` spans are reported under.
    pub fn service_name(&self) -> Option<&str> {
        self.pipeline.as_ref().map(|p| p.settings.service_name.as_str())
    }

    /// Starts a span under the current one and makes it current until the guard drops
    /// (`tracing.span(name, attributes)` in the original MAXIMUS tracing API).
    pub fn span<A>(&self, name: impl Into<Cow<'static, str>>, attributes: A) -> SpanGuard
    where
        A: IntoIterator,
        A::Item: Into<KeyValue>,
    {
        self.span_builder(name).attributes(attributes).entered()
    }

    /// Starts a span under the current one without making it current (for futures).
    pub fn start_span<A>(&self, name: impl Into<Cow<'static, str>>, attributes: A) -> Span
    where
        A: IntoIterator,
        A::Item: Into<KeyValue>,
    {
        self.span_builder(name).attributes(attributes).start()
    }

    /// Configures a span: kind, parent, links, attributes.
    pub fn span_builder(&self, name: impl Into<Cow<'static, str>>) -> SpanBuilder {
        SpanBuilder::new(self.pipeline_ref(), name.into())
    }

    /// How spans reach this manager's pipeline: through thread buffers for the global one.
    fn pipeline_ref(&self) -> Option<RouteRef> {
        Some(RouteRef::of(self.pipeline()?.route()))
    }

    /// Hands every ended span to the exporter now and waits (bounded) for it to finish.
    /// Spans ended on this thread, and on threads that are not inside a span, are included;
    /// a thread inside a long span hands its ended spans over at its next span end.
    /// `Err` when a span could not be delivered: the bound ran out, the exporter failed
    /// (its error is the source), or the pipeline is shut down. A disabled manager has
    /// nothing to flush: `Ok`.
    pub fn force_flush(&self) -> Result<(), FlushError> {
        match &self.pipeline {
            None => Ok(()),
            Some(p) => p.force_flush(),
        }
    }

    /// The pipeline's counters since the last `init()`.
    pub fn stats(&self) -> Stats {
        self.pipeline.as_ref().map(|p| p.stats()).unwrap_or_default()
    }

    /// Flushes and shuts the pipeline down within the configured bound. Later spans are
    /// not recorded. Called by [`TracingGuard`]'s and a standalone manager's drop.
    pub fn shutdown(&self) {
        if let Some(p) = &self.pipeline {
            p.shutdown();
            if std::ptr::eq(get_tracing(), self) {
                ENABLED.store(false, Ordering::Relaxed);
            }
        }
    }
}

/// Span metrics (see `metrics/`).
impl TracingManager {
    /// Calls, errors, error rate, rate and p50/p95/p99 per span name since the pipeline
    /// started (empty unless span metrics are on: [`TracingBuilder::span_metrics`](crate::TracingBuilder::span_metrics)). Spans
    /// count once their batch was exported; call [`TracingManager::force_flush`] first to
    /// include the latest. `Display` prints a table.
    pub fn metrics_snapshot(&self) -> crate::MetricsSnapshot {
        self.span_metrics()
            .map(crate::metrics::SpanMetrics::snapshot)
            .unwrap_or_default()
    }

    /// The span metrics in the Prometheus text format 0.0.4, as `GET /metrics` serves them:
    /// for serving them from your own HTTP server. `None` when span metrics are off.
    pub fn prometheus_text(&self) -> Option<String> {
        self.span_metrics()
            .map(crate::metrics::SpanMetrics::prometheus_text)
    }

    /// The address the Prometheus listener is bound to, while it runs.
    pub fn prometheus_addr(&self) -> Option<std::net::SocketAddr> {
        self.span_metrics()
            .and_then(crate::metrics::SpanMetrics::listener_addr)
    }

    fn span_metrics(&self) -> Option<&crate::metrics::SpanMetrics> {
        self.pipeline.as_ref().and_then(|p| p.metrics.as_ref())
    }
}

impl Drop for TracingManager {
    fn drop(&mut self) {
        if self.owns_pipeline {
            self.shutdown();
        }
    }
}

/// Keeps the global pipeline alive. Dropping it flushes every ended span, shuts the
/// pipeline down within the configured bound (5 s by default), and clears the global slot
/// so a new `init()` can start a fresh pipeline.
#[must_use = "tracing stops when the guard is dropped; keep it alive for the program's life"]
#[derive(Debug)]
pub struct TracingGuard {
    manager: &'static TracingManager,
}

impl TracingGuard {
    /// The global manager this guard keeps alive.
    pub fn manager(&self) -> &'static TracingManager {
        self.manager
    }
}

impl std::ops::Deref for TracingGuard {
    type Target = TracingManager;

    fn deref(&self) -> &TracingManager {
        self.manager
    }
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        ENABLED.store(false, Ordering::Relaxed);
        self.manager.shutdown();
        let ptr = self.manager as *const TracingManager as *mut TracingManager;
        let _ = GLOBAL.compare_exchange(ptr, std::ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire);
    }
}

/// Is the global slot free for a new pipeline?
pub(crate) fn global_is_free() -> bool {
    GLOBAL.load(Ordering::Acquire).is_null()
}

/// Installs `manager` as the global one, unless another guard is alive.
pub(crate) fn install_global(manager: TracingManager, settings: &Settings) -> Option<TracingGuard> {
    let leaked: &'static TracingManager = Box::leak(Box::new(manager));
    let ptr = leaked as *const TracingManager as *mut TracingManager;
    if GLOBAL
        .compare_exchange(std::ptr::null_mut(), ptr, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        leaked.shutdown();
        return None;
    }
    if let Some(p) = &leaked.pipeline {
        p.install_global();
    }
    apply_process_settings(settings);
    ENABLED.store(leaked.is_enabled(), Ordering::Relaxed);
    Some(TracingGuard { manager: leaked })
}

/// Settings that act process-wide: span limits, propagation formats, the OpenTelemetry
/// context bridge.
pub(crate) fn apply_process_settings(settings: &Settings) {
    crate::engine::limits::set((&settings.limits).into());
    crate::propagation::configure(settings.propagators);
    crate::engine::bridge::set(settings.otel_context);
}
