//! Our span metrics against the real `spanmetrics` connector, and Jaeger's Monitor tab
//! reading ours through a real Prometheus.
//!
//! Each test drives this process's global pipeline, so they take turns ([`pipeline_turn`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use maximus_jaeger_suite::peers::require;
use maximus_jaeger_suite::prometheus::{self, Prometheus, SeriesKey};
use maximus_jaeger_suite::{Exporter, Flavor, Jaeger, Query, eventually, figure, jaeger_test, pipeline_turn};
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
        let guard = init(&jaeger, service, None);
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

/// Each burst: this many requests, every fourth an error.
const PER_BURST: usize = 20;

/// How long a request sleeps: inside the bucket (10 ms, 50 ms], with 35 ms to spare.
const REQUEST_SLEEP: Duration = Duration::from_millis(15);

jaeger_test! {
    /// Our listener -> a real Prometheus (1 s scrapes) -> Jaeger's query service with that
    /// Prometheus as its metrics storage: the Monitor API shows what Prometheus computes from
    /// our series with the same queries, and that is the rate, error rate and latency we made.
    fn jaegers_monitor_tab_reads_our_metrics_through_prometheus() {
        let Some(prometheus_binary) = require(Prometheus::binary()) else {
            return;
        };
        let _turn = pipeline_turn();
        let collector = Jaeger::start();
        let service = "monitor-test";
        // Batches leave only at `force_flush`, so each burst reaches our metrics whole, and
        // every scrape sees errors and successes in the same 1:3 ratio.
        let guard = init(&collector, service, Some(Duration::from_secs(3600)));
        let listener = guard.prometheus_addr().expect("our listener").to_string();
        let prometheus = Prometheus::start(&prometheus_binary, &[listener]);
        // Prometheus scrapes a new target only after its discovery settles (about 5 s).
        prometheus.wait_until_scraped();
        let jaeger = Jaeger::start_with(Flavor::Monitor {
            prometheus_url: prometheus.url(),
        });

        // Two bursts, the second once Prometheus holds the first: a new calls series is
        // served as 0 on its first scrape, so `rate()` sees both bursts' calls; a histogram's
        // first sample already holds the first burst, so its rate sees the second one.
        let held = format!("sum(traces_span_metrics_calls_total{{service_name=\"{service}\"}})");
        let mut slowest = Duration::ZERO;
        for burst in 1..=2 {
            slowest = slowest.max(requests(PER_BURST));
            guard.force_flush().expect("flushed");
            let calls = (burst * PER_BURST) as f64;
            eventually("Prometheus holds the burst", Duration::from_secs(20), || {
                let held = prometheus.query(&held, now())?;
                match held.first() {
                    Some((_, value)) if *value == calls => Ok(()),
                    other => Err(format!("{other:?}, not {calls}")),
                }
            });
        }
        let settled = now();

        // Jaeger's figures are Prometheus' on our series, with the same queries at the same
        // instants.
        let query = jaeger.query();
        let [calls, errors, p95] = monitor_figures(service).map(|(which, extra, promql)| {
            let (shown, at) = eventually(&format!("Jaeger shows {which}"), Duration::from_secs(20), || {
                settled_point(&query, service, which, extra, settled)
            });
            let computed = prometheus.query(&promql, at).unwrap();
            assert_eq!(computed.len(), 1, "{which}: {computed:?}");
            let computed = computed[0].1;
            assert!(
                (shown - computed).abs() <= 1e-9 * computed.abs().max(1.0),
                "{which} at {at:.3}: Jaeger {shown}, Prometheus {computed}"
            );
            shown
        });

        // And those are the requests we made. Every scrape saw errors and successes 1:3 at
        // the same instants, so `rate()` scales both series alike: exactly a quarter.
        assert!((errors - 0.25).abs() < 1e-9, "error rate {errors}");
        // The window holds both bursts and the series' first (zero) sample, so `rate()`
        // counts all 40 calls over its 30 s, and extrapolates past the newest sample by at
        // most 1.1 sample intervals: at least 3 samples, so at most 55 % more.
        let made = (2 * PER_BURST) as f64 / 30.0;
        assert!(
            (made..=made * 1.55).contains(&calls),
            "{calls} calls/s for {made:.4} made (extrapolated by at most 55 %)"
        );
        // Each request took its 15 ms plus what the machine added. Within 50 ms, all are in
        // the bucket (10, 50], and the p95 interpolates to 10 + 0.95 * 40 = 48 exactly; a
        // machine slow enough to push one past 50 ms leaves only the lower bound.
        if slowest < Duration::from_millis(50) {
            assert!((p95 - 48.0).abs() < 1e-9, "p95 interpolated in (10, 50]: {p95}");
        } else {
            assert!(p95 > 10.0, "p95 {p95} with the slowest request at {slowest:?}");
        }
        drop(guard);
        figure(
            "Monitor tab",
            format!(
                "Jaeger shows Prometheus' figures on our series: {calls:.3} calls/s ({made:.3} made), \
                 error rate {errors}, p95 {p95:.3} ms (slowest request {slowest:.1?})"
            ),
        );
    }
}

