//! One bound for a program's exit: from the moment the guard starts dropping, at most the
//! shutdown bound passes, whatever the collector does (accepts and hangs, resets, answers
//! slowly), and a `force_flush()` just before is part of that bound, not added to it. What is
//! not delivered is counted and named in one warning.
//!
//! The bound is asserted on the exit's wall time, measured here, never on the span path.

#[path = "support/log_capture.rs"]
mod log_capture;
#[path = "support/otlp_receiver.rs"]
mod otlp_receiver;
mod support;

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use maximus_trace::{FlushError, TracingGuard, TracingManager, span};
use otlp_receiver::OtlpReceiver;

const BOUND: Duration = Duration::from_secs(2);
/// Scheduling slack on a loaded 2-core machine; far below a second bound.
const SLACK: Duration = Duration::from_millis(700);

/// A collector that accepts, reads the request, and closes the connection (a reset).
fn resetting_collector() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let mut chunk = [0; 64];
                    let _ = stream.read(&mut chunk);
                    // Closed with unread bytes: the peer sees a reset.
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (endpoint, thread)
}

fn pipeline(endpoint: String) -> TracingGuard {
    log_capture::install();
    TracingManager::builder()
        .service_name("exit-bound")
        .environment(|_| None)
        .otlp_endpoint(endpoint)
        .shutdown_timeout(BOUND)
        .init()
        .expect("tracing starts")
}

/// Makes spans, flushes (as short programs do), drops the guard: the time from the flush to
/// the end of the drop, and the final counts.
fn flush_and_exit(
    guard: TracingGuard,
    spans: usize,
) -> (Duration, Result<(), FlushError>, maximus_trace::Stats) {
    for i in 0..spans {
        let _s = span!("before_exit", i = i as i64);
    }
    let started = Instant::now();
    let flushed = guard.force_flush();
    guard.shutdown();
    let stats = guard.stats();
    drop(guard);
    (started.elapsed(), flushed, stats)
}

#[test]
fn a_hung_collector_holds_flush_and_exit_together_within_one_bound() {
    let _lock = support::exclusive();
    let collector = OtlpReceiver::silent();
    let (took, flushed, stats) = flush_and_exit(pipeline(collector.endpoint()), 1_000);
    assert!(
        took <= BOUND + SLACK,
        "flush + exit took {took:?}, bound {BOUND:?}"
    );
    assert!(matches!(flushed, Err(FlushError::Timeout(_))), "{flushed:?}");
    assert_eq!(stats.spans_exported, 0);
    assert_eq!(
        stats.spans_failed + stats.spans_dropped_queue_full,
        1_000,
        "every span counted: {stats:?}"
    );
    let warnings: Vec<_> = log_capture::lines_containing(&collector.endpoint())
        .into_iter()
        .filter(|(level, _)| *level == log::Level::Warn)
        .collect();
    assert_eq!(warnings.len(), 1, "one warning: {warnings:?}");
    assert!(
        warnings[0]
            .1
            .contains("shutdown bound ran out: 1000 spans not delivered"),
        "{warnings:?}"
    );
}

#[test]
fn a_hung_collector_holds_an_exit_without_a_flush_within_the_bound() {
    let _lock = support::exclusive();
    let collector = OtlpReceiver::silent();
    let guard = pipeline(collector.endpoint());
    for i in 0..100 {
        let _s = span!("before_exit", i = i as i64);
    }
    let started = Instant::now();
    drop(guard);
    let took = started.elapsed();
    assert!(took <= BOUND + SLACK, "exit took {took:?}, bound {BOUND:?}");
}

#[test]
fn a_collector_that_resets_connections_cannot_hold_the_exit() {
    let _lock = support::exclusive();
    let (endpoint, _collector) = resetting_collector();
    let (took, _, stats) = flush_and_exit(pipeline(endpoint), 1_000);
    assert!(
        took <= BOUND + SLACK,
        "flush + exit took {took:?}, bound {BOUND:?}"
    );
    assert_eq!(stats.spans_exported, 0);
    assert_eq!(
        stats.spans_failed + stats.spans_dropped_queue_full,
        1_000,
        "{stats:?}"
    );
}

#[test]
fn a_collector_slower_than_the_bound_cannot_hold_the_exit() {
    let _lock = support::exclusive();
    let collector = OtlpReceiver::slow(Duration::from_secs(20));
    let (took, flushed, stats) = flush_and_exit(pipeline(collector.endpoint()), 1_000);
    assert!(
        took <= BOUND + SLACK,
        "flush + exit took {took:?}, bound {BOUND:?}"
    );
    assert!(flushed.is_err());
    assert_eq!(stats.spans_exported + stats.spans_failed, 1_000, "{stats:?}");
}

#[test]
fn a_flush_that_completes_leaves_the_exit_its_whole_bound() {
    let _lock = support::exclusive();
    let collector = OtlpReceiver::start();
    let (took, flushed, stats) = flush_and_exit(pipeline(collector.endpoint()), 1_000);
    flushed.expect("a live collector takes the flush");
    assert_eq!(stats.spans_exported, 1_000, "{stats:?}");
    assert!(took <= BOUND + SLACK, "{took:?}");
    assert_eq!(
        collector.wait_for_spans(1_000, Duration::from_secs(5)).len(),
        1_000
    );
}

#[test]
fn a_flush_that_timed_out_once_leaves_later_flushes_and_the_exit_their_bound() {
    let _lock = support::exclusive();
    let log_from = log_capture::all().len();
    // Holds the first post for longer than the bound, then answers everything.
    let collector = OtlpReceiver::stalls_once(BOUND + Duration::from_millis(500));
    let guard = pipeline(collector.endpoint());
    for i in 0..100 {
        let _s = span!("before_the_stall", i = i as i64);
    }
    let first = guard.force_flush();
    assert!(matches!(first, Err(FlushError::Timeout(_))), "{first:?}");
    // The collector recovers: the stalled post is answered.
    assert_eq!(collector.wait_for_spans(100, BOUND * 2).len(), 100);
    for i in 0..100 {
        let _s = span!("after_the_stall", i = i as i64);
    }
    guard
        .force_flush()
        .expect("a flush after the collector recovered has its own bound");
    for i in 0..100 {
        let _s = span!("at_exit", i = i as i64);
    }
    guard.shutdown();
    let stats = guard.stats();
    drop(guard);
    assert_eq!(
        (stats.spans_exported, stats.spans_failed),
        (300, 0),
        "the exit delivered everything: {stats:?}"
    );
    assert_eq!(collector.wait_for_spans(300, BOUND).len(), 300);
    let later = &log_capture::all()[log_from..];
    assert!(!later.contains("shutdown bound ran out"), "{later}");
}
