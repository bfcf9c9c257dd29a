//! OTLP: protobuf over HTTP (the default, what Jaeger v2 takes on port 4318), or gRPC.

use std::collections::HashMap;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};

use crate::config::{ConfigError, Exporter, Settings};

pub(crate) fn http(settings: &Settings) -> Result<opentelemetry_otlp::SpanExporter, ConfigError> {
    let headers: HashMap<String, String> = settings.otlp_headers.iter().cloned().collect();
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(settings.otlp_endpoint.clone())
        .with_timeout(settings.otlp_timeout.min(settings.batch.export_timeout))
        .with_headers(headers)
        .build()
        .map_err(|e| ConfigError::Exporter {
            exporter: Exporter::Otlp,
            reason: e.to_string(),
        })
}

#[cfg(feature = "grpc")]
pub(crate) fn grpc(settings: &Settings) -> Result<opentelemetry_otlp::SpanExporter, ConfigError> {
    use opentelemetry_otlp::WithTonicConfig;
    let mut metadata = tonic::metadata::MetadataMap::new();
    for (k, v) in &settings.otlp_headers {
        let key =
            tonic::metadata::MetadataKey::from_bytes(k.as_bytes()).map_err(|_| ConfigError::Exporter {
                exporter: Exporter::OtlpGrpc,
                reason: format!("header name {k:?} is not valid gRPC metadata"),
            })?;
        let value = v.parse().map_err(|_| ConfigError::Exporter {
            exporter: Exporter::OtlpGrpc,
            reason: format!("the value of header {k:?} is not valid gRPC metadata"),
        })?;
        metadata.insert(key, value);
    }
    opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(settings.otlp_endpoint.clone())
        .with_timeout(settings.otlp_timeout.min(settings.batch.export_timeout))
        .with_metadata(metadata)
        .build()
        .map_err(|e| ConfigError::Exporter {
            exporter: Exporter::OtlpGrpc,
            reason: e.to_string(),
        })
}

#[cfg(not(feature = "grpc"))]
pub(crate) fn grpc(_settings: &Settings) -> Result<opentelemetry_otlp::SpanExporter, ConfigError> {
    Err(ConfigError::Exporter {
        exporter: Exporter::OtlpGrpc,
        reason: "maximus-trace was built without the `grpc` feature".to_owned(),
    })
}
