//! OTLP: protobuf over HTTP (the default, what Jaeger v2 takes on port 4318), encoded by
//! us straight from span records; or gRPC, through `opentelemetry-otlp`.

mod encode;
mod http;

pub(crate) use http::{OtlpHttp, Poster};

#[cfg(feature = "grpc")]
use opentelemetry_otlp::WithExportConfig;

use crate::config::{ConfigError, Exporter, Settings};

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
