//! `#[trace_span]` at run time: span trees, errors, panics, cancellation, attributes.

mod support;

use std::time::Duration;

use maximus_trace::trace_span;
use opentelemetry::Value as V;
use opentelemetry::trace::{SpanId, Status};
use support::{attr, capture, capture_with, find, is_child_of, runtime};

#[trace_span]
fn leaf() -> u32 {
    1
}

#[trace_span("middle_async")]
async fn middle() -> u32 {
    tokio::task::yield_now().await;
    leaf() + 1
}

#[trace_span("outer_sync")]
fn outer(rt: &tokio::runtime::Runtime) -> u32 {
    rt.block_on(middle())
}

#[test]
fn sync_in_async_in_sync_nests() {
    let spans = capture(|| {
        let rt = runtime();
        assert_eq!(outer(&rt), 2);
    });
    assert!(is_child_of(
        find(&spans, "middle_async"),
        find(&spans, "outer_sync")
    ));
    assert!(is_child_of(find(&spans, "leaf"), find(&spans, "middle_async")));
}

#[trace_span(
    "process_order",
    order_type = "premium",
    items = 3,
    weight = 2.5,
    express = true
)]
fn process_order(id: u64) -> u64 {
    id
}

#[test]
fn literal_attributes_keep_their_types() {
    let spans = capture(|| {
        process_order(7);
    });
    let s = find(&spans, "process_order");
    assert_eq!(attr(s, "order_type"), Some(&V::from("premium")));
    assert_eq!(attr(s, "items"), Some(&V::I64(3)));
    assert_eq!(attr(s, "weight"), Some(&V::F64(2.5)));
    assert_eq!(attr(s, "express"), Some(&V::Bool(true)));
}

struct User {
    id: i64,
    name: String,
}

#[trace_span(user_id = user.id, name_len = user.name.len(), "user.name" = user.name, http.method = "GET")]
fn greet(user: &User) -> String {
    format!("hi {}", user.name)
}

#[test]
fn expression_attributes_are_evaluated_at_call_time_without_moving_arguments() {
    let spans = capture(|| {
        let user = User {
            id: 42,
            name: "ada".into(),
        };
        assert_eq!(greet(&user), "hi ada");
    });
    let s = find(&spans, "greet");
    assert_eq!(attr(s, "user_id"), Some(&V::I64(42)));
    assert_eq!(attr(s, "name_len"), Some(&V::I64(3)));
    assert_eq!(attr(s, "user.name"), Some(&V::from("ada")));
    assert_eq!(attr(s, "http.method"), Some(&V::from("GET")));
}

#[trace_span(record(count, label), kind = client)]
fn recorded(count: u32, label: &str, secret: &str) -> usize {
    label.len() + secret.len() + count as usize
}

#[test]
fn record_lists_only_the_named_arguments() {
    let spans = capture(|| {
        recorded(2, "x", "hunter2");
    });
    let s = find(&spans, "recorded");
    assert_eq!(attr(s, "count"), Some(&V::I64(2)));
    assert_eq!(attr(s, "label"), Some(&V::from("x")));
    assert_eq!(attr(s, "secret"), None);
    assert_eq!(s.span_kind, opentelemetry::trace::SpanKind::Client);
}

#[derive(Debug)]
struct ParseError(String);
impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot parse {:?}", self.0)
    }
}
impl From<std::num::ParseIntError> for ParseError {
    fn from(e: std::num::ParseIntError) -> Self {
        ParseError(e.to_string())
    }
}

#[trace_span]
fn parse_with_question_mark(s: &str) -> Result<i32, ParseError> {
    let n: i32 = s.parse()?;
    Ok(n * 2)
}

#[trace_span]
fn early_return(n: i32) -> Result<i32, String> {
    if n < 0 {
        return Err(format!("negative: {n}"));
    }
    Ok(n)
}

#[test]
fn err_through_question_mark_marks_the_span() {
    let spans = capture(|| {
        assert!(parse_with_question_mark("x").is_err());
    });
    let s = find(&spans, "parse_with_question_mark");
    assert!(matches!(&s.status, Status::Error { description } if description.contains("invalid digit")));
    assert_eq!(s.events.events[0].name, "exception");
}

