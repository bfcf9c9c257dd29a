//! `SpanLayer` (feature `tracing`): `tracing` spans recorded as ours, in one tree with
//! `span!` spans both ways, with typed fields, tracing-opentelemetry's `otel.*` conventions,
//! events, links, filters and async code moving between threads.
//!
//! One subscriber serves the whole file, installed globally (as a program installs it), so
//! that spans entered on a runtime's worker threads are seen there too. `SpanLayer`'s filter
//! leaves out every span named `left_out`; a `fmt` layer beside it (as programs have) sees
//! all, so those spans exist for `tracing` and only our layer skips them.
#![cfg(feature = "tracing")]

mod support;

use std::sync::Once;
use std::time::Duration;

use maximus_trace::tracing_layer::SpanLayer;
use maximus_trace::{FutureExt as _, get_tracing, span};
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use support::{attr, capture, find, is_child_of};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
            .with(SpanLayer::new().with_filter(filter_fn(|metadata| {
                !(metadata.is_span() && metadata.name() == "left_out")
            })))
            .init();
    });
}

/// Installs the subscriber, then captures what `body` records.
fn spans_of(body: impl FnOnce()) -> Vec<SpanData> {
    install();
    capture(body)
}

#[derive(Debug)]
struct Sku(#[allow(dead_code)] &'static str);

#[test]
fn fields_become_attributes_of_their_type() {
    let spans = spans_of(|| {
        let span = tracing::info_span!(
            "reserve",
            count = 3_i64,
            big = u64::MAX,
            ratio = 0.5,
            express = true,
            customer = "ada",
            sku = ?Sku("b-7"),
            shown = %"display",
            later = tracing::field::Empty,
        );
        span.in_scope(|| {});
        span.record("later", 11_i64);
    });
    let span = find(&spans, "reserve");
    assert_eq!(attr(span, "count"), Some(&Value::I64(3)));
    // A u64 above i64::MAX keeps its value, as text.
    assert_eq!(attr(span, "big"), Some(&Value::from(u64::MAX.to_string())));
    assert_eq!(attr(span, "ratio"), Some(&Value::F64(0.5)));
    assert_eq!(attr(span, "express"), Some(&Value::Bool(true)));
    assert_eq!(attr(span, "customer"), Some(&Value::from("ada")));
    assert_eq!(attr(span, "sku"), Some(&Value::from("Sku(\"b-7\")")));
    assert_eq!(attr(span, "shown"), Some(&Value::from("display")));
    assert_eq!(attr(span, "later"), Some(&Value::I64(11)));
    assert_eq!(span.span_kind, SpanKind::Internal);
}

#[test]
fn tracing_spans_and_ours_nest_both_ways() {
    let spans = spans_of(|| {
        let _ours = span!("checkout");
        let outer = tracing::info_span!("price");
        let _entered = outer.enter();
        let _inner = span!("discount");
        tracing::info_span!("round").in_scope(|| {});
    });
    let checkout = find(&spans, "checkout");
    let price = find(&spans, "price");
    let discount = find(&spans, "discount");
    let round = find(&spans, "round");
    assert!(is_child_of(price, checkout));
    assert!(is_child_of(discount, price));
    assert!(is_child_of(round, discount));
}

#[test]
fn an_explicit_parent_is_used_and_an_explicit_root_starts_a_trace() {
    let spans = spans_of(|| {
        let order = tracing::info_span!("order");
        let _ours = span!("unrelated");
        // Not entered: the parent is given, not the current span.
        tracing::info_span!(parent: &order, "ship").in_scope(|| {});
        tracing::info_span!(parent: None, "audit").in_scope(|| {});
    });
    assert!(is_child_of(find(&spans, "ship"), find(&spans, "order")));
    let audit = find(&spans, "audit");
    assert_eq!(audit.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    assert_ne!(
        audit.span_context.trace_id(),
        find(&spans, "unrelated").span_context.trace_id()
    );
}

#[test]
fn otel_fields_name_the_span_set_its_kind_and_status() {
    let spans = spans_of(|| {
        tracing::info_span!("handler", otel.name = "GET /orders/{id}", otel.kind = "Server").in_scope(|| {});
        let failed = tracing::info_span!(
            "charge",
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        failed.record("otel.status_code", "error");
        failed.record("otel.status_description", "card declined");
        drop(failed);
        tracing::info_span!("lookup", error = true).in_scope(|| {});
    });
    let handler = find(&spans, "GET /orders/{id}");
    assert_eq!(handler.span_kind, SpanKind::Server);
    assert!(
        attr(handler, "otel.name").is_none(),
        "conventions are not attributes"
    );
    assert_eq!(find(&spans, "charge").status, Status::error("card declined"));
    let lookup = find(&spans, "lookup");
    assert!(
        matches!(lookup.status, Status::Error { .. }),
        "{:?}",
        lookup.status
    );
    assert_eq!(attr(lookup, "error"), Some(&Value::Bool(true)));
}

#[test]
fn events_inside_a_span_are_its_events_and_an_error_event_fails_it() {
    let spans = spans_of(|| {
        let span = tracing::info_span!("pay");
        let _entered = span.enter();
        tracing::info!(amount = 12, "authorised");
        tracing::error!("capture failed");
    });
    let pay = find(&spans, "pay");
    let names: Vec<&str> = pay.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["authorised", "capture failed"]);
    let amount = pay.events.events[0]
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "amount")
        .map(|kv| kv.value.clone());
    assert_eq!(amount, Some(Value::I64(12)));
    assert_eq!(pay.status, Status::error("capture failed"));
}

#[test]
fn follows_from_is_a_link() {
    let spans = spans_of(|| {
        let cause = tracing::info_span!("enqueue");
        let effect = tracing::info_span!(parent: None, "process");
        effect.follows_from(&cause);
    });
    let enqueue = find(&spans, "enqueue");
    let process = find(&spans, "process");
    let linked: Vec<_> = process.links.iter().map(|l| l.span_context.span_id()).collect();
    assert_eq!(linked, [enqueue.span_context.span_id()]);
}

#[test]
fn a_span_left_out_by_a_filter_is_skipped_by_its_children() {
    let spans = spans_of(|| {
        tracing::info_span!("request").in_scope(|| {
            let hidden = tracing::info_span!("left_out");
            hidden.in_scope(|| tracing::info_span!("query").in_scope(|| {}));
            // An explicit parent that was left out: its nearest recorded ancestor.
            tracing::info_span!(parent: &hidden, "cache").in_scope(|| {});
        });
    });
    assert!(spans.iter().all(|s| s.name != "left_out"));
    let request = find(&spans, "request");
    assert!(is_child_of(find(&spans, "query"), request));
    let cache = find(&spans, "cache");
    assert!(
        is_child_of(cache, request),
        "cache {:?} under {:?}; request {:?}",
        cache.parent_span_id,
        spans
            .iter()
            .find(|s| s.span_context.span_id() == cache.parent_span_id)
            .map(|s| &s.name),
        request.span_context.span_id()
    );
}

#[test]
fn an_instrumented_future_keeps_its_children_across_awaits_and_threads() {
    use tracing::Instrument as _;
    let spans = spans_of(|| {
        support::runtime().block_on(
            async {
                let tasks: Vec<_> = (0..8)
                    .map(|i| {
                        tokio::spawn(
                            async move {
                                for _ in 0..3 {
                                    tokio::time::sleep(Duration::from_millis(1)).await;
                                    tokio::task::yield_now().await;
                                }
                                let _step = span!("step", task = i);
                            }
                            .instrument(tracing::info_span!("task", n = i)),
                        )
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            }
            .in_span(get_tracing().span_builder("batch").start()),
        )
    });
    let batch = find(&spans, "batch");
    let tasks: Vec<&SpanData> = spans.iter().filter(|s| s.name == "task").collect();
    let steps: Vec<&SpanData> = spans.iter().filter(|s| s.name == "step").collect();
    assert_eq!((tasks.len(), steps.len()), (8, 8));
    for task in &tasks {
        assert!(is_child_of(task, batch), "{task:?}");
        let n = attr(task, "n").cloned();
        let step = steps
            .iter()
            .find(|s| attr(s, "task").cloned() == n)
            .expect("a step per task");
        assert!(is_child_of(step, task));
    }
}

#[test]
fn nothing_is_recorded_without_a_pipeline() {
    install();
    let _lock = support::exclusive();
    // No pipeline: spans are made and closed, nothing breaks, nothing is current.
    tracing::info_span!("orphan", n = 1).in_scope(|| {
        assert_eq!(maximus_trace::current_trace_id(), None);
    });
}

#[tracing::instrument]
async fn interleaved(n: i64) {
    for step in 0..3_i64 {
        tokio::task::yield_now().await;
        let _inner = span!("inner", n = n, step = step);
    }
}

#[test]
fn instrumented_futures_interleaved_on_one_thread_keep_their_own_children() {
    let spans = spans_of(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            tokio::join!(interleaved(1), interleaved(2), interleaved(3));
        });
    });
    let outers: Vec<&SpanData> = spans.iter().filter(|s| s.name == "interleaved").collect();
    let inners: Vec<&SpanData> = spans.iter().filter(|s| s.name == "inner").collect();
    assert_eq!((outers.len(), inners.len()), (3, 9));
    for inner in inners {
        let n = attr(inner, "n").cloned();
        let outer = outers
            .iter()
            .find(|o| attr(o, "n").cloned() == n)
            .expect("an outer span per n");
        assert!(is_child_of(inner, outer), "{inner:?}");
    }
}
