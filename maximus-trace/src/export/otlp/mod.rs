//! OTLP: protobuf over HTTP (the default, what Jaeger v2 takes on port 4318), encoded by
//! us straight from span records; or gRPC, through `opentelemetry-otlp` (`grpc.rs`).

mod encode;
mod http;

pub(crate) use http::{OtlpHttp, Poster};

#[cfg(feature = "grpc")]
mod grpc;
#[cfg(feature = "grpc")]
pub(crate) use grpc::grpc;

#[cfg(not(feature = "grpc"))]
pub(crate) fn grpc(
    _settings: &crate::config::Settings,
) -> Result<super::Discard, crate::config::ConfigError> {
    Err(crate::config::ConfigError::Exporter {
        exporter: crate::config::Exporter::OtlpGrpc,
        reason: "maximus-trace was built without the `grpc` feature".to_owned(),
    })
}
