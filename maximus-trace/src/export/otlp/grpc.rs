//! OTLP over gRPC through `opentelemetry-otlp`'s tonic exporter, on a tokio runtime of our own.
//!
//! A tonic channel lives on the runtime it was created in. Borrowing the application's
//! runtime tied our export to it: `init()` outside a runtime panicked (hyper: "there is no
//! reactor running", seen with `maximus-trace doctor` against a real Jaeger), a
//! current-thread runtime blocked in the guard's drop could not drive the final export, and
//! the runtime had to outlive the guard. One small runtime (one worker thread) per gRPC
//! pipeline removes all three.

use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::config::{ConfigError, Exporter, Settings};

/// The tonic exporter with the runtime its channel runs on.
#[derive(Debug)]
pub(crate) struct GrpcExporter {
    // Declared first: dropped before the runtime its channel needs.
    inner: opentelemetry_otlp::SpanExporter,
    runtime: OwnRuntime,
}

#[derive(Debug)]
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        // Never blocks, so the exporter may be dropped anywhere (even inside a runtime).
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

pub(crate) fn grpc(settings: &Settings) -> Result<GrpcExporter, ConfigError> {
    let failed = |reason: String| ConfigError::Exporter {
        exporter: Exporter::OtlpGrpc,
        reason,
    };
    let mut metadata = tonic::metadata::MetadataMap::new();
    for (k, v) in &settings.otlp_headers {
        let key = tonic::metadata::MetadataKey::from_bytes(k.as_bytes())
            .map_err(|_| failed(format!("header name {k:?} is not valid gRPC metadata")))?;
        let value = v
            .parse()
            .map_err(|_| failed(format!("the value of header {k:?} is not valid gRPC metadata")))?;
        metadata.insert(key, value);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("maximus-trace-grpc")
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start its runtime: {e}")))?;
    let runtime = OwnRuntime(Some(runtime));
    let inner = {
        let _entered = runtime.0.as_ref().map(tokio::runtime::Runtime::enter);
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(settings.otlp_endpoint.clone())
            .with_timeout(settings.otlp_timeout.min(settings.batch.export_timeout))
            .with_metadata(metadata)
            .build()
            .map_err(|e| failed(e.to_string()))?
    };
    Ok(GrpcExporter { inner, runtime })
}

impl SpanExporter for GrpcExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.inner.export(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        let _entered = self.runtime.0.as_ref().map(tokio::runtime::Runtime::enter);
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
