//! `CountingExporter`: the end of every benchmarked pipeline. It counts the spans it is
//! handed and drops them, so a bench measures the pipeline, not an encoder or a network.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Counts exported spans (shared by every clone) and discards them.
#[derive(Clone, Debug, Default)]
pub struct CountingExporter {
    spans: Arc<AtomicU64>,
    gate: Option<Arc<Gate>>,
}

impl CountingExporter {
    /// An exporter that accepts every batch at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// An exporter whose `export` waits until the returned gate is opened: ended spans then
    /// stay buffered in the pipeline, which is what the memory bench weighs.
    pub fn gated() -> (Self, Arc<Gate>) {
        let gate = Arc::new(Gate::default());
        let exporter = CountingExporter {
            spans: Arc::default(),
            gate: Some(Arc::clone(&gate)),
        };
        (exporter, gate)
    }

    /// Spans exported so far, by this exporter and its clones.
    pub fn spans(&self) -> u64 {
        self.spans.load(Ordering::Relaxed)
    }
}

impl SpanExporter for CountingExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if let Some(gate) = &self.gate {
            // Blocks the export thread itself, which is what a stuck exporter does.
            gate.wait();
        }
        self.spans.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Holds exports back until opened.
#[derive(Debug, Default)]
pub struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    /// Lets every waiting and later export through.
    pub fn open(&self) {
        *self.open.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.opened.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        while !*open {
            open = self.opened.wait(open).unwrap_or_else(PoisonError::into_inner);
        }
    }
}