#[test]
fn err_through_early_return_marks_the_span_and_ok_does_not() {
    let spans = capture(|| {
        assert!(early_return(-1).is_err());
        assert_eq!(early_return(5), Ok(5));
    });
    let failed: Vec<_> = spans
        .iter()
        .filter(|s| matches!(s.status, Status::Error { .. }))
        .collect();
    assert_eq!(spans.len(), 2);
    assert_eq!(failed.len(), 1);
    assert!(matches!(&failed[0].status, Status::Error { description } if description == "negative: -1"));
}

struct Store {
    items: Vec<String>,
}

impl Store {
    #[trace_span]
    fn get(&self, i: usize) -> Result<&String, String> {
        self.items.get(i).ok_or_else(|| format!("no item {i}"))
    }

    #[trace_span]
    fn get_mut(&mut self, i: usize) -> Result<&mut String, String> {
        let len = self.items.len();
        match self.items.get_mut(i) {
            Some(item) => Ok(item),
            None => return Err(format!("{i} >= {len}")),
        }
    }

    #[trace_span(err = false)]
    fn quiet(&self) -> Result<(), String> {
        Err("expected".into())
    }
}

#[test]
fn ok_values_may_borrow_from_self() {
    let spans = capture(|| {
        let mut store = Store {
            items: vec!["a".into()],
        };
        assert_eq!(store.get(0).unwrap(), "a");
        store.get_mut(0).unwrap().push('b');
        assert_eq!(store.items[0], "ab");
        assert!(store.get_mut(9).is_err());
    });
    assert_eq!(spans.iter().filter(|s| s.name == "get_mut").count(), 2);
    assert_eq!(
        spans
            .iter()
            .filter(|s| matches!(s.status, Status::Error { .. }))
            .count(),
        1
    );
}

#[test]
fn err_false_leaves_errors_unmarked() {
    let spans = capture(|| {
        let _ = Store { items: vec![] }.quiet();
    });
    assert_eq!(find(&spans, "quiet").status, Status::Unset);
}

#[trace_span]
async fn fallible_async(fail: bool) -> Result<u8, std::io::Error> {
    tokio::task::yield_now().await;
    if fail {
        Err(std::io::Error::other("backend down"))?;
    }
    Ok(1)
}

#[test]
fn async_err_marks_the_span() {
    let spans = capture(|| {
        runtime().block_on(async {
            assert!(fallible_async(true).await.is_err());
            assert!(fallible_async(false).await.is_ok());
        });
    });
    let errors = spans
        .iter()
        .filter(|s| matches!(&s.status, Status::Error { description } if description == "backend down"));
    assert_eq!(errors.count(), 1);
}

#[trace_span]
async fn child_task(n: u32) -> u32 {
    tokio::time::sleep(Duration::from_millis(2)).await;
    n
}

#[trace_span]
async fn parent_task() -> u32 {
    // Spawned: the parent is captured when child_task is called, here.
    let spawned = tokio::spawn(child_task(1));
    let (a, b) = tokio::join!(child_task(2), child_task(3));
    let c = tokio::select! {
        v = child_task(4) => v,
        _ = tokio::time::sleep(Duration::from_secs(5)) => 0,
    };
    spawned.await.unwrap() + a + b + c
}

#[test]
fn parent_is_kept_across_spawn_join_and_select() {
    let spans = capture(|| {
        assert_eq!(runtime().block_on(parent_task()), 10);
    });
    let parent = find(&spans, "parent_task");
    let children: Vec<_> = spans.iter().filter(|s| s.name == "child_task").collect();
    assert_eq!(children.len(), 4);
    assert!(children.iter().all(|c| is_child_of(c, parent)));
}

#[trace_span]
async fn forever() {
    std::future::pending::<()>().await
}

#[test]
fn cancelled_future_ends_its_span_marked_cancelled() {
    let spans = capture(|| {
        runtime().block_on(async {
            let _ = tokio::time::timeout(Duration::from_millis(5), forever()).await;
        });
    });
    assert_eq!(attr(find(&spans, "forever"), "cancelled"), Some(&V::Bool(true)));
}

#[trace_span]
fn explode() {
    panic!("kaboom");
}

#[trace_span]
async fn explode_async() {
    tokio::task::yield_now().await;
    panic!("async kaboom");
}

