//! Span metrics pushed over OTLP: the same calls counter and duration histogram as the
//! Prometheus text, as OpenTelemetry metrics, so a collector or any OTLP metrics backend gets
//! them without scraping. Named like the collector's `spanmetrics` connector emits them before
//! its Prometheus exporter renames them (`traces.span.metrics.calls`,
//! `traces.span.metrics.duration` in ms, attributes `span.name`, `span.kind`, `status.code`),
//! and pushed by the SDK's periodic reader on its own thread.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SpanData;

use super::labels;
use crate::export::BatchObserver;

/// The duration buckets of the `spanmetrics` connector, in milliseconds.
const BUCKETS_MS: [f64; 16] = [
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0, 10000.0,
    15000.0,
];

#[derive(Debug)]
pub(crate) struct OtlpSpanMetrics {
    /// Cheap to clone (shared inside): a push is run on a thread of its own and waited for
    /// only until the caller's deadline, since the SDK's blocks for its export timeout.
    provider: SdkMeterProvider,
    calls: Counter<u64>,
    duration: Histogram<f64>,
    /// The push still running on its thread, if one is: a flush waits for it rather than
    /// starting another, so a hung endpoint costs one thread, not one per flush.
    pushing: Mutex<Option<Receiver<()>>>,
}

impl OtlpSpanMetrics {
    /// A pipeline pushing to `endpoint` (a `/v1/metrics` URL) every `interval`.
    pub fn start(
        endpoint: &str,
        headers: &[(String, String)],
        resource: Resource,
        interval: Duration,
    ) -> Option<Self> {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .with_headers(headers.iter().cloned().collect())
            .build()
            .map_err(|e| log::error!("maximus-trace: span metrics will not be pushed over OTLP: {e}"))
            .ok()?;
        let reader = PeriodicReader::builder(exporter).with_interval(interval).build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader)
            .build();
        let meter = provider.meter("maximus-trace");
        let calls = meter
            .u64_counter("traces.span.metrics.calls")
            .with_description("Spans ended, by name, kind and status")
            .build();
        let duration = meter
            .f64_histogram("traces.span.metrics.duration")
            .with_unit("ms")
            .with_description("Span durations, by name, kind and status")
            .with_boundaries(BUCKETS_MS.to_vec())
            .build();
        Some(OtlpSpanMetrics {
            provider,
            calls,
            duration,
            pushing: Mutex::new(None),
        })
    }

    /// Pushes what was recorded so far, waiting until `deadline` at most.
    pub fn flush(&self, deadline: Instant) {
        let provider = self.provider.clone();
        self.until(deadline, move || {
            if let Err(e) = provider.force_flush() {
                log::debug!("maximus-trace: pushing span metrics failed: {e}");
            }
        });
    }

    /// Pushes the last values and stops the reader's thread, waiting until `deadline` at
    /// most.
    pub fn stop(&self, deadline: Instant) {
        let provider = self.provider.clone();
        self.until(deadline, move || {
            let _ = provider.shutdown();
        });
    }

    /// Runs `work` on a thread of its own and waits for it until `deadline` at most (it goes
    /// on by itself after that). While an earlier push is still running, waits for that one
    /// instead, and starts `work` only if it ends in time.
    fn until(&self, deadline: Instant, work: impl FnOnce() + Send + 'static) {
        let mut pushing = self.pushing.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(earlier) = pushing.take()
            && !finished_by(&earlier, deadline)
        {
            *pushing = Some(earlier);
            log::debug!("maximus-trace: the previous span metrics push is still running");
            return;
        }
        let (done, finished) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("maximus-trace-metrics-push".into())
            .spawn(move || {
                work();
                let _ = done.send(());
            });
        if spawned.is_ok() && !finished_by(&finished, deadline) {
            *pushing = Some(finished);
        }
    }
}

/// Whether the push behind `finished` ends by `deadline` (waiting until then at most).
fn finished_by(finished: &Receiver<()>, deadline: Instant) -> bool {
    match finished.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
        Err(RecvTimeoutError::Timeout) => false,
    }
}

impl BatchObserver for OtlpSpanMetrics {
    fn observe(&self, batch: &[SpanData]) {
        for span in batch {
            let attributes = [
                KeyValue::new("span.name", span.name.clone()),
                KeyValue::new("span.kind", labels::kind(&span.span_kind)),
                KeyValue::new("status.code", labels::status(&span.status)),
            ];
            let ms = super::duration(span).as_secs_f64() * 1000.0;
            self.calls.add(1, &attributes);
            self.duration.record(ms, &attributes);
        }
    }
}

/// The metrics URL beside a traces URL: `.../v1/traces` becomes `.../v1/metrics`.
pub(crate) fn metrics_endpoint(traces_endpoint: &str) -> Option<String> {
    traces_endpoint
        .strip_suffix("/v1/traces")
        .map(|base| format!("{base}/v1/metrics"))
}
