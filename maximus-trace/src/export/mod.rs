//! Exporters: where finished spans go. One file per wire format.
//!
//! Every exporter runs behind a batch processor on its own thread, so the application never
//! waits on the network, and behind a layer that counts and logs (rate-limited) failures.

pub mod console;
pub mod jaeger;
mod monitored;
mod otlp;
mod queue;
#[cfg(feature = "zipkin")]
mod zipkin;

pub use console::ConsoleExporter;
pub use jaeger::JaegerAgentExporter;

use opentelemetry_sdk::trace::SpanExporter;

use crate::config::{BatchSettings, ConfigError, Exporter, Settings};
use monitored::Monitored;
pub(crate) use queue::{BatchObserver, QueueProcessor};
use std::sync::Arc;

/// What the export thread needs besides the exporter.
#[derive(Clone)]
pub(crate) struct ExportSetup {
    pub batch: BatchSettings,
    pub observers: Vec<Arc<dyn BatchObserver>>,
}

/// A span processor for `exporter`: the bounded queue and its export thread.
pub(crate) fn batch_processor<E: SpanExporter + 'static>(
    exporter: E,
    name: String,
    setup: &ExportSetup,
) -> QueueProcessor {
    QueueProcessor::start(
        Monitored::new(exporter, name, true),
        setup.batch,
        setup.observers.clone(),
        true,
    )
}

/// The extra processor of `print_traces(true)`: a console copy that `stats()` ignores.
pub(crate) fn console_copy(batch: &BatchSettings) -> QueueProcessor {
    let exporter = Monitored::new(ConsoleExporter::stdout(), "console output".to_owned(), false);
    QueueProcessor::start(exporter, *batch, Vec::new(), false)
}

/// The configured built-in exporter's processor (`None` for [`Exporter::None`]), and the
/// Jaeger exporter's own counters when that is the exporter.
pub(crate) fn built_in(
    settings: &Settings,
    setup: &ExportSetup,
) -> Result<Option<(QueueProcessor, Option<jaeger::JaegerAgentStatsHandle>)>, ConfigError> {
    // Failures are logged under this name, so a missing collector names its address.
    let name = format!(
        "{} export to {}",
        settings.exporter,
        settings.endpoint_description()
    );
    let processor = match settings.exporter {
        Exporter::None => return Ok(None),
        Exporter::Otlp => batch_processor(otlp::http(settings)?, name, setup),
        Exporter::OtlpGrpc => batch_processor(otlp::grpc(settings)?, name, setup),
        Exporter::JaegerAgent => {
            let exporter = JaegerAgentExporter::new(settings.jaeger_host.clone(), settings.jaeger_port);
            let stats = exporter.stats_handle();
            return Ok(Some((batch_processor(exporter, name, setup), Some(stats))));
        }
        Exporter::Console => batch_processor(ConsoleExporter::stdout(), name, setup),
        Exporter::Zipkin => zipkin_processor(settings, name, setup)?,
    };
    Ok(Some((processor, None)))
}

#[cfg(feature = "zipkin")]
fn zipkin_processor(
    settings: &Settings,
    name: String,
    setup: &ExportSetup,
) -> Result<QueueProcessor, ConfigError> {
    Ok(batch_processor(zipkin::exporter(settings)?, name, setup))
}

#[cfg(not(feature = "zipkin"))]
fn zipkin_processor(
    _settings: &Settings,
    _name: String,
    _setup: &ExportSetup,
) -> Result<QueueProcessor, ConfigError> {
    Err(ConfigError::Exporter {
        exporter: Exporter::Zipkin,
        reason: "maximus-trace was built without the `zipkin` feature".to_owned(),
    })
}