#[test]
fn panics_end_spans_with_error() {
    let spans = capture(|| {
        assert!(std::panic::catch_unwind(explode).is_err());
        let joined = runtime().block_on(async { tokio::spawn(explode_async()).await });
        assert!(joined.is_err());
    });
    assert!(
        matches!(&find(&spans, "explode").status, Status::Error { description } if description.contains("kaboom"))
    );
    assert!(
        matches!(&find(&spans, "explode_async").status, Status::Error { description } if description.contains("async kaboom"))
    );
}

#[test]
fn disabled_tracing_records_nothing() {
    let spans = capture_with(
        |b| b.enabled(false),
        || {
            leaf();
            runtime().block_on(middle());
        },
    );
    assert!(spans.is_empty());
}

#[async_trait::async_trait]
trait Repository {
    async fn load(&self, id: u32) -> Result<String, String>;
}

struct Db;

#[async_trait::async_trait]
impl Repository for Db {
    #[trace_span("db.load", kind = client)]
    async fn load(&self, id: u32) -> Result<String, String> {
        tokio::task::yield_now().await;
        if id == 0 {
            return Err("id 0".into());
        }
        Ok(format!("row {id}"))
    }
}

#[test]
fn async_trait_methods_are_traced() {
    let spans = capture(|| {
        runtime().block_on(async {
            let _root = maximus_trace::span!("root");
            let db: &dyn Repository = &Db;
            let pending = db.load(0);
            drop(_root);
            assert!(pending.await.is_err());
        });
    });
    let load = find(&spans, "db.load");
    assert!(
        is_child_of(load, find(&spans, "root")),
        "parent captured at call time"
    );
    assert!(matches!(load.status, Status::Error { .. }));
}

trait Service {
    fn call(&self) -> impl std::future::Future<Output = u8> + Send;
}

struct Echo;

impl Service for Echo {
    #[trace_span]
    fn call(&self) -> impl std::future::Future<Output = u8> + Send {
        async move { 5 }
    }
}

#[test]
fn impl_future_bodies_ending_in_async_blocks_are_traced() {
    let spans = capture(|| {
        assert_eq!(runtime().block_on(Echo.call()), 5);
    });
    assert_eq!(find(&spans, "call").parent_span_id, SpanId::INVALID);
}

#[test]
fn async_fn_called_outside_any_span_joins_the_span_it_is_polled_in() {
    use maximus_trace::FutureExt;
    let spans = capture(|| {
        runtime().block_on(async {
            let outer = maximus_trace::get_tracing().start_span("outer", [("k", 1)]);
            child_task(1).in_span(outer).await;
        });
    });
    assert!(is_child_of(find(&spans, "child_task"), find(&spans, "outer")));
}

#[test]
fn async_fn_dropped_before_its_first_poll_records_a_cancelled_span() {
    let spans = capture(|| {
        drop(child_task(9));
    });
    assert_eq!(
        attr(find(&spans, "child_task"), "cancelled"),
        Some(&V::Bool(true))
    );
}

#[trace_span]
async fn awaited_later() -> Option<String> {
    maximus_trace::current_trace_id()
}

#[test]
fn an_async_span_starts_when_the_function_is_called_not_when_first_polled() {
    let mut called_by = None;
    let mut polled_at = None;
    let spans = capture(|| {
        let rt = runtime();
        let _caller = maximus_trace::span!("caller");
        let before_call = std::time::SystemTime::now();
        let fut = awaited_later();
        // Awaited after the caller's span ended, as a queued job would be.
        drop(_caller);
        std::thread::sleep(Duration::from_millis(30));
        polled_at = Some(std::time::SystemTime::now());
        rt.block_on(fut);
        called_by = Some(before_call);
    });
    let span = find(&spans, "awaited_later");
    assert!(is_child_of(span, find(&spans, "caller")));
    // Like `tracing`'s `#[instrument]`: the wait before the first poll is part of the span.
    assert!(span.start_time >= called_by.unwrap() - Duration::from_millis(1));
    assert!(span.start_time < polled_at.unwrap());
}

#[test]
fn an_async_function_called_under_an_unsampled_span_keeps_the_callers_trace() {
    let spans = capture_with(
        |b| b.sample_ratio(0.0),
        || {
            let rt = runtime();
            let _caller = maximus_trace::span!("caller");
            let caller_trace = maximus_trace::current_trace_id();
            assert!(caller_trace.is_some());
            assert_eq!(rt.block_on(awaited_later()), caller_trace);
        },
    );
    assert!(spans.is_empty());
}
