//! Zipkin v2 JSON over HTTP, through `opentelemetry-zipkin` (behind the `zipkin` feature).
//!
//! That crate is deprecated upstream in favour of OTLP (Zipkin ingests OTLP natively); we keep
//! it, opt-in, for collectors that speak only the Zipkin API.
#![allow(deprecated)]

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
