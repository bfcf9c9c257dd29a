//! Where the export thread sends a batch: the exporter (which counts its own outcome), the
//! console copy, and the observers (span metrics). A panicking exporter costs its batch, not
//! the export thread.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::convert::Converter;
use super::otlp::OtlpHttp;
use super::queue::Completeness;
use crate::engine::Record;
use crate::stats::{Counters, ExportFailure};

/// Sees every batch on the export thread before the exporter does (span metrics).
pub(crate) trait BatchObserver: Send + Sync {
    /// Called with each batch, off the application's threads.
    fn observe(&self, batch: &[SpanData]);
}

/// A destination for batches of `SpanData` that counts its own outcomes in the pipeline's
/// counters (each span exported or failed).
pub(crate) trait Deliver: Send {
    /// The resource every batch is sent for.
    fn set_resource(&mut self, resource: &Resource);

    /// Sends one batch and counts the outcome.
    fn deliver(&self, batch: Vec<SpanData>);

    /// Refuses further batches. Whether every batch handed over has its outcome counted by
    /// `deadline` (an exporter that sends asynchronously may still have some out).
    fn shutdown(&self, deadline: Instant) -> bool;
}

/// The export thread's destinations for one pipeline.
#[derive(Default)]
pub(crate) struct Sinks {
    /// The exporter, given `SpanData`.
    pub exporter: Option<Box<dyn Deliver>>,
    /// The built-in OTLP/HTTP exporter, given records (it counts its own results).
    pub direct: Option<OtlpHttp>,
    /// A copy to the console that `stats()` does not count (`print_traces(true)`).
    pub console: Option<Box<dyn Deliver>>,
    pub observers: Vec<Arc<dyn BatchObserver>>,
}

impl Sinks {
    /// Whether spans go anywhere that counts them (else, with `Exporter::None`, they are
    /// only seen by the span metrics, and never counted exported or lost).
    pub(crate) fn delivers(&self) -> bool {
        self.exporter.is_some() || self.direct.is_some()
    }

    pub(crate) fn set_resource(&mut self, resource: &Resource) {
        if let Some(e) = &mut self.exporter {
            e.set_resource(resource);
        }
        if let Some(c) = &mut self.console {
            c.set_resource(resource);
        }
    }

    /// Whether anything needs the batch as OpenTelemetry `SpanData`.
    fn wants_span_data(&self) -> bool {
        self.exporter.is_some() || self.console.is_some() || !self.observers.is_empty()
    }

    /// Exports one batch (a run of chunks); gives the emptied chunks back for reuse.
    pub(crate) fn export(
        &mut self,
        mut batch: Vec<Vec<Record>>,
        converter: &Converter,
        counters: &Counters,
    ) -> Vec<Vec<Record>> {
        let count = batch.iter().map(Vec::len).sum();
        if let Some(direct) = &mut self.direct {
            let records = batch.iter().flatten();
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                direct.export(records, count, converter.clock())
            }));
            if outcome.is_err() {
                panicked(counters, count);
            }
        }
        if !self.wants_span_data() {
            batch.iter_mut().for_each(Vec::clear);
            return batch;
        }
        let data: Vec<SpanData> = batch
            .iter_mut()
            .flat_map(|chunk| chunk.drain(..))
            .map(|r| converter.convert(r))
            .collect();
        self.export_span_data(data, count, counters);
        batch
    }

    fn export_span_data(&self, batch: Vec<SpanData>, count: usize, counters: &Counters) {
        for observer in &self.observers {
            observer.observe(&batch);
        }
        if let Some(console) = &self.console {
            let copy = batch.clone();
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| console.deliver(copy)));
        }
        let Some(exporter) = &self.exporter else { return };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| exporter.deliver(batch)));
        if outcome.is_err() {
            panicked(counters, count);
        }
    }

    /// Waits (until `deadline` at most) until what was handed to the exporters has gone out
    /// (a flush); whether it has.
    pub(crate) fn wait_idle(&self, deadline: Instant) -> bool {
        self.direct
            .as_ref()
            .is_none_or(|direct| direct.wait_idle(deadline))
    }

    /// Shuts every destination down; whether every batch handed over has its outcome
    /// counted by `deadline`.
    pub(crate) fn shutdown(&mut self, deadline: Instant) -> Completeness {
        let mut complete = true;
        if let Some(e) = &self.exporter {
            complete &= e.shutdown(deadline);
        }
        if let Some(direct) = &mut self.direct {
            complete &= direct.shutdown(deadline);
        }
        if let Some(c) = &self.console {
            c.shutdown(deadline);
        }
        match complete {
            true => Completeness::Complete,
            false => Completeness::Incomplete,
        }
    }
}

fn panicked(counters: &Counters, count: usize) {
    counters.failed(count, failure("the span exporter panicked"));
    log::error!("maximus-trace: the span exporter panicked; {count} spans were lost");
}

/// An export failure described by `text`.
pub(crate) fn failure(text: impl Into<String>) -> ExportFailure {
    Arc::from(Box::<dyn std::error::Error + Send + Sync>::from(text.into()))
}
