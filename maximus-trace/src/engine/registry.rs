//! Every thread that has made a span, so the export thread can take the ended spans of idle
//! threads, `stats()` can add up per-thread counters, and another thread can reach a span's
//! owner.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::shared::ThreadShared;

static THREADS: Mutex<Vec<Arc<ThreadShared>>> = Mutex::new(Vec::new());
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

fn threads() -> MutexGuard<'static, Vec<Arc<ThreadShared>>> {
    THREADS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers the calling thread (once, at its first span).
pub(crate) fn register() -> Arc<ThreadShared> {
    let shared = Arc::new(ThreadShared::new(NEXT_TOKEN.fetch_add(1, Ordering::Relaxed)));
    threads().push(Arc::clone(&shared));
    shared
}

/// Removes a thread that is exiting.
pub(crate) fn unregister(token: u64) {
    threads().retain(|t| t.token != token);
}

/// The thread with `token`, if it is still running.
pub(crate) fn find(token: u64) -> Option<Arc<ThreadShared>> {
    threads().iter().find(|t| t.token == token).cloned()
}

/// Calls `f` for every registered thread, under the registry's lock.
pub(crate) fn for_each(mut f: impl FnMut(&ThreadShared)) {
    for thread in threads().iter() {
        f(thread);
    }
}
