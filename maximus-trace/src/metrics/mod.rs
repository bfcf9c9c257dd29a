//! Span metrics (RED: rate, errors, duration) and service graph edges, computed in-process
//! from ended spans.
//!
//! The metrics are those of the OpenTelemetry Collector's `spanmetrics` and `servicegraph`
//! connectors, with the names and labels their Prometheus exporter produces
//! (`traces_span_metrics_calls_total`, `traces_span_metrics_duration_milliseconds`,
//! `traces_service_graph_request_total`, ...; see `labels.rs` for the sources), so Jaeger's
//! Monitor tab (which reads them from Prometheus) and dashboards built for the collector work
//! unchanged. They are served for Prometheus to scrape
//! ([`crate::TracingBuilder::prometheus_listener`]) and read in-process with
//! [`crate::TracingManager::metrics_snapshot`]; with the OTLP exporter they are also pushed as
//! OpenTelemetry metrics to the collector's `/v1/metrics` (feature `otlp-metrics`, on by
//! default; `otlp.rs`). Service graph edges are Prometheus-only.
//!
//! Everything happens on the export thread, batch by batch: the application's per-span path is
//! unchanged whether metrics are on or off. Metrics therefore count sampled spans, as the
//! collector's connectors do, and include a span once its batch was exported (at the batch
//! delay, or at `force_flush()`).

mod aggregate;
mod histogram;
mod labels;
mod listener;
#[cfg(feature = "otlp-metrics")]
mod otlp;
mod prometheus;
mod servicegraph;
mod snapshot;
#[cfg(test)]
mod tests;

pub use snapshot::{EdgeMetrics, MetricsSnapshot, OperationMetrics};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::trace::SpanData;

use crate::config::{BatchSettings, ConfigError};
use crate::env::Env;
use crate::export::BatchObserver;
use aggregate::Aggregator;
use listener::PrometheusListener;

/// Whether span metrics are computed and where they are served.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MetricsSettings {
    pub enabled: bool,
    pub prometheus_addr: Option<String>,
    /// How often the OTLP push runs (`OTEL_METRIC_EXPORT_INTERVAL`, 60 s by default).
    pub export_interval: Duration,
}

impl MetricsSettings {
    /// Builder values first, then `MAXIMUS_SPAN_METRICS` and `MAXIMUS_PROMETHEUS_ADDR`. A
    /// listener address switches metrics on unless they were switched off explicitly.
    pub fn resolve(
        enabled: Option<bool>,
        prometheus_addr: Option<&str>,
        env: &Env<'_>,
    ) -> Result<Self, ConfigError> {
        let prometheus_addr = match prometheus_addr {
            Some(addr) if crate::config::is_listen_addr(addr) => Some(addr.trim().to_owned()),
            Some(addr) => {
                return Err(ConfigError::setting(
                    "prometheus_listener",
                    addr,
                    "expected host:port, for example 127.0.0.1:9464",
                ));
            }
            None => env.prometheus_addr()?,
        };
        let enabled = match enabled {
            Some(on) => on,
            None => env.span_metrics()?.unwrap_or(prometheus_addr.is_some()),
        };
        Ok(MetricsSettings {
            enabled,
            prometheus_addr: prometheus_addr.filter(|_| enabled),
            export_interval: env.metric_export_interval()?.unwrap_or(Duration::from_secs(60)),
        })
    }
}

/// The span metrics of one pipeline: the aggregator the export thread feeds, and the
/// Prometheus listener serving it.
#[derive(Debug)]
pub(crate) struct SpanMetrics {
    aggregator: Arc<Aggregator>,
    listener: Mutex<Option<PrometheusListener>>,
    #[cfg(feature = "otlp-metrics")]
    export_interval: Duration,
    /// The same metrics pushed over OTLP, when spans go to an OTLP endpoint.
    #[cfg(feature = "otlp-metrics")]
    otlp: Option<Arc<otlp::OtlpSpanMetrics>>,
}

