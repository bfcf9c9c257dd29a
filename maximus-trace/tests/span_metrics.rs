//! Span metrics through the real pipeline: computed on the export thread, read with
//! `metrics_snapshot()`, and scraped as Prometheus text over a real socket.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use maximus_trace::{ConfigError, Exporter, SpanKind, Status, TracingManager, get_tracing};
use opentelemetry_sdk::trace::InMemorySpanExporter;

/// Sends `GET path` and returns the status line, the headers and the body.
fn get(addr: SocketAddr, path: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the metrics listener");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/plain\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("a response");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_ascii_lowercase(), body.to_owned())
}

/// Three server spans named `checkout`, one of them failed, and one internal span.
fn some_spans() {
    for i in 0..3 {
        let span = get_tracing()
            .span_builder("checkout")
            .kind(SpanKind::Server)
            .entered();
        if i == 2 {
            span.set_status(Status::error("card declined"));
        }
        let _inner = maximus_trace::span!("validate");
    }
}

// The labels and their order of the spanmetrics connector behind its Prometheus exporter.
const CHECKOUT_OK: &str = r#"traces_span_metrics_calls_total{job="test-service",otel_scope_name="spanmetricsconnector",otel_scope_schema_url="",otel_scope_version="",service_name="test-service",span_kind="SPAN_KIND_SERVER",span_name="checkout",status_code="STATUS_CODE_UNSET"} 2"#;
const CHECKOUT_ERR: &str = r#"traces_span_metrics_calls_total{job="test-service",otel_scope_name="spanmetricsconnector",otel_scope_schema_url="",otel_scope_version="",service_name="test-service",span_kind="SPAN_KIND_SERVER",span_name="checkout",status_code="STATUS_CODE_ERROR"} 1"#;

#[test]
fn prometheus_listener_serves_span_metrics_as_text_format_0_0_4() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter)
        .prometheus_listener("127.0.0.1:0")
        .init()
        .expect("init");
    some_spans();
    guard.force_flush().expect("flush");
    let addr = guard.prometheus_addr().expect("the listener is running");
    // A series' first scrape shows its calls as 0 (so that `rate()` sees the increase); the
    // second shows the count.
    let _ = get(addr, "/metrics");
    let (status, headers, body) = get(addr, "/metrics");
    drop(guard);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{headers}"
    );
    assert!(body.contains(CHECKOUT_OK), "{body}");
    assert!(body.contains(CHECKOUT_ERR), "{body}");
    assert!(
        body.contains(r#"traces_span_metrics_duration_milliseconds_count{job="test-service",otel_scope_name="spanmetricsconnector",otel_scope_schema_url="",otel_scope_version="",service_name="test-service",span_kind="SPAN_KIND_INTERNAL",span_name="validate",status_code="STATUS_CODE_UNSET"} 3"#),
        "{body}"
    );
}

#[test]
fn prometheus_listener_answers_other_paths_with_404() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter)
        .prometheus_listener("127.0.0.1:0")
        .init()
        .expect("init");
    let addr = guard.prometheus_addr().unwrap();
    let (status, _, body) = get(addr, "/");
    drop(guard);
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(body.contains("/metrics"), "{body}");
}

#[test]
fn prometheus_listener_stops_when_the_pipeline_shuts_down() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter)
        .prometheus_listener("127.0.0.1:0")
        .init()
        .expect("init");
    let addr = guard.prometheus_addr().unwrap();
    drop(guard);
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the listener still accepts after shutdown"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn metrics_snapshot_counts_calls_and_errors_per_span_name() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter)
        .span_metrics(true)
        .init()
        .expect("init");
    some_spans();
    guard.force_flush().expect("flush");
    let snapshot = guard.metrics_snapshot();
    drop(guard);
    let checkout = snapshot.operation("checkout").expect("checkout");
    assert_eq!((checkout.calls, checkout.errors), (3, 1));
    assert!((checkout.error_rate - 1.0 / 3.0).abs() < 1e-9);
    assert!(checkout.rate > 0.0);
    assert!(checkout.p50 <= checkout.p95 && checkout.p95 <= checkout.p99);
    assert_eq!(snapshot.operation("validate").map(|o| o.calls), Some(3));
    assert!(snapshot.to_string().contains("checkout"));
}

#[test]
fn span_metrics_work_without_an_exporter() {
    let _lock = support::exclusive();
    let guard = TracingManager::builder()
        .environment(|_| None)
        .service_name("no-export")
        .exporter(Exporter::None)
        .span_metrics(true)
        .init()
        .expect("init");
    some_spans();
    guard.force_flush().expect("flush");
    let snapshot = guard.metrics_snapshot();
    let stats = guard.stats();
    drop(guard);
    assert_eq!(snapshot.operation("checkout").map(|o| o.calls), Some(3));
    assert_eq!(
        stats.spans_exported, 0,
        "discarded spans are not counted as exported"
    );
}

#[test]
fn span_metrics_are_off_by_default() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter).init().expect("init");
    some_spans();
    guard.force_flush().expect("flush");
    assert!(guard.metrics_snapshot().is_empty());
    assert_eq!(guard.prometheus_text(), None);
    assert_eq!(guard.prometheus_addr(), None);
}

