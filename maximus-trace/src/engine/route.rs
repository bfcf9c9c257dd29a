//! Where a span's record goes, as the engine sees it: the policy spans read when they start
//! (the pipeline generation, the sampler, which short paths apply) and the [`Sink`] that
//! takes ended records. The pipeline above implements the sink (any other type can: nothing
//! here assumes the pipeline's queue). The engine never names the pipeline.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use super::record::Record;
use super::sampling::Sampler;

/// What takes the records of ended spans, and counts the spans that pass no thread buffer.
pub(crate) trait Sink: Send + Sync + fmt::Debug {
    /// Takes a thread's buffer of exportable records (ended and sampled: the engine leaves
    /// the others out) and gives an empty buffer back.
    fn exchange(&self, chunk: Vec<Record>) -> Vec<Record>;

    /// Takes one ended record that did not end in a thread buffer.
    fn push(&self, record: Record);

    /// Counts spans started and ended outside the threads' own counters (a standalone
    /// manager's spans, an exiting thread's counts).
    fn count(&self, started: u64, ended: u64);
}

/// Generations start at 1 ([`NO_GENERATION`] is 0).
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// No route's generation: what the global slot reads before any `init()`.
pub(crate) const NO_GENERATION: u64 = 0;

/// One pipeline as the engine sees it.
pub(crate) struct Route {
    /// Tells this route's records from those of earlier ones in thread buffers.
    pub generation: u64,
    pub sampler: Sampler,
    /// Spans take the short path: a built-in sampler and no OpenTelemetry context bridge.
    pub short_path: bool,
    /// On the short path, a span under a sampled span is sampled (a parent-based sampler).
    pub children_follow: bool,
    active: AtomicBool,
    sink: Arc<dyn Sink>,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("generation", &self.generation)
            .field("active", &self.is_active())
            .finish_non_exhaustive()
    }
}

impl Route {
    /// A new generation deciding with `sampler` and delivering to `sink`; `bridge`: the
    /// OpenTelemetry context bridge is on (spans then leave the short path).
    pub(crate) fn new(sampler: Sampler, bridge: bool, sink: Arc<dyn Sink>) -> Self {
        let short_path = !bridge && !matches!(sampler, Sampler::Custom(_));
        Route {
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
            children_follow: short_path && sampler.is_parent_based(),
            short_path,
            sampler,
            active: AtomicBool::new(true),
            sink,
        }
    }

    /// Whether spans are still recorded.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Stops recording; whether this call stopped it (false when it was stopped already).
    pub(crate) fn deactivate(&self) -> bool {
        self.active.swap(false, Ordering::SeqCst)
    }

    /// See [`Sink::exchange`].
    pub(crate) fn exchange(&self, chunk: Vec<Record>) -> Vec<Record> {
        self.sink.exchange(chunk)
    }

    /// See [`Sink::push`].
    pub(crate) fn push(&self, record: Record) {
        self.sink.push(record);
    }

    /// Counts one span start that no thread counted.
    pub(crate) fn count_started(&self) {
        self.sink.count(1, 0);
    }

    /// Counts one span end that no thread counted.
    pub(crate) fn count_ended(&self) {
        self.sink.count(0, 1);
    }

    /// The counts of a thread that is exiting.
    pub(crate) fn retire_counts(&self, started: u64, ended: u64) {
        self.sink.count(started, ended);
    }
}

/// The global route, read on every span (a leaked strong count of an `Arc<Route>`).
static GLOBAL: AtomicPtr<Route> = AtomicPtr::new(std::ptr::null_mut());
/// `global()`'s generation, kept beside it so the per-span path (a span under an unsampled
/// one) reads one word instead of following the pointer.
static GLOBAL_GENERATION: AtomicU64 = AtomicU64::new(NO_GENERATION);

/// Makes `route` the global one. Its strong count is leaked: spans hold `&'static Route`.
pub(crate) fn install_global(route: Arc<Route>) {
    let generation = route.generation;
    let leaked = Arc::into_raw(route);
    GLOBAL_GENERATION.store(generation, Ordering::Relaxed);
    GLOBAL.store(leaked.cast_mut(), Ordering::Release);
}

/// The global route (active or shut down), if `init()` ever installed one.
#[inline]
pub(crate) fn global() -> Option<&'static Route> {
    let ptr = GLOBAL.load(Ordering::Acquire);
    // SAFETY: a non-null pointer in GLOBAL comes from `Arc::into_raw` in `install_global`,
    // whose strong count is never given back: the route lives for the rest of the process.
    (!ptr.is_null()).then(|| unsafe { &*ptr })
}

/// The global route's generation (what per-thread counters count for).
#[inline]
pub(crate) fn global_generation() -> u64 {
    GLOBAL_GENERATION.load(Ordering::Relaxed)
}

/// The route a span belongs to.
#[derive(Clone, Debug)]
pub(crate) enum RouteRef {
    /// Spans go through thread buffers.
    Global(&'static Route),
    /// Spans go straight to this route's sink.
    Standalone(Arc<Route>),
}

impl std::ops::Deref for RouteRef {
    type Target = Route;

    fn deref(&self) -> &Route {
        match self {
            RouteRef::Global(r) => r,
            RouteRef::Standalone(r) => r,
        }
    }
}

impl RouteRef {
    /// `route`, as the global one when it is installed as such.
    pub(crate) fn of(route: &Arc<Route>) -> Self {
        match global() {
            Some(global) if std::ptr::eq(global, &**route) => RouteRef::Global(global),
            _ => RouteRef::Standalone(Arc::clone(route)),
        }
    }

    /// Counts a span start where this route counts them.
    pub(crate) fn count_started(&self) {
        match self {
            RouteRef::Global(r) => super::local::count(true, r.generation),
            RouteRef::Standalone(r) => r.count_started(),
        }
    }
}
