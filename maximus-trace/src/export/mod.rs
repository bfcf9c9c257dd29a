//! Exporters: where finished spans go. One file per wire format, beside the machinery that
//! feeds them: the queue the application's threads hand records to (`queue.rs`), the export
//! thread (`worker.rs`) and the destinations it sends each batch to (`sinks.rs`), so the
//! application never waits on the network. Every exporter is behind a layer that counts its
//! outcomes and logs (rate-limited) its failures (`monitored.rs`).

pub mod console;
pub(crate) mod convert;
pub mod jaeger;
pub(crate) mod monitored;
mod otlp;
pub(crate) mod queue;
pub(crate) mod sinks;
mod staged;
pub(crate) mod worker;
#[cfg(feature = "zipkin")]
mod zipkin;

pub use console::ConsoleExporter;
pub use jaeger::JaegerAgentExporter;

use std::sync::Arc;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanExporter;

use crate::config::{ConfigError, Exporter, Settings};
use crate::stats::Counters;
use monitored::{Monitored, Report};
pub(crate) use queue::Queue;
pub(crate) use sinks::{BatchObserver, Sinks};
pub(crate) use worker::{NOT_GLOBAL, Worker};

/// Where a pipeline's spans go, before its export thread starts.
#[derive(Default)]
pub(crate) struct Destination {
    /// The exporter (the console copy and the observers are added by the pipeline).
    pub sinks: Sinks,
    /// The Jaeger agent exporter's own counters (trimmed and oversized spans).
    pub jaeger_stats: Option<jaeger::JaegerAgentStatsHandle>,
}

/// The configured built-in exporter, its outcomes counted in `counters`.
pub(crate) fn built_in(
    settings: &Settings,
    resource: &Resource,
    counters: &Arc<Counters>,
) -> Result<Destination, ConfigError> {
    // Failures are logged under this name, so a missing collector names its address.
    let name = format!(
        "{} export to {}",
        settings.exporter,
        settings.endpoint_description()
    );
    let counted = |e| Some(Arc::clone(e));
    Ok(match settings.exporter {
        Exporter::None => Destination::default(),
        Exporter::Otlp => {
            let poster = otlp::Poster::new(settings)?;
            let report = Report::new(name, counted(counters));
            let direct = otlp::OtlpHttp::new(poster, report, resource);
            Destination {
                sinks: Sinks {
                    direct: Some(direct),
                    ..Sinks::default()
                },
                jaeger_stats: None,
            }
        }
        Exporter::OtlpGrpc => grpc(settings, name, counters)?,
        Exporter::JaegerAgent => {
            let exporter = JaegerAgentExporter::new(settings.jaeger_host.clone(), settings.jaeger_port);
            let jaeger_stats = Some(exporter.stats_handle());
            let sink = jaeger::AgentSink::new(exporter, Report::new(name, counted(counters)));
            Destination {
                sinks: Sinks {
                    exporter: Some(Box::new(sink)),
                    ..Sinks::default()
                },
                jaeger_stats,
            }
        }
        Exporter::Console => custom(ConsoleExporter::stdout(), name, counters),
        Exporter::Zipkin => zipkin(settings, name, counters)?,
    })
}

/// Any OpenTelemetry exporter, its outcomes counted in `counters` and its failures logged
/// under `name`.
pub(crate) fn custom<E: SpanExporter + 'static>(
    exporter: E,
    name: String,
    counters: &Arc<Counters>,
) -> Destination {
    Destination {
        sinks: Sinks {
            exporter: Some(Box::new(Monitored::new(
                exporter,
                name,
                Some(Arc::clone(counters)),
            ))),
            ..Sinks::default()
        },
        jaeger_stats: None,
    }
}

/// The uncounted copy of every batch to the console (`print_traces(true)`).
pub(crate) fn console_copy() -> Box<dyn sinks::Deliver> {
    Box::new(Monitored::new(
        ConsoleExporter::shared_stdout(),
        "console output".to_owned(),
        None,
    ))
}

#[cfg(feature = "grpc")]
fn grpc(settings: &Settings, name: String, counters: &Arc<Counters>) -> Result<Destination, ConfigError> {
    Ok(custom(otlp::grpc(settings)?, name, counters))
}

#[cfg(not(feature = "grpc"))]
fn grpc(_settings: &Settings, _name: String, _counters: &Arc<Counters>) -> Result<Destination, ConfigError> {
    Err(ConfigError::Exporter {
        exporter: Exporter::OtlpGrpc,
        reason: "maximus-trace was built without the `grpc` feature".to_owned(),
    })
}

#[cfg(feature = "zipkin")]
fn zipkin(settings: &Settings, name: String, counters: &Arc<Counters>) -> Result<Destination, ConfigError> {
    Ok(custom(zipkin::ZipkinExporter::new(settings), name, counters))
}

#[cfg(not(feature = "zipkin"))]
fn zipkin(
    _settings: &Settings,
    _name: String,
    _counters: &Arc<Counters>,
) -> Result<Destination, ConfigError> {
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
