//! Our span metrics against the real `spanmetrics` connector, and Jaeger's Monitor tab
//! reading ours through a real Prometheus.
//!
//! Each test drives this process's global pipeline, so they take turns ([`pipeline_turn`]).

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use maximus_jaeger_suite::peers::require;
use maximus_jaeger_suite::prometheus::{self, Prometheus, SeriesKey};
use maximus_jaeger_suite::{Exporter, Flavor, Jaeger, eventually, figure, jaeger_test, pipeline_turn};
use maximus_trace::{SpanKind, Status, TracingGuard, TracingManager, get_tracing};

jaeger_test! {
    /// One span stream (kinds, errors, durations from microseconds to 450 ms) goes both to
    /// Jaeger, whose connector turns it into metrics, and through our own span metrics:
    /// both `/metrics` pages have the same series (names and label sets) with the same call
    /// counts, error counts, bucket counts and sums.
    fn our_span_metrics_equal_the_connectors() {
        let _turn = pipeline_turn();
        let jaeger = Jaeger::start_with(Flavor::SpanMetrics);
        let service = "metrics-compare";
        let guard = init(&jaeger, service);
        let ours = format!("http://{}/metrics", guard.prometheus_addr().expect("our listener"));
        let spans = span_stream();
        guard.force_flush().expect("the spans are exported");
        // A series' first scrape shows no calls yet (the connector's first flush does the
        // same); from the second on both show the counts.
        let _ = prometheus::scrape(&ours).unwrap();
        let ours = span_metrics(prometheus::scrape(&ours).unwrap());
        let calls = |page: &BTreeMap<SeriesKey, f64>| -> f64 {
            page.iter()
                .filter(|((name, _), _)| name == "traces_span_metrics_calls_total")
                .map(|(_, v)| v)
                .sum()
        };
        assert_eq!(calls(&ours), spans as f64, "we count every span");
        let theirs = eventually("the connector counts every span", Duration::from_secs(15), || {
            let page = span_metrics(prometheus::scrape(&jaeger.spanmetrics_url())?);
            if calls(&page) == spans as f64 {
                Ok(page)
            } else {
                Err(format!("{} of {spans} calls", calls(&page)))
            }
        });
        drop(guard);

        let names = |page: &BTreeMap<SeriesKey, f64>| -> Vec<SeriesKey> { page.keys().cloned().collect() };
        assert_eq!(
            names(&ours),
            names(&theirs),
            "the same metric names and label sets"
        );
        let mut errors = 0.0;
        for (key, value) in &ours {
            let other = theirs[key];
            if key.0.ends_with("_sum") {
                // Sums of float milliseconds, added in other orders.
                assert!(
                    (value - other).abs() <= 1e-6 * value.abs().max(1.0),
                    "{key:?}: ours {value}, the connector's {other}"
                );
            } else {
                assert_eq!(*value, other, "{key:?}");
            }
            if key.0 == "traces_span_metrics_calls_total" && key.1["status_code"] == "STATUS_CODE_ERROR" {
                errors += value;
            }
        }
        assert!(errors > 0.0, "the stream has errors");
        figure(
            "span metrics",
            format!(
                "{} series equal to the connector's ({spans} calls, {errors} errors, 17 buckets per histogram)",
                ours.len()
            ),
        );
    }
}

