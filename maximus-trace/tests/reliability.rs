//! Collectors that fail: absent, hanging, slow, flapping. The application keeps its speed,
//! memory stays bounded, what is lost is counted, and export resumes by itself.

#[path = "support/log_capture.rs"]
mod log_capture;
#[path = "support/otlp_receiver.rs"]
mod otlp_receiver;
mod support;

use std::time::{Duration, Instant};

use maximus_trace::{TracingManager, span};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use otlp_receiver::OtlpReceiver;

const ARRIVAL: Duration = Duration::from_secs(10);

fn otlp_pipeline(endpoint: String) -> maximus_trace::TracingBuilder {
    TracingManager::builder()
        .service_name("reliability")
        .environment(|_| None)
        .otlp_endpoint(endpoint)
        .batch_delay(Duration::from_millis(20))
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn absent_collector_failures_are_logged_once_per_interval_not_per_batch() {
    log_capture::install();
    let _lock = support::exclusive();
    let endpoint = format!("http://127.0.0.1:{}/v1/traces", closed_port());
    let guard = otlp_pipeline(endpoint.clone()).init().unwrap();
    let started = Instant::now();
    for round in 0..6 {
        let _s = span!("doomed", round = round);
        drop(_s);
        let _ = guard.force_flush();
    }
    let elapsed = started.elapsed();
    let stats = guard.stats();
    drop(guard);
    assert!(
        stats.export_errors >= 6,
        "every flush attempted an export: {stats:?}"
    );
    let warnings: Vec<_> = log_capture::lines_containing(&endpoint)
        .into_iter()
        .filter(|(_, line)| line.contains("failed for"))
        .collect();
    // The exporter's own retries make each failed export take a while; the interval is 10 s.
    let allowed = 1 + elapsed.as_secs() as usize / 10;
    assert!(
        !warnings.is_empty() && warnings.len() <= allowed,
        "{allowed} allowed: {warnings:?}"
    );
    assert!(warnings.iter().all(|(level, _)| *level == log::Level::Warn));
    // The warning names the cause, not only that sending failed.
    assert!(
        warnings.iter().all(|(_, line)| line.contains("onnect")),
        "{warnings:?}"
    );
}

#[test]
fn hanging_collector_never_blocks_the_caller_and_excess_is_dropped_and_counted() {
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::silent();
    let guard = otlp_pipeline(receiver.endpoint())
        .max_queue_size(100)
        .shutdown_timeout(Duration::from_millis(300))
        .init()
        .unwrap();
    for i in 0..5_000 {
        let _s = span!("while_hung", i = i);
    }
    let stats = guard.stats();
    assert_eq!(stats.spans_ended, 5_000);
    assert!(stats.spans_dropped_queue_full >= 4_000, "{stats:?}");
    let started = Instant::now();
    drop(guard);
    assert!(started.elapsed() < Duration::from_secs(5), "shutdown is bounded");
}

#[test]
fn slow_collector_loses_only_what_exceeds_the_queue_and_every_span_is_accounted_for() {
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::slow(Duration::from_millis(100));
    let guard = otlp_pipeline(receiver.endpoint())
        .max_queue_size(64)
        .init()
        .unwrap();
    for i in 0..2_000 {
        let _s = span!("burst", i = i);
    }
    guard.force_flush().unwrap();
    let stats = guard.stats();
    drop(guard);
    assert!(stats.spans_dropped_queue_full > 0, "{stats:?}");
    assert_eq!(
        stats.spans_exported + stats.spans_failed + stats.spans_dropped_queue_full,
        stats.spans_ended,
        "{stats:?}"
    );
    let received = receiver.wait_for_spans(stats.spans_exported as usize, ARRIVAL);
    assert_eq!(received.len() as u64, stats.spans_exported);
}

#[test]
fn export_resumes_by_itself_when_the_collector_comes_back() {
    let _lock = support::exclusive();
    let first = OtlpReceiver::start();
    let addr = first.addr();
    drop(first);
    let guard = otlp_pipeline(format!("http://{addr}/v1/traces")).init().unwrap();
    {
        let _s = span!("while_down");
    }
    let _ = guard.force_flush();
    assert!(guard.stats().export_errors > 0);
    let back = OtlpReceiver::start_on(addr);
    {
        let _s = span!("after_return");
    }
    guard.force_flush().unwrap();
    let spans = back.wait_for_spans(1, ARRIVAL);
    drop(guard);
    assert!(spans.iter().any(|s| s.name == "after_return"));
}

#[test]
fn span_held_open_forever_does_not_hold_back_its_finished_children() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter).init().unwrap();
    let root = maximus_trace::get_tracing().start_span("never_ends", [("k", 1)]);
    let root_guard = root.enter();
    for i in 0..100 {
        let _child = span!("child", i = i);
    }
    guard.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.iter().filter(|s| s.name == "child").count(), 100);
    assert!(spans.iter().all(|s| s.name != "never_ends"));
    drop(root_guard);
    drop(guard);
}

#[test]
fn spans_ending_after_shutdown_are_counted_apart_from_queue_drops() {
    let exporter = InMemorySpanExporter::default();
    let manager = support::builder(&exporter).build().unwrap();
    let late = manager.span_builder("ends_after_shutdown").start();
    manager.span_builder("ends_before").start().end();
    manager.shutdown();
    late.end();
    let stats = manager.stats();
    assert_eq!(stats.spans_exported, 1, "{stats:?}");
    assert_eq!(stats.spans_dropped_after_shutdown, 1, "{stats:?}");
    assert_eq!(stats.spans_dropped_queue_full, 0, "{stats:?}");
    assert_eq!(
        stats.spans_ended,
        stats.spans_exported
            + stats.spans_failed
            + stats.spans_dropped_queue_full
            + stats.spans_dropped_after_shutdown,
        "{stats:?}"
    );
}

#[test]
fn panicking_exporter_loses_its_batch_but_not_the_pipeline() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = TracingManager::builder()
        .environment(|_| None)
        .span_exporter(PanicsOnce::new(exporter.clone()))
        .init()
        .unwrap();
    {
        let _s = span!("lost_to_the_panic");
    }
    let _ = guard.force_flush();
    {
        let _s = span!("exported_after");
    }
    guard.force_flush().unwrap();
    let names: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    drop(guard);
    assert_eq!(names, ["exported_after"]);
}

#[derive(Debug)]
struct PanicsOnce {
    inner: InMemorySpanExporter,
    panicked: std::sync::atomic::AtomicBool,
}

impl PanicsOnce {
    fn new(inner: InMemorySpanExporter) -> Self {
        PanicsOnce {
            inner,
            panicked: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl opentelemetry_sdk::trace::SpanExporter for PanicsOnce {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        if !self.panicked.swap(true, std::sync::atomic::Ordering::SeqCst) {
            panic!("exporter bug");
        }
        self.inner.export(batch).await
    }
}
