//! OTLP: protobuf over HTTP (the default, what Jaeger v2 takes on port 4318), encoded by
//! us straight from span records; or gRPC, through `opentelemetry-otlp` (`grpc.rs`).

mod encode;
mod http;

pub(crate) use http::{OtlpHttp, Poster};

#[cfg(feature = "grpc")]
mod grpc;
#[cfg(feature = "grpc")]
pub(crate) use grpc::grpc;
