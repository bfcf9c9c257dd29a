//! Many threads and many interleaved futures building nested spans at once: every span has
//! the right parent and trace, with no cross-talk between futures sharing a thread.

mod support;

use std::time::Duration;

use maximus_trace::{span, trace_span};
use opentelemetry_sdk::trace::SpanData;
use support::{attr, capture_with};

fn id_of(span: &SpanData) -> i64 {
    match attr(span, "id") {
        Some(opentelemetry::Value::I64(id)) => *id,
        other => panic!("span {} has no id: {other:?}", span.name),
    }
}

/// Every span named `child` has as parent the span named `parent` with the same `id`,
/// in the same trace.
fn assert_pairs(spans: &[SpanData], parent: &str, child: &str, expected: usize) {
    let parents: std::collections::HashMap<i64, &SpanData> = spans
        .iter()
        .filter(|s| s.name == parent)
        .map(|s| (id_of(s), s))
        .collect();
    let children: Vec<&SpanData> = spans.iter().filter(|s| s.name == child).collect();
    assert_eq!(children.len(), expected, "{child} spans");
    for c in children {
        let p = parents[&id_of(c)];
        assert_eq!(
            c.parent_span_id,
            p.span_context.span_id(),
            "{child} {} has the wrong parent",
            id_of(c)
        );
        assert_eq!(c.span_context.trace_id(), p.span_context.trace_id());
    }
}

#[test]
fn eight_threads_building_nested_spans_never_mix_parents() {
    // A queue that holds every span: this test is about parents, not about load shedding.
    let spans = capture_with(
        |b| b.max_queue_size(50_000),
        || {
            let threads: Vec<_> = (0..8)
                .map(|t| {
                    std::thread::spawn(move || {
                        for i in 0..100 {
                            let id = t * 1000 + i;
                            let _outer = span!("outer", id = id);
                            let _middle = span!("middle", id = id);
                            let _inner = span!("inner", id = id);
                        }
                    })
                })
                .collect();
            threads.into_iter().for_each(|t| t.join().unwrap());
        },
    );
    assert_pairs(&spans, "outer", "middle", 800);
    assert_pairs(&spans, "middle", "inner", 800);
}

#[trace_span(id = id)]
async fn leaf(id: i64) {
    tokio::time::sleep(Duration::from_micros((id % 7) as u64 * 100)).await;
}

#[trace_span(id = id)]
async fn step(id: i64) {
    tokio::task::yield_now().await;
    tokio::spawn(leaf(id)).await.unwrap();
    leaf(id).await;
}

#[trace_span(id = id)]
async fn request(id: i64) {
    step(id).await;
    tokio::task::yield_now().await;
    step(id).await;
}

#[test]
fn a_thousand_interleaved_tasks_keep_their_own_parents_across_awaits_and_spawns() {
    // A queue that holds every span: this test is about parents, not about load shedding.
    let spans = capture_with(
        |b| b.max_queue_size(50_000),
        || {
            support::runtime().block_on(async {
                let tasks: Vec<_> = (0..1000).map(|id| tokio::spawn(request(id))).collect();
                for task in tasks {
                    task.await.unwrap();
                }
            });
        },
    );
    assert_pairs(&spans, "request", "step", 2000);
    // Each step has two leaves (one spawned, one awaited), both under that step.
    let steps: Vec<&SpanData> = spans.iter().filter(|s| s.name == "step").collect();
    for step in steps {
        let leaves = spans
            .iter()
            .filter(|s| s.name == "leaf" && s.parent_span_id == step.span_context.span_id())
            .count();
        assert_eq!(leaves, 2);
    }
}

#[test]
fn futures_interleaved_on_one_thread_do_not_share_a_current_span() {
    let spans = capture_with(
        |b| b.max_queue_size(50_000),
        || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            rt.block_on(async {
                let calls: Vec<_> = (0..200).map(request).collect();
                futures_util::future::join_all(calls).await;
            });
        },
    );
    assert_pairs(&spans, "request", "step", 400);
}
