//! What `force_flush()` reports: `Ok` only when every span ended before it was delivered; the
//! exporter's own error (kept as the source) when spans could not be sent; `ShutDown` after
//! the pipeline stopped. Against a real OTLP/HTTP receiver on loopback.

#[path = "support/log_capture.rs"]
mod log_capture;
#[path = "support/otlp_receiver.rs"]
mod otlp_receiver;
mod support;

use std::error::Error as _;
use std::time::Duration;

use maximus_trace::{Exporter, FlushError, TracingManager, span};
use otlp_receiver::OtlpReceiver;

fn pipeline(endpoint: String) -> maximus_trace::TracingGuard {
    log_capture::install();
    TracingManager::builder()
        .service_name("flush-outcome")
        .environment(|_| None)
        .otlp_endpoint(endpoint)
        .shutdown_timeout(Duration::from_secs(2))
        .init()
        .expect("tracing starts")
}

#[test]
fn a_flush_whose_spans_were_refused_names_the_count_and_the_collectors_answer() {
    let _lock = support::exclusive();
    // 400 is not retried: the batch fails at once.
    let collector = OtlpReceiver::scripted(&[("400 Bad Request", &[])]);
    let guard = pipeline(collector.endpoint());
    for i in 0..10 {
        let _s = span!("refused", i = i as i64);
    }
    let flushed = guard.force_flush();
    let stats = guard.stats();
    drop(guard);
    let Err(FlushError::Export { spans, source, .. }) = &flushed else {
        panic!("expected an export error, got {flushed:?}");
    };
    assert_eq!(*spans, 10);
    assert_eq!(stats.spans_failed, 10, "{stats:?}");
    assert!(source.to_string().contains("400"), "{source}");
    let error = flushed.unwrap_err();
    assert!(error.to_string().contains("10 spans"), "{error}");
    assert!(error.source().is_some(), "the cause is kept as the source");
}

#[test]
fn a_flush_after_a_refusal_that_delivers_is_ok() {
    let _lock = support::exclusive();
    let collector = OtlpReceiver::scripted(&[("400 Bad Request", &[])]);
    let guard = pipeline(collector.endpoint());
    {
        let _s = span!("refused");
    }
    assert!(guard.force_flush().is_err());
    {
        let _s = span!("accepted");
    }
    guard.force_flush().expect("the second batch was accepted");
    drop(guard);
    assert_eq!(collector.wait_for_spans(1, Duration::from_secs(5)).len(), 1);
}

#[test]
fn a_flush_after_the_shutdown_says_so() {
    let _lock = support::exclusive();
    let collector = OtlpReceiver::start();
    let guard = pipeline(collector.endpoint());
    guard.shutdown();
    let flushed = guard.force_flush();
    assert!(matches!(flushed, Err(FlushError::ShutDown)), "{flushed:?}");
}

#[test]
fn a_pipeline_that_exports_nowhere_reports_nothing_lost_at_exit() {
    let _lock = support::exclusive();
    log_capture::install();
    let guard = TracingManager::builder()
        .service_name("metrics-only")
        .environment(|_| None)
        .exporter(Exporter::None)
        .span_metrics(true)
        .shutdown_timeout(Duration::from_millis(300))
        .init()
        .expect("tracing starts");
    for _ in 0..100 {
        let _s = span!("counted_only");
    }
    guard.force_flush().expect("nothing to deliver");
    let snapshot = guard.metrics_snapshot();
    assert_eq!(snapshot.operation("counted_only").map(|o| o.calls), Some(100));
    drop(guard);
    let lost = log_capture::lines_containing("not delivered");
    assert!(lost.is_empty(), "{lost:?}");
}