impl SpanMetrics {
    /// Starts aggregating (and serving, when an address is set). A listener that cannot bind
    /// is logged, not fatal: tracing and `metrics_snapshot()` keep working.
    pub fn start(
        service: &str,
        resource: &[(String, String)],
        batch: &BatchSettings,
        settings: &MetricsSettings,
    ) -> Self {
        // The two halves of a request may be exported a batch apart.
        let pairing_ttl = batch.schedule_delay * 2 + Duration::from_secs(2);
        let target = labels::TargetLabels::from_resource(service, resource);
        let aggregator = Arc::new(Aggregator::new(service.to_owned(), target, pairing_ttl));
        let listener = settings.prometheus_addr.as_deref().and_then(|addr| {
            match PrometheusListener::start(addr, Arc::clone(&aggregator)) {
                Ok(listener) => {
                    log::info!(
                        "maximus-trace: span metrics at http://{}/metrics",
                        listener.local_addr()
                    );
                    Some(listener)
                }
                Err(e) => {
                    log::error!("maximus-trace: cannot serve span metrics on {addr}: {e}");
                    None
                }
            }
        });
        SpanMetrics {
            aggregator,
            listener: Mutex::new(listener),
            #[cfg(feature = "otlp-metrics")]
            export_interval: settings.export_interval,
            #[cfg(feature = "otlp-metrics")]
            otlp: None,
        }
    }

    /// Also pushes the metrics over OTLP/HTTP beside the traces (`.../v1/metrics`), every
    /// `OTEL_METRIC_EXPORT_INTERVAL` (60 s by default) and at every flush.
    #[cfg(feature = "otlp-metrics")]
    pub fn push_over_otlp(
        mut self,
        settings: &crate::config::Settings,
        resource: opentelemetry_sdk::Resource,
    ) -> Self {
        let Some(endpoint) = otlp::metrics_endpoint(&settings.otlp_endpoint) else {
            log::info!(
                "maximus-trace: the OTLP endpoint is not a /v1/traces URL; span metrics are not pushed"
            );
            return self;
        };
        let interval = self.export_interval;
        self.otlp =
            otlp::OtlpSpanMetrics::start(&endpoint, &settings.otlp_headers, resource, interval).map(Arc::new);
        self
    }

    /// Every observer the export thread must feed.
    pub fn observers(&self) -> Vec<Arc<dyn BatchObserver>> {
        let aggregator = Arc::clone(&self.aggregator) as Arc<dyn BatchObserver>;
        #[cfg(feature = "otlp-metrics")]
        if let Some(otlp) = &self.otlp {
            return vec![aggregator, Arc::clone(otlp) as Arc<dyn BatchObserver>];
        }
        vec![aggregator]
    }

    /// Pushes the OTLP metrics now, waiting until `deadline` at most (the Prometheus text
    /// is always current).
    #[cfg_attr(not(feature = "otlp-metrics"), allow(unused_variables))]
    pub fn flush(&self, deadline: std::time::Instant) {
        #[cfg(feature = "otlp-metrics")]
        if let Some(otlp) = &self.otlp {
            otlp.flush(deadline);
        }
    }

    /// What the export thread calls with each batch.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot::of(&self.aggregator)
    }

    pub fn prometheus_text(&self) -> String {
        self.aggregator.scrape()
    }

    pub fn listener_addr(&self) -> Option<SocketAddr> {
        self.lock_listener().as_ref().map(PrometheusListener::local_addr)
    }

    /// Stops the Prometheus listener and the OTLP push (the pipeline is shutting down),
    /// waiting for the last push until `deadline` at most.
    #[cfg_attr(not(feature = "otlp-metrics"), allow(unused_variables))]
    pub fn stop(&self, deadline: std::time::Instant) {
        #[cfg(feature = "otlp-metrics")]
        if let Some(otlp) = &self.otlp {
            otlp.stop(deadline);
        }
        // Taken out first: the lock is not held while the thread is joined.
        let listener = self.lock_listener().take();
        if let Some(mut listener) = listener {
            listener.stop();
        }
    }

    fn lock_listener(&self) -> std::sync::MutexGuard<'_, Option<PrometheusListener>> {
        self.listener.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A span's duration; zero when its clock went backwards.
pub(crate) fn duration(span: &SpanData) -> Duration {
    span.end_time.duration_since(span.start_time).unwrap_or_default()
}