jaeger_test! {
    /// Our listener -> a real Prometheus (1 s scrapes) -> Jaeger's query service with that
    /// Prometheus as its metrics storage: the Monitor API answers with our numbers.
    fn jaegers_monitor_tab_reads_our_metrics_through_prometheus() {
        let Some(prometheus_binary) = require(Prometheus::binary()) else {
            return;
        };
        let _turn = pipeline_turn();
        let collector = Jaeger::start();
        let service = "monitor-test";
        let guard = init(&collector, service);
        let listener = guard.prometheus_addr().expect("our listener").to_string();
        let prometheus = Prometheus::start(&prometheus_binary, &[listener]);
        // Prometheus scrapes a new target only after its discovery settles (about 5 s).
        prometheus.wait_until_scraped();
        let jaeger = Jaeger::start_with(Flavor::Monitor {
            prometheus_url: prometheus.url(),
        });

        // Two bursts a few scrapes apart: `rate()` needs a series to grow between samples.
        for _ in 0..2 {
            requests(20, 5);
            guard.force_flush().expect("flushed");
            std::thread::sleep(Duration::from_secs(3));
        }
        let query = jaeger.query();
        // The newest point that has a value, and its time.
        let last = |which: &str, extra: &str| -> Result<(f64, f64), String> {
            let points = query.monitor(which, service, 60_000, 30_000, extra)?;
            points
                .iter()
                .rev()
                .find_map(|p| {
                    let at = humantime::parse_rfc3339(&p.timestamp).ok()?;
                    Some((p.value?, at.duration_since(UNIX_EPOCH).ok()?.as_secs_f64()))
                })
                .ok_or(format!("no {which} value yet: {points:?}"))
        };
        let (calls, at) = eventually("Jaeger shows a call rate", Duration::from_secs(20), || {
            last("calls", "").and_then(|(v, at)| if v > 0.0 { Ok((v, at)) } else { Err(format!("{v}")) })
        });
        let (errors, _) = last("errors", "").unwrap();
        let (p95, _) = last("latencies", "&quantile=0.95").unwrap();
        // Each burst: 20 requests of ~20 ms (all in the 10-50 ms bucket), 5 failed.
        assert!((errors - 0.25).abs() < 1e-9, "error rate {errors}");
        assert!((p95 - 48.0).abs() < 1e-9, "p95 interpolated in (10, 50]: {p95}");

        // Exactly what Prometheus computes from our series with the Monitor tab's own query
        // (captured from Jaeger's requests), at the same instant.
        let promql = format!(
            "sum(rate(traces_span_metrics_calls_total{{service_name =~ \"{service}\", span_kind =~ \"SPAN_KIND_SERVER\"}}[30s])) by (service_name)"
        );
        let ours = prometheus.query(&promql, at).unwrap();
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert!((ours[0].1 - calls).abs() < 1e-9, "Jaeger {calls}, Prometheus {}", ours[0].1);
        drop(guard);
        figure(
            "Monitor tab",
            format!(
                "Jaeger reads our metrics through Prometheus: {calls:.3} calls/s (= Prometheus on our series), \
                 error rate {errors}, p95 {p95:.3} ms"
            ),
        );
    }
}

/// The span metrics samples of a page (the connector's exporter also serves none other).
fn span_metrics(page: BTreeMap<SeriesKey, f64>) -> BTreeMap<SeriesKey, f64> {
    page.into_iter()
        .filter(|((name, _), _)| name.starts_with("traces_span_metrics_"))
        .collect()
}

/// Server spans with client children, errors, and durations spread over the buckets; the
/// number of spans.
fn span_stream() -> u64 {
    let tracing = get_tracing();
    let mut spans = 0;
    for (millis, count, failing) in [
        (0, 6, false),
        (3, 4, false),
        (7, 3, true),
        (30, 3, false),
        (120, 2, true),
        (450, 1, false),
    ] {
        for i in 0..count {
            let request = tracing
                .span_builder("GET /checkout")
                .kind(SpanKind::Server)
                .entered();
            {
                let _call = tracing
                    .span_builder("charge card")
                    .kind(SpanKind::Client)
                    .entered();
                let _work = maximus_trace::span!("validate");
            }
            std::thread::sleep(Duration::from_millis(millis));
            if failing && i % 2 == 0 {
                request.set_status(Status::error("declined"));
            }
            spans += 3;
        }
    }
    spans
}

/// `n` server spans of ~20 ms, `failed` of them errors.
fn requests(n: usize, failed: usize) {
    for i in 0..n {
        let span = get_tracing()
            .span_builder("GET /a")
            .kind(SpanKind::Server)
            .entered();
        std::thread::sleep(Duration::from_millis(20));
        if i < failed {
            span.set_status(Status::error("boom"));
        }
    }
}

fn init(jaeger: &Jaeger, service: &str) -> TracingGuard {
    TracingManager::builder()
        .service_name(service)
        .environment(jaeger.lookup(Exporter::OtlpHttp))
        .prometheus_listener("127.0.0.1:0")
        .init()
        .expect("tracing starts")
}
