//! Counters that make the pipeline's health visible: [`crate::TracingManager::stats`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A snapshot of the pipeline's counters since the last `init()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Spans started (sampled or not).
    pub spans_started: u64,
    /// Spans ended.
    pub spans_ended: u64,
    /// Spans the exporter accepted.
    pub spans_exported: u64,
    /// Spans in batches the exporter failed to send.
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
    /// Spans dropped because even trimmed they exceed the wire's size limit.
    pub spans_dropped_too_large: u64,
}

/// One pipeline's counters. Spans of the global pipeline are counted per thread instead
/// (`engine/shared.rs`, no shared cache line per span); `started` and `ended` here hold the
/// rest: spans of a standalone manager, and the counts of threads that have exited.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    started: AtomicU64,
    ended: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
    errors: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_after_shutdown: AtomicU64,
    /// Spans that entered the export queue (or were taken from a thread by the export
    /// thread): each ends exported, failed, or undelivered when a shutdown gives up.
    admitted: AtomicU64,
    /// A shutdown gave up: what was undelivered is counted as failed, and results that come
    /// later (an export finishing after all) are not counted again.
    abandoned: AtomicBool,
}

impl Counters {
    pub fn started(&self, spans: u64) {
        self.started.fetch_add(spans, Ordering::Relaxed);
    }

    pub fn ended(&self, spans: u64) {
        self.ended.fetch_add(spans, Ordering::Relaxed);
    }

    pub fn exported(&self, spans: usize) {
        if !self.abandoned.load(Ordering::Relaxed) {
            self.exported.fetch_add(spans as u64, Ordering::Relaxed);
        }
    }

    pub fn failed(&self, spans: usize) {
        if !self.abandoned.load(Ordering::Relaxed) {
            self.failed.fetch_add(spans as u64, Ordering::Relaxed);
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn admitted(&self, spans: usize) {
        self.admitted.fetch_add(spans as u64, Ordering::Relaxed);
    }

    /// A shutdown gave up: counts every admitted span without a result as failed, and
    /// ignores results from now on. The number counted.
    pub fn abandon_undelivered(&self) -> u64 {
        if self.abandoned.swap(true, Ordering::SeqCst) {
            return 0;
        }
        let resolved = self.exported.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst);
        let lost = self.admitted.load(Ordering::SeqCst).saturating_sub(resolved);
        if lost > 0 {
            self.failed.fetch_add(lost, Ordering::SeqCst);
            self.errors.fetch_add(1, Ordering::SeqCst);
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
        Stats {
            spans_started: self.started.load(Ordering::Relaxed),
            spans_ended: self.ended.load(Ordering::Relaxed),
            spans_exported: self.exported.load(Ordering::Relaxed),
            spans_failed: self.failed.load(Ordering::Relaxed),
            export_errors: self.errors.load(Ordering::Relaxed),
            spans_dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            spans_dropped_after_shutdown: self.dropped_after_shutdown.load(Ordering::Relaxed),
            spans_trimmed: 0,
            spans_dropped_too_large: 0,
        }
    }
}
