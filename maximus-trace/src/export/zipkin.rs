//! Zipkin v2 JSON over HTTP, through `opentelemetry-zipkin` (behind the `zipkin` feature).

use crate::config::{ConfigError, Exporter, Settings};

pub(crate) fn exporter(settings: &Settings) -> Result<opentelemetry_zipkin::ZipkinExporter, ConfigError> {
    opentelemetry_zipkin::ZipkinExporter::builder()
        .with_collector_endpoint(settings.zipkin_endpoint.clone())
        .build()
        .map_err(|e| ConfigError::Exporter {
            exporter: Exporter::Zipkin,
            reason: e.to_string(),
        })
}
