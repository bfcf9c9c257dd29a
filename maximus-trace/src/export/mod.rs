//! Exporters: where finished spans go. One file per wire format.
//!
//! Every exporter runs behind a batch processor on its own thread, so the application never
//! waits on the network, and behind a layer that counts and logs (rate-limited) failures.

pub mod console;
pub mod jaeger;
mod monitored;
mod otlp;
#[cfg(feature = "zipkin")]
mod zipkin;

pub use console::ConsoleExporter;
pub use jaeger::JaegerAgentExporter;

use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SpanExporter};

use crate::config::{BatchSettings, ConfigError, Exporter, Settings};
use monitored::Monitored;

/// A span processor for `exporter`, batching on a background thread with our settings.
pub(crate) fn batch_processor<E: SpanExporter + 'static>(
    exporter: E,
    name: String,
    batch: &BatchSettings,
) -> BatchSpanProcessor {
    BatchSpanProcessor::builder(Monitored::new(exporter, name, true))
        .with_batch_config(batch_config(batch))
        .build()
}

/// The extra processor of `print_traces(true)`: a console copy that `stats()` ignores.
pub(crate) fn console_copy(batch: &BatchSettings) -> BatchSpanProcessor {
    let exporter = Monitored::new(ConsoleExporter::stdout(), "console output".to_owned(), false);
    BatchSpanProcessor::builder(exporter)
        .with_batch_config(batch_config(batch))
        .build()
}

fn batch_config(batch: &BatchSettings) -> opentelemetry_sdk::trace::BatchConfig {
    BatchConfigBuilder::default()
        .with_max_queue_size(batch.max_queue_size)
        .with_max_export_batch_size(batch.max_export_batch_size)
        .with_scheduled_delay(batch.schedule_delay)
        .build()
}

/// The processor for the configured built-in exporter, or `None` for [`Exporter::None`].
pub(crate) fn built_in(settings: &Settings) -> Result<Option<BatchSpanProcessor>, ConfigError> {
    let batch = &settings.batch;
    // Failures are logged under this name, so a missing collector names its address.
    let name = format!(
        "{} export to {}",
        settings.exporter,
        settings.endpoint_description()
    );
    Ok(Some(match settings.exporter {
        Exporter::None => return Ok(None),
        Exporter::Otlp => batch_processor(otlp::http(settings)?, name, batch),
        Exporter::OtlpGrpc => batch_processor(otlp::grpc(settings)?, name, batch),
        Exporter::JaegerAgent => batch_processor(
            JaegerAgentExporter::new(settings.jaeger_host.clone(), settings.jaeger_port),
            name,
            batch,
        ),
        Exporter::Console => batch_processor(ConsoleExporter::stdout(), name, batch),
        Exporter::Zipkin => zipkin_processor(settings, name)?,
    }))
}

#[cfg(feature = "zipkin")]
fn zipkin_processor(settings: &Settings, name: String) -> Result<BatchSpanProcessor, ConfigError> {
    Ok(batch_processor(
        zipkin::exporter(settings)?,
        name,
        &settings.batch,
    ))
}

#[cfg(not(feature = "zipkin"))]
fn zipkin_processor(_settings: &Settings, _name: String) -> Result<BatchSpanProcessor, ConfigError> {
    Err(ConfigError::Exporter {
        exporter: Exporter::Zipkin,
        reason: "maximus-trace was built without the `zipkin` feature".to_owned(),
    })
}