#[test]
fn environment_switches_metrics_on_and_names_a_bad_variable() {
    let _lock = support::exclusive();
    let on = TracingManager::builder()
        .environment(|name| match name {
            "MAXIMUS_TRACE_EXPORTER" => Some("none".into()),
            "MAXIMUS_PROMETHEUS_ADDR" => Some("127.0.0.1:0".into()),
            _ => None,
        })
        .build()
        .expect("build");
    assert!(on.prometheus_addr().is_some(), "an address switches metrics on");
    assert!(on.prometheus_text().is_some());
    drop(on);
    for (variable, value) in [
        ("MAXIMUS_SPAN_METRICS", "maybe"),
        ("MAXIMUS_PROMETHEUS_ADDR", "localhost"),
    ] {
        let err = TracingManager::builder()
            .environment(move |name| (name == variable).then(|| value.to_owned()))
            .build()
            .expect_err("a bad value is an error");
        let text = err.to_string();
        assert!(matches!(err, ConfigError::InvalidVariable { .. }), "{text}");
        assert!(text.contains(variable) && text.contains(value), "{text}");
    }
}

#[test]
fn a_malformed_listener_address_is_a_setting_error() {
    let err = TracingManager::builder()
        .environment(|_| None)
        .prometheus_listener("port 9464")
        .build()
        .expect_err("rejected");
    assert!(err.to_string().contains("prometheus_listener"), "{err}");
}

#[test]
fn a_busy_port_is_logged_and_tracing_goes_on() {
    let _lock = support::exclusive();
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter)
        .prometheus_listener(busy.local_addr().unwrap().to_string())
        .init()
        .expect("init succeeds although the port is taken");
    some_spans();
    guard.force_flush().expect("flush");
    assert_eq!(guard.prometheus_addr(), None);
    assert_eq!(
        guard.metrics_snapshot().operation("checkout").map(|o| o.calls),
        Some(3)
    );
}

#[test]
fn describe_reports_the_resolved_configuration_without_starting_anything() {
    let config = TracingManager::builder()
        .environment(|name| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://user:secret@collector:4318".into()),
            "OTEL_TRACES_SAMPLER" => Some("parentbased_traceidratio".into()),
            "OTEL_TRACES_SAMPLER_ARG" => Some("0.25".into()),
            _ => None,
        })
        .service_name("orders")
        .describe()
        .expect("valid");
    assert_eq!(config.exporter, Exporter::Otlp);
    assert_eq!(config.service_name, "orders");
    assert!(!config.endpoint.contains("secret"), "{}", config.endpoint);
    assert_eq!(
        (config.host.as_deref(), config.port),
        (Some("collector"), Some(4318))
    );
    assert_eq!(config.sampler, "parentbased_traceidratio (0.25)");
    assert!(config.enabled && !config.span_metrics);
    let jaeger = TracingManager::builder()
        .environment(|_| None)
        .jaeger_agent("agent", 6832)
        .describe()
        .unwrap();
    assert_eq!(jaeger.endpoint, "udp://agent:6832");
    assert_eq!((jaeger.host.as_deref(), jaeger.port), (Some("agent"), Some(6832)));
    let err = TracingManager::builder()
        .environment(|name| (name == "MAXIMUS_TRACE_EXPORTER").then(|| "kafka".to_owned()))
        .describe()
        .unwrap_err();
    assert!(err.to_string().contains("MAXIMUS_TRACE_EXPORTER"), "{err}");
}

#[path = "support/otlp_receiver.rs"]
mod otlp_receiver;

#[test]
#[cfg(feature = "otlp-metrics")]
fn span_metrics_are_pushed_over_otlp_beside_the_traces() {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let _lock = support::exclusive();
    let receiver = otlp_receiver::OtlpReceiver::start();
    let guard = TracingManager::builder()
        .service_name("otlp-metrics")
        .environment(|_| None)
        .otlp_endpoint(receiver.endpoint())
        .span_metrics(true)
        .init()
        .unwrap();
    for _ in 0..3 {
        let _s = maximus_trace::span!("pushed");
    }
    guard.force_flush().unwrap();
    let pushed = receiver.wait_for_metrics(std::time::Duration::from_secs(10));
    drop(guard);
    let metrics: Vec<_> = pushed
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .collect();
    let calls = metrics
        .iter()
        .find(|m| m.name == "traces.span.metrics.calls")
        .expect("calls metric");
    let Some(Data::Sum(sum)) = &calls.data else {
        panic!("calls is a sum: {calls:?}")
    };
    let point = sum
        .data_points
        .iter()
        .find(|p| {
            p.attributes
                .iter()
                .any(|kv| kv.key == "span.name" && format!("{:?}", kv.value).contains("pushed"))
        })
        .expect("a point for the span name");
    assert_eq!(format!("{:?}", point.value), "Some(AsInt(3))");
    let duration = metrics
        .iter()
        .find(|m| m.name == "traces.span.metrics.duration")
        .expect("duration metric");
    assert_eq!(duration.unit, "ms");
    assert!(matches!(duration.data, Some(Data::Histogram(_))));
}