/// The Monitor tab's figures for server spans: the Monitor API's name and parameters, and the
/// PromQL Jaeger sends for it (captured from Jaeger's requests, config/FINDINGS.md).
fn monitor_figures(service: &str) -> [(&'static str, &'static str, String); 3] {
    let server = format!("service_name =~ \"{service}\", span_kind =~ \"SPAN_KIND_SERVER\"");
    let calls = format!("sum(rate(traces_span_metrics_calls_total{{{server}}}[30s])) by (service_name)");
    let errors = format!(
        "sum(rate(traces_span_metrics_calls_total{{{server}, status_code = \"STATUS_CODE_ERROR\"}}[30s])) \
         by (service_name) / {calls}"
    );
    let p95 = format!(
        "histogram_quantile(0.95, \
         sum(rate(traces_span_metrics_duration_milliseconds_bucket{{{server}}}[30s])) \
         by (service_name,span_name,le))"
    );
    [
        ("calls", "", calls),
        ("errors", "", errors),
        ("latencies", "&quantile=0.95", p95),
    ]
}

/// The newest point of Jaeger's `which` series, and its time, no earlier than `settled` (so
/// every sample taken by then is in it) and at least 2 s before Jaeger was asked: Prometheus
/// appends a scrape's samples when the scrape ends (its timeout is the 1 s interval), so all
/// samples up to the point were in Prometheus when Jaeger asked, and Prometheus asked later
/// about the same instant answers from the same samples.
fn settled_point(
    query: &Query,
    service: &str,
    which: &str,
    extra: &str,
    settled: f64,
) -> Result<(f64, f64), String> {
    let asked = now();
    let points = query.monitor(which, service, 60_000, 30_000, extra)?;
    points
        .iter()
        .rev()
        .find_map(|p| {
            let at = humantime::parse_rfc3339(&p.timestamp).ok()?;
            let at = at.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
            (at >= settled && at <= asked - 2.0).then_some((p.value?, at))
        })
        .ok_or(format!("no {which} point after {settled:.3} yet: {points:?}"))
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

/// `n` server spans of [`REQUEST_SLEEP`], every fourth an error; the longest one took,
/// measured around the span (so at least its duration).
fn requests(n: usize) -> Duration {
    let mut slowest = Duration::ZERO;
    for i in 0..n {
        let clock = Instant::now();
        {
            let span = get_tracing()
                .span_builder("GET /a")
                .kind(SpanKind::Server)
                .entered();
            std::thread::sleep(REQUEST_SLEEP);
            if i % 4 == 0 {
                span.set_status(Status::error("boom"));
            }
        }
        slowest = slowest.max(clock.elapsed());
    }
    slowest
}

/// Our pipeline, exporting to `jaeger` over OTLP/HTTP, with span metrics on a listener;
/// batches sent every `batch_delay` (else the default).
fn init(jaeger: &Jaeger, service: &str, batch_delay: Option<Duration>) -> TracingGuard {
    let mut builder = TracingManager::builder()
        .service_name(service)
        .environment(jaeger.lookup(Exporter::OtlpHttp))
        .prometheus_listener("127.0.0.1:0");
    if let Some(delay) = batch_delay {
        builder = builder.batch_delay(delay);
    }
    builder.init().expect("tracing starts")
}

/// Now, in Unix seconds.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}
