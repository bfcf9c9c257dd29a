//! Counters that make the pipeline's health visible: [`crate::TracingManager::stats`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A snapshot of the pipeline's counters since the last `init()`.
///
/// Once a flush or the shutdown has completed, every sampled span that ended is counted in
/// exactly one of `spans_exported`, `spans_failed`, `spans_dropped_queue_full`,
/// `spans_dropped_after_shutdown` and `spans_dropped_too_large`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Spans started (sampled or not).
    pub spans_started: u64,
    /// Spans ended.
    pub spans_ended: u64,
    /// Spans the exporter accepted.
    pub spans_exported: u64,
    /// Spans the exporter failed to send, and, when the shutdown bound ran out, the spans
    /// it had not delivered by then.
    pub spans_failed: u64,
    /// Export calls that failed.
    pub export_errors: u64,
    /// Ended spans dropped because the export queue was full (the collector is slower than
    /// the application; memory stays bounded instead).
    pub spans_dropped_queue_full: u64,
    /// Spans that reached the export queue after it shut down: spans that ended after the
    /// shutdown, and ended spans that a thread still inside a span was holding when it began
    /// (they are handed over at that thread's next span end). Not a sign of load, so counted
    /// apart from the queue's drops.
    pub spans_dropped_after_shutdown: u64,
    /// Spans sent with attributes or events removed to fit the wire's size limit (Jaeger UDP).
    pub spans_trimmed: u64,
    /// Spans dropped because even trimmed they exceed the wire's size limit (Jaeger UDP;
    /// not counted as failed).
    pub spans_dropped_too_large: u64,
}

/// One pipeline's counters. Spans of the global pipeline are counted per thread instead
/// (`engine/shared.rs`, no shared cache line per span); `started` and `ended` here hold the
/// rest: spans of a standalone manager, and the counts of threads that have exited.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    started: AtomicU64,
    ended: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_after_shutdown: AtomicU64,
    /// Export results, counted per batch. One lock for all of them, so a result and a
    /// shutdown giving up cannot interleave: a batch is counted exported, failed, or
    /// undelivered, never two of these.
    outcomes: Mutex<Outcomes>,
}

#[derive(Debug, Default)]
struct Outcomes {
    exported: u64,
    failed: u64,
    errors: u64,
    /// Spans that entered the export queue (or were taken from a thread by the export
    /// thread): each ends exported, failed, or undelivered when a shutdown gives up.
    admitted: u64,
    /// A shutdown gave up: what was undelivered is counted as failed, and results that come
    /// later (an export finishing after all) are not counted again.
    abandoned: bool,
    /// The latest export failure, for a flush to report.
    last_failure: Option<ExportFailure>,
}

/// Why an export failed, kept for the flush that waits for it.
pub(crate) type ExportFailure = Arc<dyn std::error::Error + Send + Sync>;

impl Counters {
    pub fn started(&self, spans: u64) {
        self.started.fetch_add(spans, Ordering::Relaxed);
    }

    pub fn ended(&self, spans: u64) {
        self.ended.fetch_add(spans, Ordering::Relaxed);
    }

    fn outcomes(&self) -> MutexGuard<'_, Outcomes> {
        self.outcomes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn exported(&self, spans: usize) {
        let mut outcomes = self.outcomes();
        if !outcomes.abandoned {
            outcomes.exported += spans as u64;
        }
    }

    pub fn failed(&self, spans: usize, cause: ExportFailure) {
        let mut outcomes = self.outcomes();
        if !outcomes.abandoned {
            outcomes.failed += spans as u64;
            outcomes.errors += 1;
            outcomes.last_failure = Some(cause);
        }
    }

    pub fn admitted(&self, spans: usize) {
        self.outcomes().admitted += spans as u64;
    }

    /// Spans failed so far, and the latest failure's cause.
    pub fn failures(&self) -> (u64, Option<ExportFailure>) {
        let outcomes = self.outcomes();
        (outcomes.failed, outcomes.last_failure.clone())
    }

    /// A shutdown gave up: counts every admitted span without a result as failed, and
    /// ignores results from now on. The number counted.
    pub fn abandon_undelivered(&self) -> u64 {
        let mut outcomes = self.outcomes();
        if std::mem::replace(&mut outcomes.abandoned, true) {
            return 0;
        }
        let resolved = outcomes.exported + outcomes.failed;
        let lost = outcomes.admitted.saturating_sub(resolved);
        if lost > 0 {
            outcomes.failed += lost;
            outcomes.errors += 1;
        }
        lost
    }

    pub fn dropped_queue_full(&self, spans: usize) {
        self.dropped_queue_full.fetch_add(spans as u64, Ordering::Relaxed);
    }

    pub fn dropped_after_shutdown(&self, spans: usize) {
        self.dropped_after_shutdown
            .fetch_add(spans as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let outcomes = self.outcomes();
        Stats {
            spans_started: self.started.load(Ordering::Relaxed),
            spans_ended: self.ended.load(Ordering::Relaxed),
            spans_exported: outcomes.exported,
            spans_failed: outcomes.failed,
            export_errors: outcomes.errors,
            spans_dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            spans_dropped_after_shutdown: self.dropped_after_shutdown.load(Ordering::Relaxed),
            spans_trimmed: 0,
            spans_dropped_too_large: 0,
        }
    }
}
