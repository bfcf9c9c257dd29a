//! The Prometheus text exposition format, version 0.0.4, of the span metrics: the names and
//! labels a collector's `spanmetrics` and `servicegraph` connectors produce behind its
//! Prometheus exporter, so Jaeger's Monitor tab and existing dashboards read them unchanged.

use std::fmt::Write as _;

use super::aggregate::{SeriesKey, State};
use super::histogram::Histogram;
use super::labels::{self, TargetLabels};
use super::servicegraph::{Edge, EdgeKey};

/// The `Content-Type` of [`render`]'s output.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every series of `state` for one scrape; `service` is the `service_name` label,
/// `target` gives `job` and `instance`.
///
/// A calls series is shown as 0 the first time it is scraped, and with its count from the
/// next scrape on, as the `spanmetrics` connector does: Prometheus' `rate()` sees no increase
/// in a series whose first sample already holds the count, so the first calls of an operation
/// would never show in Jaeger's Monitor tab.
pub(crate) fn render(state: &mut State, service: &str, target: &TargetLabels) -> String {
    let mut out = String::new();
    span_metrics(&mut out, state, service, target);
    for series in state.series.values_mut() {
        series.scraped = true;
    }
    service_graph(&mut out, state);
    out
}

fn span_metrics(out: &mut String, state: &State, service: &str, target: &TargetLabels) {
    header(out, labels::CALLS, "counter", "");
    for (key, series) in &state.series {
        let calls = if series.scraped { series.calls } else { 0 };
        sample(
            out,
            labels::CALLS,
            &series_labels(service, target, key),
            calls as f64,
        );
    }
    header(out, labels::DURATION, "histogram", "");
    for (key, series) in &state.series {
        histogram(
            out,
            labels::DURATION,
            &series_labels(service, target, key),
            &series.duration_ms,
        );
    }
}

/// The connector's labels, in its exporter's (alphabetical) order.
fn series_labels<'a>(
    service: &'a str,
    target: &'a TargetLabels,
    key: &'a SeriesKey,
) -> Vec<(&'static str, &'a str)> {
    let mut labels = Vec::with_capacity(9);
    if let Some(instance) = &target.instance {
        labels.push(("instance", instance.as_str()));
    }
    labels.push(("job", target.job.as_str()));
    labels.extend([
        ("otel_scope_name", labels::SCOPE_NAME),
        ("otel_scope_schema_url", ""),
        ("otel_scope_version", ""),
        ("service_name", service),
        ("span_kind", key.kind),
        ("span_name", key.span_name.as_ref()),
        ("status_code", key.status),
    ]);
    labels
}

fn service_graph(out: &mut String, state: &State) {
    let graph = &state.graph;
    if graph.edges().is_empty() && graph.unpaired().is_empty() && graph.dropped().is_empty() {
        return;
    }
    let labels_of = |key: &EdgeKey| {
        [
            ("client", key.client.clone()),
            ("server", key.server.clone()),
            ("connection_type", key.connection.label().to_owned()),
        ]
    };
    type EdgeCounter = (&'static str, &'static str, fn(&Edge) -> u64);
    let counters: [EdgeCounter; 2] = [
        (labels::GRAPH_REQUESTS, "Requests between two services.", |e| {
            e.requests
        }),
        (
            labels::GRAPH_FAILED,
            "Failed requests between two services.",
            |e| e.failed,
        ),
    ];
    for (name, help, count) in counters {
        header(out, name, "counter", help);
        for (key, edge) in graph.edges() {
            sample(out, name, &borrowed(&labels_of(key)), count(edge) as f64);
        }
    }
    let latencies = [
        (labels::GRAPH_SERVER_SECONDS, "as seen from the server", true),
        (labels::GRAPH_CLIENT_SECONDS, "as seen from the client", false),
    ];
    for (name, side, server) in latencies {
        header(
            out,
            name,
            "histogram",
            &format!("Request duration in seconds, {side}."),
        );
        for (key, edge) in graph.edges() {
            let h = if server {
                &edge.server_seconds
            } else {
                &edge.client_seconds
            };
            if h.count() > 0 {
                histogram(out, name, &borrowed(&labels_of(key)), h);
            }
        }
    }
    let counters = [
        (
            labels::GRAPH_UNPAIRED,
            "Spans whose other half never arrived.",
            graph.unpaired(),
        ),
        (
            labels::GRAPH_DROPPED,
            "Spans not paired because too many were waiting.",
            graph.dropped(),
        ),
    ];
    for (name, help, counts) in counters {
        header(out, name, "counter", help);
        for (key, n) in counts {
            sample(out, name, &borrowed(&labels_of(key)), *n as f64);
        }
    }
}

fn borrowed<'a, const N: usize>(labels: &'a [(&'static str, String); N]) -> [(&'static str, &'a str); N] {
    std::array::from_fn(|i| (labels[i].0, labels[i].1.as_str()))
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, labels: &[(&str, &str)], h: &Histogram) {
    let bucket = format!("{name}_bucket");
    for (bound, cumulative) in h.cumulative() {
        let le = if bound.is_infinite() {
            "+Inf".to_owned()
        } else {
            bound.to_string()
        };
        let mut with_le: Vec<(&str, &str)> = labels.to_vec();
        with_le.push(("le", &le));
        sample(out, &bucket, &with_le, cumulative as f64);
    }
    sample(out, &format!("{name}_sum"), labels, h.sum());
    sample(out, &format!("{name}_count"), labels, h.count() as f64);
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    out.push('{');
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    let _ = writeln!(out, "}} {value}");
}

/// Label values escape backslash, double quote and line feed (format 0.0.4).
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "m", &[("span_name", "a\"b\\c\nd")], 1.0);
        assert_eq!(out, "m{span_name=\"a\\\"b\\\\c\\nd\"} 1\n");
    }
}
