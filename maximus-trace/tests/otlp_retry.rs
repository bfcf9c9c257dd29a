//! The OTLP/HTTP exporter's retries, against a local collector that refuses for a while: what
//! a collector asks to be retried (429, 502, 503, 504; a refused connection or a timeout take
//! the same path) is retried with backoff or after `Retry-After`, nothing else is, and every
//! span is counted either way.

#[path = "support/otlp_receiver.rs"]
mod otlp_receiver;
mod support;

use std::time::Duration;

use maximus_trace::{TracingGuard, TracingManager, span};
use otlp_receiver::OtlpReceiver;

/// Generous: a safety net so that a lost export fails the test instead of hanging it.
const ARRIVAL: Duration = Duration::from_secs(10);

const UNAVAILABLE: &str = "503 Service Unavailable";
const NO_HEADERS: &[(&str, &str)] = &[];

fn init(receiver: &OtlpReceiver) -> TracingGuard {
    TracingManager::builder()
        .environment(|_| None)
        .service_name("retrying")
        .otlp_endpoint(receiver.endpoint())
        .init()
        .expect("init")
}

fn ten_spans() {
    for i in 0..10 {
        let _s = span!("sent", i = i);
    }
}

#[test]
fn a_collector_that_is_unavailable_three_times_gets_every_span_exactly_once() {
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::scripted(&[
        (UNAVAILABLE, NO_HEADERS),
        ("502 Bad Gateway", NO_HEADERS),
        ("504 Gateway Timeout", NO_HEADERS),
    ]);
    let guard = init(&receiver);
    ten_spans();
    guard.force_flush().expect("flush");
    let stats = guard.stats();
    drop(guard);
    let spans = receiver.wait_for_spans(10, ARRIVAL);
    assert_eq!(spans.len(), 10, "each span once, none duplicated by a retry");
    assert_eq!(receiver.attempts().len(), 4);
    assert_eq!(
        (stats.spans_exported, stats.spans_failed, stats.export_errors),
        (10, 0, 0)
    );
    // Backoff: 100, 200, then 400 ms before the retries.
    let at = receiver.attempts();
    assert!(at[1] - at[0] >= Duration::from_millis(90), "{:?}", at[1] - at[0]);
    assert!(at[2] - at[1] >= Duration::from_millis(190), "{:?}", at[2] - at[1]);
    assert!(at[3] - at[2] >= Duration::from_millis(390), "{:?}", at[3] - at[2]);
}

#[test]
fn retry_after_is_honoured() {
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::scripted(&[("429 Too Many Requests", &[("retry-after", "1")])]);
    let guard = init(&receiver);
    ten_spans();
    guard.force_flush().expect("flush");
    drop(guard);
    assert_eq!(receiver.wait_for_spans(10, ARRIVAL).len(), 10);
    let at = receiver.attempts();
    assert_eq!(at.len(), 2);
    assert!(at[1] - at[0] >= Duration::from_millis(950), "{:?}", at[1] - at[0]);
}

#[test]
fn a_rejected_batch_is_not_retried_and_its_spans_are_counted_failed() {
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::scripted(&[("400 Bad Request", NO_HEADERS)]);
    let guard = init(&receiver);
    ten_spans();
    let _ = guard.force_flush();
    let stats = guard.stats();
    drop(guard);
    assert_eq!(receiver.attempts().len(), 1);
    assert_eq!(
        (stats.spans_exported, stats.spans_failed, stats.export_errors),
        (0, 10, 1)
    );
}

#[test]
fn a_collector_that_stays_unavailable_is_tried_four_times_then_the_batch_is_counted_failed() {
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::scripted(&[(UNAVAILABLE, NO_HEADERS); 10]);
    let guard = init(&receiver);
    ten_spans();
    let _ = guard.force_flush();
    let stats = guard.stats();
    drop(guard);
    assert_eq!(receiver.attempts().len(), 4, "the first post and three retries");
    assert_eq!(
        (stats.spans_exported, stats.spans_failed, stats.export_errors),
        (0, 10, 1)
    );
}
