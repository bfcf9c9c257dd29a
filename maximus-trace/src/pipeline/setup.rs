//! Assembling a pipeline: the destination the exporter module built, the console copy and
//! the observers (span metrics), the counters they share, and the export thread.

use std::sync::Arc;

use opentelemetry_sdk::Resource;

use super::{Parts, Pipeline};
use crate::config::{ConfigError, Settings};
use crate::engine::sampling::Sampler;
use crate::export::{self, BatchObserver, Destination};
use crate::stats::Counters;

/// Everything a pipeline is started from except where its spans go.
pub(crate) struct Setup {
    pub settings: Settings,
    pub sampler: Sampler,
    pub observers: Vec<Arc<dyn BatchObserver>>,
    /// Also print every batch (`print_traces(true)`).
    pub console_copy: bool,
    pub resource: Resource,
    pub metrics: Option<crate::metrics::SpanMetrics>,
}

impl Setup {
    /// Starts the pipeline exporting with the configured built-in exporter.
    pub(crate) fn start_built_in(self) -> Result<Pipeline, ConfigError> {
        let counters = Arc::new(Counters::default());
        let destination = export::built_in(&self.settings, &self.resource, &counters)?;
        Ok(self.start(destination, counters))
    }

    /// Starts the pipeline exporting to `destination`, whose outcomes count in `counters`.
    pub(crate) fn start(self, destination: Destination, counters: Arc<Counters>) -> Pipeline {
        let mut sinks = destination.sinks;
        sinks.observers = self.observers;
        if self.console_copy {
            sinks.console = Some(export::console_copy());
        }
        Pipeline::start(Parts {
            settings: self.settings,
            sampler: self.sampler,
            sinks,
            resource: self.resource,
            counters,
            jaeger_stats: destination.jaeger_stats,
            metrics: self.metrics,
        })
    }
}
