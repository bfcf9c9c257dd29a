//! The state shared by every request: faults to inject, the request record and
//! the backend's domain state.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::faults::FaultTable;
use crate::requests::RequestLog;
use crate::tracing::ServerTracing;
use crate::world::World;

/// Shared behind an `Arc` by the router and the [`MockMaximus`](crate::MockMaximus) handle.
#[derive(Debug)]
pub(crate) struct AppState {
    pub faults: FaultTable,
    pub requests: RequestLog,
    pub tracing: ServerTracing,
    world: Mutex<World>,
}

impl AppState {
    pub(crate) fn new(tracing: ServerTracing) -> Self {
        Self {
            faults: FaultTable::default(),
            requests: RequestLog::default(),
            tracing,
            world: Mutex::new(World::new()),
        }
    }

    /// Locks the domain state. A handler that panicked mid-update leaves it
    /// usable: the mock must keep answering other tests.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
