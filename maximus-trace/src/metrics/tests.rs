//! The span metrics for a known stream of spans: names, labels and values as the collector's
//! connectors would produce them, and the snapshot's rates and percentiles.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::aggregate::{Aggregator, OVERFLOW_SPAN_NAME};
use super::labels::TargetLabels;
use super::snapshot::MetricsSnapshot;
use crate::export::BatchObserver;

struct SpanSpec {
    name: &'static str,
    kind: SpanKind,
    status: Status,
    millis: f64,
    trace: u128,
    id: u64,
    parent: u64,
    attributes: Vec<KeyValue>,
}

fn spec(name: &'static str, kind: SpanKind, millis: f64) -> SpanSpec {
    SpanSpec {
        name,
        kind,
        status: Status::Unset,
        millis,
        trace: 1,
        id: 1,
        parent: 0,
        attributes: Vec::new(),
    }
}

impl SpanSpec {
    fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    fn ids(mut self, trace: u128, id: u64, parent: u64) -> Self {
        (self.trace, self.id, self.parent) = (trace, id, parent);
        self
    }

    fn attribute(mut self, key: &'static str, value: &'static str) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }

    fn build(self) -> SpanData {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(self.trace),
                SpanId::from(self.id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(self.parent),
            parent_span_is_remote: false,
            span_kind: self.kind,
            name: Cow::Borrowed(self.name),
            start_time: start,
            end_time: start + Duration::from_secs_f64(self.millis / 1_000.0),
            attributes: self.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: self.status,
            instrumentation_scope: InstrumentationScope::builder("test").build(),
        }
    }
}

fn aggregator() -> Aggregator {
    Aggregator::new("checkout".to_owned(), target(), Duration::from_secs(60))
}

fn target() -> TargetLabels {
    TargetLabels::from_resource("checkout", &[])
}

/// The text of a scrape after a first one: the settled values (a calls series reads 0 the
/// first time it is scraped; see `first_scrape_of_a_series_shows_no_calls_yet`).
fn render(aggregator: &Aggregator) -> String {
    aggregator.scrape();
    aggregator.scrape()
}

/// The value of the sample whose name and labels are exactly `series`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Eight successful `GET /orders` of 5 ms and two failed ones of 30 ms.
fn orders() -> Vec<SpanData> {
    let ok = (0..8).map(|_| spec("GET /orders", SpanKind::Server, 5.0).build());
    let failed = (0..2).map(|_| {
        spec("GET /orders", SpanKind::Server, 30.0)
            .status(Status::error("boom"))
            .build()
    });
    ok.chain(failed).collect()
}

const ORDERS_OK: &str = r#"job="checkout",otel_scope_name="spanmetricsconnector",otel_scope_schema_url="",otel_scope_version="",service_name="checkout",span_kind="SPAN_KIND_SERVER",span_name="GET /orders",status_code="STATUS_CODE_UNSET""#;
const ORDERS_ERR: &str = r#"job="checkout",otel_scope_name="spanmetricsconnector",otel_scope_schema_url="",otel_scope_version="",service_name="checkout",span_kind="SPAN_KIND_SERVER",span_name="GET /orders",status_code="STATUS_CODE_ERROR""#;

#[test]
fn first_scrape_of_a_series_shows_no_calls_yet() {
    let a = aggregator();
    a.observe(&orders());
    let calls = format!("traces_span_metrics_calls_total{{{ORDERS_OK}}}");
    let count = format!("traces_span_metrics_duration_milliseconds_count{{{ORDERS_OK}}}");
    let first = a.scrape();
    assert_eq!(value(&first, &calls), Some(0.0), "{first}");
    assert_eq!(value(&first, &count), Some(8.0), "the histogram is not held back");
    assert_eq!(value(&a.scrape(), &calls), Some(8.0));
}

