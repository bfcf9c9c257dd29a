//! Exporters: where finished spans go. One file per wire format.
//!
//! Every exporter runs on the pipeline's export thread (`queue.rs`), so the application
//! never waits on the network, behind a layer that counts and logs (rate-limited) failures.

pub mod console;
pub(crate) mod convert;
pub mod jaeger;
pub(crate) mod monitored;
mod otlp;
pub(crate) mod queue;
#[cfg(feature = "zipkin")]
mod zipkin;

pub use console::ConsoleExporter;
pub use jaeger::JaegerAgentExporter;

use std::sync::Arc;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::config::{ConfigError, Exporter, Settings};
use crate::pipeline::{Parts, Pipeline};
use crate::sampling::Sampler;
use crate::stats::Counters;
use monitored::Monitored;
pub(crate) use queue::BatchObserver;
use queue::Sinks;

/// Everything a pipeline is started from except its exporter (whose type varies).
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
    /// Starts the pipeline exporting to `exporter` (counted in `stats()` under `name`).
    pub(crate) fn start<E: SpanExporter + 'static>(self, exporter: Option<(E, String)>) -> Pipeline {
        self.start_with_stats(exporter, None, None)
    }

    /// Starts the pipeline exporting with the built-in OTLP/HTTP exporter.
    fn start_direct(self, poster: otlp::Poster, name: String) -> Pipeline {
        self.start_with_stats::<Discard>(None, Some((poster, name)), None)
    }

    fn start_with_stats<E: SpanExporter + 'static>(
        self,
        exporter: Option<(E, String)>,
        direct: Option<(otlp::Poster, String)>,
        jaeger_stats: Option<jaeger::JaegerAgentStatsHandle>,
    ) -> Pipeline {
        let counters = Arc::new(Counters::default());
        let console = self.console_copy.then(|| {
            Monitored::new(
                ConsoleExporter::shared_stdout(),
                "console output".to_owned(),
                None,
            )
        });
        let exporter = exporter.map(|(e, name)| Monitored::new(e, name, Some(Arc::clone(&counters))));
        let direct = direct.map(|(poster, name)| {
            let report = monitored::Report::new(name, Some(Arc::clone(&counters)));
            otlp::OtlpHttp::new(poster, report, &self.resource)
        });
        Pipeline::start(Parts {
            settings: self.settings,
            sampler: self.sampler,
            sinks: Sinks {
                exporter,
                direct,
                console,
                observers: self.observers,
            },
            resource: self.resource,
            counters,
            jaeger_stats,
            metrics: self.metrics,
        })
    }
}

/// Starts the pipeline of the configured built-in exporter.
pub(crate) fn start_built_in(setup: Setup) -> Result<Pipeline, ConfigError> {
    let settings = &setup.settings;
    // Failures are logged under this name, so a missing collector names its address.
    let name = format!(
        "{} export to {}",
        settings.exporter,
        settings.endpoint_description()
    );
    Ok(match settings.exporter {
        Exporter::None => setup.start::<Discard>(None),
        Exporter::Otlp => {
            let poster = otlp::Poster::new(settings)?;
            setup.start_direct(poster, name)
        }
        Exporter::OtlpGrpc => {
            let exporter = otlp::grpc(settings)?;
            setup.start(Some((exporter, name)))
        }
        Exporter::JaegerAgent => {
            let exporter = JaegerAgentExporter::new(settings.jaeger_host.clone(), settings.jaeger_port);
            let stats = exporter.stats_handle();
            setup.start_with_stats(Some((exporter, name)), None, Some(stats))
        }
        Exporter::Console => {
            let console_copy = false;
            Setup {
                console_copy,
                ..setup
            }
            .start(Some((ConsoleExporter::stdout(), name)))
        }
        Exporter::Zipkin => start_zipkin(setup, name)?,
    })
}

#[cfg(feature = "zipkin")]
fn start_zipkin(setup: Setup, name: String) -> Result<Pipeline, ConfigError> {
    let exporter = zipkin::ZipkinExporter::new(&setup.settings);
    Ok(setup.start(Some((exporter, name))))
}

#[cfg(not(feature = "zipkin"))]
fn start_zipkin(_setup: Setup, _name: String) -> Result<Pipeline, ConfigError> {
    Err(ConfigError::Exporter {
        exporter: Exporter::Zipkin,
        reason: "maximus-trace was built without the `zipkin` feature".to_owned(),
    })
}

/// A transport error with its causes ("error sending request: ...: Connection refused"),
/// without the URL (it may carry credentials; the log line names the endpoint already).
pub(crate) fn describe_transport_error(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper repeats its inner error in its own message; say each thing once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The exporter of a pipeline that exports nothing (`Exporter::None`): its batches are only
/// seen by the span metrics.
#[derive(Debug)]
pub(crate) struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Ok(())
    }
}
