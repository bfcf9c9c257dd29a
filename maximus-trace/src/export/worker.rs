//! The export thread: takes what the queue holds, collects the ended spans of idle threads
//! on every tick and flush, converts records in batches and hands them to the sinks, and
//! carries out the queue's flush and shutdown orders.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use opentelemetry_sdk::Resource;

use super::convert::Converter;
use super::queue::{Completeness, POOL, Queue};
use super::sinks::Sinks;
use super::staged::Staged;
use crate::config::BatchSettings;
use crate::engine::{Record, local, registry};

/// What the export thread needs to know about its pipeline.
pub(crate) struct Worker {
    pub queue: Arc<Queue>,
    pub sinks: Sinks,
    pub batch: BatchSettings,
    pub resource: Resource,
    /// The pipeline's generation when it collects from thread buffers (the global one),
    /// read on every sweep since a pipeline becomes global after it started.
    pub global: Arc<AtomicU64>,
}

/// Sentinel in [`Worker::global`]: not the global pipeline.
pub(crate) const NOT_GLOBAL: u64 = 0;

impl Worker {
    pub(crate) fn spawn(self) -> Option<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("maximus-trace-export".into())
            .spawn(move || self.run())
            .map_err(|e| log::error!("maximus-trace: cannot start the export thread: {e}"))
            .ok()
    }

    fn run(mut self) {
        self.sinks.set_resource(&self.resource);
        let queue = Arc::clone(&self.queue);
        let mut converter = Converter::new();
        // Chunks taken from the queue and not exported yet (the tail of a batch).
        let mut staged = Staged::default();
        let batch_size = self.batch.max_export_batch_size.max(1);
        loop {
            let work = queue.next_work(&self.batch);
            let mut chunks = work.chunks;
            if work.sweep {
                local::bump_epoch();
                // Everything idle threads hold goes out in this round too (at shutdown as
                // well: the queue no longer admits anything by then).
                chunks.extend(self.steal_idle());
            }
            converter.reanchor();
            for chunk in chunks {
                staged.add(chunk);
            }
            while staged.len() >= batch_size || (work.sweep && staged.len() > 0) {
                let batch = staged.take(batch_size);
                let records = batch.iter().map(Vec::len).sum();
                let bytes = Record::retained_bytes_of(batch.iter().flatten());
                let emptied = self.sinks.export(batch, &converter, queue.counters());
                queue.release(records, bytes);
                queue.recycle(emptied);
            }
            if let Some(deadline) = work.shutdown {
                queue.finished(self.sinks.shutdown(deadline));
                return;
            }
            let completeness = match work.flush {
                Some((_, deadline)) if !self.sinks.wait_idle(deadline) => Completeness::Incomplete,
                _ => Completeness::Complete,
            };
            queue.round_done(work.flush.map(|(target, _)| target), completeness);
        }
    }

    /// The ended records of every idle thread (global pipeline only), to export now. At
    /// most a thread buffer per thread, so they bypass the queue's capacity.
    fn steal_idle(&self) -> Vec<Vec<Record>> {
        let generation = self.global.load(Ordering::Acquire);
        if generation == NOT_GLOBAL {
            return Vec::new();
        }
        let mut spares = self.queue.spares(POOL);
        let mut stolen = Vec::new();
        registry::for_each(|thread| {
            let spare = spares.pop().unwrap_or_default();
            match thread.steal(generation, spare) {
                Ok(mut records) => {
                    records.retain(Converter::exports);
                    self.queue
                        .hold(records.len(), Record::retained_bytes_of(&records));
                    stolen.push(records);
                }
                Err(spare) => spares.push(spare),
            }
        });
        self.queue.recycle(spares);
        stolen.retain(|chunk| !chunk.is_empty());
        stolen
    }
}
