//! [`MetricsSnapshot`]: the span metrics of a pipeline, for in-process use and for printing.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::aggregate::{Aggregator, Series};
use super::histogram::{Histogram, SPAN_DURATION_MS};
use super::labels;

/// Rate, errors and latency per span name since the pipeline started; see
/// [`crate::TracingManager::metrics_snapshot`]. `Display` prints it as a table.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// The `service.name` the metrics are reported under.
    pub service_name: String,
    /// The time the metrics cover: since the pipeline started.
    pub elapsed: Duration,
    /// One entry per span name, sorted by name.
    pub operations: Vec<OperationMetrics>,
    /// Service graph edges seen so far, sorted by client then server.
    pub edges: Vec<EdgeMetrics>,
}

/// The RED metrics of one span name (all kinds and statuses together).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct OperationMetrics {
    /// The span name.
    pub span_name: String,
    /// Spans ended (and exported or observed) with this name.
    pub calls: u64,
    /// Of those, spans with status ERROR.
    pub errors: u64,
    /// `errors / calls`, between 0.0 and 1.0.
    pub error_rate: f64,
    /// Calls per second since the pipeline started.
    pub rate: f64,
    /// Median duration, interpolated within its histogram bucket.
    pub p50: Duration,
    /// 95th percentile duration, interpolated within its histogram bucket.
    pub p95: Duration,
    /// 99th percentile duration, interpolated within its histogram bucket.
    pub p99: Duration,
}

/// Requests from one service to another (the service graph).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EdgeMetrics {
    /// The calling service.
    pub client: String,
    /// The called service (or database, or `peer.service`).
    pub server: String,
    /// `""` for a direct call, else `messaging_system`, `database` or `virtual_node`.
    pub connection_type: &'static str,
    /// Requests seen.
    pub requests: u64,
    /// Of those, requests where either side had status ERROR.
    pub failed: u64,
}

impl MetricsSnapshot {
    pub(crate) fn of(aggregator: &Aggregator) -> Self {
        let state = aggregator.lock();
        let elapsed = aggregator.elapsed();
        let mut by_name: BTreeMap<&str, Vec<(&'static str, &Series)>> = BTreeMap::new();
        for (key, series) in &state.series {
            by_name
                .entry(&key.span_name)
                .or_default()
                .push((key.status, series));
        }
        let operations = by_name
            .into_iter()
            .map(|(name, series)| OperationMetrics::of(name, &series, elapsed))
            .collect();
        let edges = state
            .graph
            .edges()
            .iter()
            .map(|(key, edge)| EdgeMetrics {
                client: key.client.clone(),
                server: key.server.clone(),
                connection_type: key.connection.label(),
                requests: edge.requests,
                failed: edge.failed,
            })
            .collect();
        MetricsSnapshot {
            service_name: aggregator.service().to_owned(),
            elapsed,
            operations,
            edges,
        }
    }

    /// The metrics of one span name.
    pub fn operation(&self, span_name: &str) -> Option<&OperationMetrics> {
        self.operations.iter().find(|o| o.span_name == span_name)
    }

    /// True when no span has been observed (or span metrics are off).
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }
}

impl OperationMetrics {
    fn of(name: &str, series: &[(&'static str, &Series)], elapsed: Duration) -> Self {
        let mut durations = Histogram::new(SPAN_DURATION_MS);
        let (mut calls, mut errors) = (0, 0);
        for (status, s) in series {
            calls += s.calls;
            if *status == labels::STATUS_ERROR {
                errors += s.calls;
            }
            durations.merge(&s.duration_ms);
        }
        let ms = |q: f64| Duration::from_secs_f64(durations.quantile(q).unwrap_or(0.0) / 1_000.0);
        let seconds = elapsed.as_secs_f64();
        OperationMetrics {
            span_name: name.to_owned(),
            calls,
            errors,
            error_rate: if calls == 0 {
                0.0
            } else {
                errors as f64 / calls as f64
            },
            rate: if seconds > 0.0 {
                calls as f64 / seconds
            } else {
                0.0
            },
            p50: ms(0.5),
            p95: ms(0.95),
            p99: ms(0.99),
        }
    }
}

impl fmt::Display for MetricsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "No span metrics (none recorded yet, or span metrics are off).");
        }
        writeln!(
            f,
            "Span metrics of {} over {:.1} s:",
            self.service_name,
            self.elapsed.as_secs_f64()
        )?;
        let width = self
            .operations
            .iter()
            .map(|o| o.span_name.len())
            .max()
            .unwrap_or(0)
            .max(9);
        writeln!(
            f,
            "{:<width$}  {:>7}  {:>6}  {:>7}  {:>8}  {:>9}  {:>9}  {:>9}",
            "span name", "calls", "errors", "error %", "calls/s", "p50", "p95", "p99"
        )?;
        for o in &self.operations {
            writeln!(
                f,
                "{:<width$}  {:>7}  {:>6}  {:>6.1}%  {:>8.2}  {:>9}  {:>9}  {:>9}",
                o.span_name,
                o.calls,
                o.errors,
                o.error_rate * 100.0,
                o.rate,
                Millis(o.p50),
                Millis(o.p95),
                Millis(o.p99),
            )?;
        }
        if !self.edges.is_empty() {
            writeln!(f, "Service graph:")?;
            for e in &self.edges {
                let via = if e.connection_type.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", e.connection_type)
                };
                writeln!(
                    f,
                    "  {} -> {}{via}: {} requests, {} failed",
                    e.client, e.server, e.requests, e.failed
                )?;
            }
        }
        Ok(())
    }
}

/// A duration with three significant digits: `0.412 ms`, `12.3 ms`, `1.25 s`.
struct Millis(Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_secs_f64() * 1_000.0;
        let text = match ms {
            ms if ms >= 1_000.0 => format!("{:.2} s", ms / 1_000.0),
            ms if ms >= 100.0 => format!("{ms:.0} ms"),
            ms if ms >= 10.0 => format!("{ms:.1} ms"),
            ms if ms >= 1.0 => format!("{ms:.2} ms"),
            ms => format!("{ms:.3} ms"),
        };
        f.pad(&text)
    }
}
