//! Spans are buffered per thread; these check the seams between threads: operations sent to
//! a span another thread holds, and flushes that must collect what idle or exiting threads
//! buffered, through a real pipeline exporting to memory.

mod support;

use std::sync::mpsc;

use maximus_trace::{Span, Status, span};
use opentelemetry::Value as V;
use opentelemetry::trace::Status as OtelStatus;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use support::{attr, capture, find};

/// A thread that has ended five spans (well under the per-thread hand-off size) and then
/// waits, alive and idle, until released.
struct IdleWorker {
    release: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl IdleWorker {
    fn after_five_spans() -> Self {
        let (ended_tx, ended_rx) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            for i in 0..5 {
                let _s = span!("idle.worker", i = i);
            }
            ended_tx.send(()).unwrap();
            released.recv().unwrap();
        });
        ended_rx.recv().unwrap();
        IdleWorker { release, thread }
    }

    fn release(self) {
        self.release.send(()).unwrap();
        self.thread.join().unwrap();
    }
}

#[test]
fn operations_from_another_thread_reach_a_span_this_thread_holds() {
    let spans = capture(|| {
        let outer = span!("held");
        let remote = Span::current();
        std::thread::spawn(move || {
            remote.set_attribute("from.other.thread", 7);
            remote.add_event("noticed", [("by", "worker")]);
            remote.set_status(Status::error("worker failed"));
        })
        .join()
        .unwrap();
        drop(outer);
    });
    let held = find(&spans, "held");
    assert_eq!(attr(held, "from.other.thread"), Some(&V::I64(7)));
    assert_eq!(held.events.events.len(), 1);
    assert_eq!(held.events.events[0].name, "noticed");
    assert_eq!(held.status, OtelStatus::error("worker failed"));
}

#[test]
fn operations_from_another_thread_reach_a_span_below_the_top_of_the_stack() {
    let spans = capture(|| {
        let outer = span!("outer");
        let remote = Span::current();
        let inner = span!("inner");
        std::thread::spawn(move || remote.set_attribute("late", "yes"))
            .join()
            .unwrap();
        drop(inner);
        drop(outer);
    });
    assert_eq!(attr(find(&spans, "outer"), "late"), Some(&V::from("yes")));
    assert_eq!(attr(find(&spans, "inner"), "late"), None);
}

#[test]
fn operations_sent_after_the_span_ended_are_dropped_without_harm() {
    let spans = capture(|| {
        let outer = span!("gone");
        let remote = Span::current();
        drop(outer);
        std::thread::spawn(move || remote.set_attribute("too.late", 1))
            .join()
            .unwrap();
        let _next = span!("next");
    });
    assert_eq!(attr(find(&spans, "gone"), "too.late"), None);
    assert_eq!(attr(find(&spans, "next"), "too.late"), None);
}

#[test]
fn owned_spans_moved_between_threads_record_everything() {
    let spans = capture(|| {
        let started = maximus_trace::get_tracing().start_span("travelling", [("a", 1)]);
        let remote = started.as_ref();
        let worker = std::thread::spawn(move || {
            let _entered = started.enter();
            let _child = span!("on.worker");
        });
        worker.join().unwrap();
        remote.set_attribute("after.end", 2);
    });
    let travelling = find(&spans, "travelling");
    assert_eq!(attr(travelling, "a"), Some(&V::I64(1)));
    assert_eq!(attr(travelling, "after.end"), None);
    assert!(support::is_child_of(find(&spans, "on.worker"), travelling));
}

#[test]
fn force_flush_collects_spans_buffered_by_an_idle_thread() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter).init().unwrap();
    let worker = IdleWorker::after_five_spans();
    guard.force_flush().unwrap();
    let exported = exporter.get_finished_spans().unwrap().len();
    worker.release();
    drop(guard);
    assert_eq!(exported, 5, "spans of a live, idle thread must be flushed");
}

#[test]
fn force_flush_collects_spans_of_a_thread_that_exited() {
    let spans = capture(|| {
        std::thread::spawn(|| {
            for i in 0..3 {
                let _s = span!("exited.worker", i = i);
            }
        })
        .join()
        .unwrap();
    });
    assert_eq!(spans.len(), 3);
}

#[test]
fn a_span_still_open_on_another_thread_is_exported_once_when_it_ends() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter).init().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        let _open = span!("still.open");
        {
            let _done = span!("already.ended");
        }
        ready_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    });
    ready_rx.recv().unwrap();
    guard.force_flush().unwrap();
    let during: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    go_tx.send(()).unwrap();
    worker.join().unwrap();
    let after = support::finish(guard, &exporter);
    // A busy thread's buffer is not taken from it: its ended spans go out when it hands
    // them over (at a span end, once a flush has asked), and a span still open there is
    // never exported half-done.
    assert!(!during.iter().any(|n| n == "still.open"), "{during:?}");
    let names: Vec<&str> = after.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names.iter().filter(|n| **n == "still.open").count(), 1);
    assert_eq!(names.iter().filter(|n| **n == "already.ended").count(), 1);
}

#[test]
fn dropping_the_guard_exports_spans_buffered_by_an_idle_thread() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter)
        .span_exporter(support::KeepOnShutdown(exporter.clone()))
        .init()
        .unwrap();
    // A pool thread that stays alive, idle, past the shutdown.
    let worker = IdleWorker::after_five_spans();
    drop(guard);
    worker.release();
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 5);
}

#[test]
fn spans_ended_on_a_thread_that_started_none_are_counted() {
    let _lock = support::exclusive();
    // Sampled spans end through the thread's buffer, unsampled ones are only counted.
    for (ratio, exported) in [(1.0, 3), (0.0, 0)] {
        let exporter = InMemorySpanExporter::default();
        let guard = support::builder(&exporter).sample_ratio(ratio).init().unwrap();
        let spans: Vec<Span> = (0..3)
            .map(|i| maximus_trace::get_tracing().start_span("handed.over", [("i", i)]))
            .collect();
        // The consumer never starts a span of its own, only ends these.
        std::thread::spawn(move || drop(spans)).join().unwrap();
        guard.force_flush().unwrap();
        let stats = guard.stats();
        drop(guard);
        assert_eq!(
            (stats.spans_started, stats.spans_ended),
            (3, 3),
            "ratio {ratio}: {stats:?}"
        );
        assert_eq!(stats.spans_exported, exported, "ratio {ratio}");
    }
}