#[test]
fn job_and_instance_come_from_the_resource() {
    let resource = [
        ("service.namespace".to_owned(), "shop".to_owned()),
        ("service.instance.id".to_owned(), "i-42".to_owned()),
    ];
    let target = TargetLabels::from_resource("checkout", &resource);
    let a = Aggregator::new("checkout".to_owned(), target, Duration::from_secs(60));
    a.observe(&orders());
    let text = a.scrape();
    assert!(
        text.contains(
            r#"traces_span_metrics_calls_total{instance="i-42",job="shop/checkout",otel_scope_name="#
        ),
        "{text}"
    );
}

#[test]
fn calls_are_counted_per_service_span_name_kind_and_status() {
    let a = aggregator();
    a.observe(&orders());
    let text = render(&a);
    assert!(
        text.contains("# TYPE traces_span_metrics_calls_total counter\n"),
        "{text}"
    );
    assert_eq!(
        value(&text, &format!("traces_span_metrics_calls_total{{{ORDERS_OK}}}")),
        Some(8.0)
    );
    assert_eq!(
        value(&text, &format!("traces_span_metrics_calls_total{{{ORDERS_ERR}}}")),
        Some(2.0)
    );
}

#[test]
fn durations_fill_the_default_millisecond_buckets_cumulatively() {
    let a = aggregator();
    a.observe(&orders());
    let text = render(&a);
    let name = "traces_span_metrics_duration_milliseconds";
    assert!(text.contains(&format!("# TYPE {name} histogram\n")), "{text}");
    let bucket = |labels: &str, le: &str| value(&text, &format!("{name}_bucket{{{labels},le=\"{le}\"}}"));
    assert_eq!(bucket(ORDERS_OK, "4"), Some(0.0));
    assert_eq!(bucket(ORDERS_OK, "6"), Some(8.0));
    assert_eq!(bucket(ORDERS_OK, "+Inf"), Some(8.0));
    assert_eq!(bucket(ORDERS_ERR, "10"), Some(0.0));
    assert_eq!(bucket(ORDERS_ERR, "50"), Some(2.0));
    assert_eq!(bucket(ORDERS_ERR, "15000"), Some(2.0));
    assert_eq!(value(&text, &format!("{name}_count{{{ORDERS_OK}}}")), Some(8.0));
    let sum = value(&text, &format!("{name}_sum{{{ORDERS_ERR}}}")).unwrap();
    assert!((sum - 60.0).abs() < 1e-6, "sum {sum}");
    let les: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}_bucket{{{ORDERS_OK}")))
        .map(|l| l.split("le=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(
        les,
        [
            "2", "4", "6", "8", "10", "50", "100", "200", "400", "800", "1000", "1400", "2000", "5000",
            "10000", "15000", "+Inf"
        ]
    );
}

#[test]
fn kinds_and_statuses_use_the_otlp_enum_names() {
    let a = aggregator();
    a.observe(&[
        spec("a", SpanKind::Internal, 1.0).build(),
        spec("b", SpanKind::Client, 1.0).status(Status::Ok).build(),
        spec("c", SpanKind::Producer, 1.0).build(),
        spec("d", SpanKind::Consumer, 1.0).build(),
    ]);
    let text = render(&a);
    for expected in [
        r#"span_kind="SPAN_KIND_INTERNAL",span_name="a",status_code="STATUS_CODE_UNSET""#,
        r#"span_kind="SPAN_KIND_CLIENT",span_name="b",status_code="STATUS_CODE_OK""#,
        r#"span_kind="SPAN_KIND_PRODUCER",span_name="c""#,
        r#"span_kind="SPAN_KIND_CONSUMER",span_name="d""#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
}

#[test]
fn snapshot_gives_calls_errors_and_error_rate_per_span_name() {
    let a = aggregator();
    a.observe(&orders());
    let snapshot = MetricsSnapshot::of(&a);
    let orders = snapshot.operation("GET /orders").expect("GET /orders");
    assert_eq!((orders.calls, orders.errors), (10, 2));
    assert!((orders.error_rate - 0.2).abs() < 1e-9);
    let expected_rate = 10.0 / snapshot.elapsed.as_secs_f64();
    assert!(
        (orders.rate - expected_rate).abs() / expected_rate < 0.5,
        "{}",
        orders.rate
    );
    assert_eq!(snapshot.service_name, "checkout");
}

#[test]
fn percentiles_are_within_the_bucket_of_the_true_value() {
    let a = aggregator();
    // 1 ms, 2 ms, ..., 100 ms: the true p50, p95 and p99 are 50, 95 and 99 ms.
    let spans: Vec<SpanData> = (1..=100)
        .map(|ms| spec("db.query", SpanKind::Client, f64::from(ms)).build())
        .collect();
    a.observe(&spans);
    let db = MetricsSnapshot::of(&a).operation("db.query").cloned().unwrap();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    // Each estimate lies in the bucket holding the true value, (10, 50] and (50, 100] here,
    // and linear interpolation is exact for evenly spread values.
    assert!(ms(db.p50) > 10.0 && ms(db.p50) <= 50.0, "p50 {:?}", db.p50);
    assert!(ms(db.p95) > 50.0 && ms(db.p95) <= 100.0, "p95 {:?}", db.p95);
    assert!(ms(db.p99) > 50.0 && ms(db.p99) <= 100.0, "p99 {:?}", db.p99);
    assert!((ms(db.p50) - 50.0).abs() < 1.0, "p50 {:?}", db.p50);
    assert!((ms(db.p95) - 95.0).abs() < 1.0, "p95 {:?}", db.p95);
    assert!((ms(db.p99) - 99.0).abs() < 1.0, "p99 {:?}", db.p99);
}

#[test]
fn snapshot_display_is_a_table_with_one_row_per_span_name() {
    let a = aggregator();
    a.observe(&orders());
    let table = MetricsSnapshot::of(&a).to_string();
    assert!(table.contains("span name"), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("GET /orders"))
        .expect("a row");
    assert!(row.contains("20.0%"), "{row}");
    assert!(MetricsSnapshot::default().to_string().contains("No span metrics"));
}

#[test]
fn series_beyond_the_cap_are_counted_as_overflow() {
    let a = aggregator();
    let names: Vec<&'static str> = (0..2_010)
        .map(|i| &*Box::leak(format!("op {i}").into_boxed_str()))
        .collect();
    let spans: Vec<SpanData> = names
        .iter()
        .map(|n| spec(n, SpanKind::Internal, 1.0).build())
        .collect();
    a.observe(&spans);
    let snapshot = MetricsSnapshot::of(&a);
    assert!(
        snapshot.operations.len() <= 2_001,
        "{}",
        snapshot.operations.len()
    );
    let overflow = snapshot
        .operation(OVERFLOW_SPAN_NAME)
        .expect("an overflow series");
    assert_eq!(overflow.calls, 10);
}

// ---------------------------------------------------------------------------------------------
// Service graph
// ---------------------------------------------------------------------------------------------

const EDGE: &str = r#"client="frontend",server="checkout",connection_type="""#;

/// `frontend` calls `checkout`: the client span (service from its `service.name` attribute)
/// and the server span that is its child.
fn request(trace: u128, server_status: Status) -> [SpanData; 2] {
    [
        spec("GET /checkout", SpanKind::Client, 12.0)
            .ids(trace, 10, 0)
            .attribute("service.name", "frontend")
            .build(),
        spec("checkout", SpanKind::Server, 8.0)
            .ids(trace, 11, 10)
            .status(server_status)
            .build(),
    ]
}

#[test]
fn a_client_span_and_its_server_child_make_one_edge() {
    let a = aggregator();
    a.observe(&request(7, Status::Unset));
    a.observe(&request(8, Status::error("down")));
    let text = render(&a);
    assert_eq!(
        value(&text, &format!("traces_service_graph_request_total{{{EDGE}}}")),
        Some(2.0)
    );
    assert_eq!(
        value(
            &text,
            &format!("traces_service_graph_request_failed_total{{{EDGE}}}")
        ),
        Some(1.0)
    );
    let server = "traces_service_graph_request_server_seconds";
    let client = "traces_service_graph_request_client_seconds";
    assert_eq!(
        value(&text, &format!("{server}_bucket{{{EDGE},le=\"0.008\"}}")),
        Some(2.0)
    );
    assert_eq!(
        value(&text, &format!("{client}_bucket{{{EDGE},le=\"0.01\"}}")),
        Some(0.0)
    );
    assert_eq!(
        value(&text, &format!("{client}_bucket{{{EDGE},le=\"0.05\"}}")),
        Some(2.0)
    );
    assert_eq!(value(&text, &format!("{client}_count{{{EDGE}}}")), Some(2.0));
    let edges = MetricsSnapshot::of(&a).edges;
    assert_eq!((edges[0].requests, edges[0].failed), (2, 1));
}

#[test]
fn halves_exported_in_different_batches_still_pair() {
    let a = aggregator();
    let [client, server] = request(9, Status::Unset);
    a.observe(&[server]);
    a.observe(&[client]);
    assert_eq!(
        value(
            &render(&a),
            &format!("traces_service_graph_request_total{{{EDGE}}}")
        ),
        Some(1.0)
    );
}

#[test]
fn producer_and_consumer_make_a_messaging_edge() {
    let a = aggregator();
    a.observe(&[
        spec("publish", SpanKind::Producer, 1.0)
            .ids(3, 30, 0)
            .attribute("service.name", "orders")
            .build(),
        spec("consume", SpanKind::Consumer, 1.0).ids(3, 31, 30).build(),
    ]);
    let series = r#"traces_service_graph_request_total{client="orders",server="checkout",connection_type="messaging_system"}"#;
    assert_eq!(value(&render(&a), series), Some(1.0));
}

#[test]
fn database_client_spans_make_an_edge_to_the_database() {
    let a = aggregator();
    a.observe(&[spec("SELECT orders", SpanKind::Client, 3.0)
        .attribute("db.system", "postgresql")
        .attribute("db.name", "orders")
        .build()]);
    let series =
        r#"traces_service_graph_request_total{client="checkout",server="orders",connection_type="database"}"#;
    assert_eq!(value(&render(&a), series), Some(1.0));
}

#[test]
fn unpaired_halves_expire_into_unpaired_counts_or_virtual_nodes() {
    let a = Aggregator::new("checkout".to_owned(), target(), Duration::ZERO);
    a.observe(&[
        spec("handle", SpanKind::Server, 1.0).ids(4, 40, 99).build(),
        spec("charge", SpanKind::Client, 2.0)
            .ids(5, 50, 0)
            .attribute("peer.service", "payments")
            .build(),
    ]);
    let text = render(&a);
    let unpaired =
        r#"traces_service_graph_unpaired_spans_total{client="",server="checkout",connection_type=""}"#;
    assert_eq!(value(&text, unpaired), Some(1.0), "{text}");
    let virtual_edge = r#"traces_service_graph_request_total{client="checkout",server="payments",connection_type="virtual_node"}"#;
    assert_eq!(value(&text, virtual_edge), Some(1.0), "{text}");
}

#[test]
fn internal_and_root_server_spans_make_no_edges() {
    let a = aggregator();
    a.observe(&[
        spec("work", SpanKind::Internal, 1.0).build(),
        spec("GET /", SpanKind::Server, 1.0).ids(6, 60, 0).build(),
    ]);
    assert!(!render(&a).contains("traces_service_graph"));
}

#[test]
fn every_sample_line_is_valid_exposition_text() {
    let a = aggregator();
    a.observe(&orders());
    a.observe(&request(1, Status::Unset));
    let text = render(&a);
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed.insert(rest.split(' ').next().unwrap().to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("name{labels} value");
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let name = series.split('{').next().unwrap();
        assert!(series.ends_with('}'), "{line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| typed.contains(*f)))
            .unwrap_or(name);
        assert!(typed.contains(family), "{name} has no # TYPE line before it");
    }
}
