//! `SpanCell`: the record of a span that is not tied to one thread's stack (a future's span,
//! `SpanBuilder::start`, a standalone manager's span), behind a lock, shared by the owning
//! [`crate::Span`] and any [`crate::SpanRef`].

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::clock::{self, Ticks};
use super::local;
use super::record::Record;
use crate::pipeline::PipelineRef;

#[derive(Debug)]
pub(crate) struct SpanCell {
    pipeline: PipelineRef,
    /// `None` once the span has ended.
    record: Mutex<Option<Record>>,
}

impl SpanCell {
    pub(crate) fn new(pipeline: PipelineRef, record: Record) -> Self {
        SpanCell {
            pipeline,
            record: Mutex::new(Some(record)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Record>> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the record while the span is open; `None` after it ended.
    pub(crate) fn with_record<T>(&self, f: impl FnOnce(&mut Record) -> T) -> Option<T> {
        self.lock().as_mut().map(f)
    }

    pub(crate) fn is_open(&self) -> bool {
        self.lock().is_some()
    }

    /// Ends the span now (once; later calls do nothing) and hands the record to the pipeline.
    pub(crate) fn end(&self) {
        self.end_at(clock::now());
    }

    pub(crate) fn end_at(&self, at: Ticks) {
        let Some(mut record) = self.lock().take() else {
            return;
        };
        if std::thread::panicking() {
            crate::error::record_panic(&mut record);
        }
        record.finish(at);
        local::deliver(&self.pipeline, record);
    }
}
