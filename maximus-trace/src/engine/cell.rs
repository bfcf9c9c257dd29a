//! `SpanCell`: the record of a span that is not tied to one thread's stack (a future's span,
//! `SpanBuilder::start`, a standalone manager's span), behind a lock, shared by the owning
//! [`crate::Span`] and any [`crate::SpanRef`].

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::clock::{self, Ticks};
use super::local;
use super::record::Record;
use super::route::RouteRef;

#[derive(Debug)]
pub(crate) struct SpanCell {
    pipeline: RouteRef,
    /// `None` once the span has ended.
    record: Mutex<Option<Record>>,
}

/// Cells a thread keeps for reuse: at most this many.
const POOL: usize = 16;

thread_local! {
    /// Ended cells of the global pipeline that nothing else referred to: the next owned span
    /// on this thread (an `async fn`'s, usually) takes one instead of allocating, so a span
    /// that lives inside one future costs no allocation and no free once a thread is warm.
    static SPARE: RefCell<Vec<Arc<SpanCell>>> = const { RefCell::new(Vec::new()) };
}

impl SpanCell {
    /// The cell of a span starting now: a spare one of this thread's when the span is the
    /// global pipeline's, else a new allocation.
    pub(crate) fn open(pipeline: RouteRef, record: Record) -> Arc<SpanCell> {
        if let RouteRef::Global(global) = pipeline {
            let spare = SPARE
                .try_with(|pool| pool.try_borrow_mut().ok()?.pop())
                .ok()
                .flatten();
            if let Some(mut cell) = spare {
                if let Some(unique) = Arc::get_mut(&mut cell) {
                    unique.pipeline = RouteRef::Global(global);
                    *unique.record.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(record);
                    return cell;
                }
            }
        }
        Arc::new(SpanCell {
            pipeline,
            record: Mutex::new(Some(record)),
        })
    }

    /// Keeps an ended cell of the global pipeline for reuse when `cell` is its last
    /// reference; otherwise just drops this reference.
    pub(crate) fn recycle(mut cell: Arc<SpanCell>) {
        let reusable = match Arc::get_mut(&mut cell) {
            Some(unique) => {
                matches!(unique.pipeline, RouteRef::Global(_))
                    && unique.record.get_mut().is_ok_and(|r| r.is_none())
            }
            None => false,
        };
        if reusable {
            let _ = SPARE.try_with(|pool| {
                if let Ok(mut pool) = pool.try_borrow_mut() {
                    if pool.len() < POOL {
                        pool.push(cell);
                    }
                }
            });
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
            crate::engine::exception::record_panic(&mut record);
        }
        record.finish(at);
        local::deliver(&self.pipeline, record);
    }
}
