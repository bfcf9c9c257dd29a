//! Manual spans, the current-span helpers and the guard's lifecycle, through a real batch
//! pipeline into the in-memory exporter.

mod support;

use std::time::Duration;

use maximus_trace::{ConfigError, FutureExt, Span, SpanKind, Status, TracingManager, span};
use opentelemetry::Value as V;
use opentelemetry::trace::Status as OtelStatus;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use support::{attr, capture, capture_with, find, is_child_of};

#[test]
fn span_macro_nests_under_the_current_span() {
    let spans = capture(|| {
        let _outer = span!("outer");
        let _inner = span!("inner");
    });
    assert!(is_child_of(find(&spans, "inner"), find(&spans, "outer")));
    assert_eq!(
        find(&spans, "outer").parent_span_id,
        opentelemetry::trace::SpanId::INVALID
    );
}

#[test]
fn attributes_keep_their_types() {
    let spans = capture(|| {
        let id = 123;
        let _s = span!(
            "typed",
            user_id = id,
            "http.method" = "GET",
            ratio = 0.5,
            ok = true,
            db.system = "pg",
            tags = vec!["a", "b"]
        );
    });
    let s = find(&spans, "typed");
    assert_eq!(attr(s, "user_id"), Some(&V::I64(123)));
    assert_eq!(attr(s, "http.method"), Some(&V::from("GET")));
    assert_eq!(attr(s, "ratio"), Some(&V::F64(0.5)));
    assert_eq!(attr(s, "ok"), Some(&V::Bool(true)));
    assert_eq!(attr(s, "db.system"), Some(&V::from("pg")));
    assert!(matches!(attr(s, "tags"), Some(V::Array(_))));
}

#[test]
fn manager_span_is_the_seeds_form() {
    let spans = capture(|| {
        let tracing = maximus_trace::get_tracing();
        let _s = tracing.span("seed", [("k", 1)]);
        maximus_trace::set_attribute("later", "x");
    });
    let s = find(&spans, "seed");
    assert_eq!(attr(s, "k"), Some(&V::I64(1)));
    assert_eq!(attr(s, "later"), Some(&V::from("x")));
}

#[test]
fn helpers_act_on_the_current_span() {
    let spans = capture(|| {
        let _s = span!("work");
        maximus_trace::add_event("cache.miss", [("key", "user:7")]);
        maximus_trace::set_status(Status::error("boom"));
    });
    let s = find(&spans, "work");
    assert_eq!(s.events.events[0].name, "cache.miss");
    assert_eq!(s.status, OtelStatus::error("boom"));
}

#[derive(Debug)]
struct Outer(std::io::Error);
impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("loading config failed")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn record_error_adds_exception_event_with_type_message_and_source_chain() {
    let spans = capture(|| {
        let _s = span!("load");
        let err = Outer(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "config.toml missing",
        ));
        maximus_trace::record_error(&err);
    });
    let s = find(&spans, "load");
    let event = &s.events.events[0];
    assert_eq!(event.name, "exception");
    let get = |k: &str| {
        event
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.to_string())
    };
    assert!(get("exception.type").unwrap().ends_with("Outer"));
    assert_eq!(get("exception.message").unwrap(), "loading config failed");
    assert!(
        get("exception.stacktrace")
            .unwrap()
            .contains("caused by: config.toml missing")
    );
    assert_eq!(s.status, OtelStatus::error("loading config failed"));
}

#[test]
fn panic_ends_the_span_with_error_and_exception_event() {
    let spans = capture(|| {
        let result = std::panic::catch_unwind(|| {
            let _s = span!("doomed");
            panic!("disk on fire");
        });
        assert!(result.is_err());
    });
    let s = find(&spans, "doomed");
    assert!(matches!(&s.status, OtelStatus::Error { description } if description.contains("disk on fire")));
    let event = &s.events.events[0];
    assert_eq!(event.name, "exception");
    assert!(
        event
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "exception.type" && kv.value.as_str() == "panic")
    );
}

#[test]
fn helpers_after_the_span_ended_are_a_no_op() {
    let spans = capture(|| {
        let s = maximus_trace::get_tracing().start_span("short", Vec::<maximus_trace::KeyValue>::new());
        let reference = s.as_ref();
        s.end();
        reference.set_attribute("too_late", 1);
        maximus_trace::set_attribute("outside", 1);
    });
    let s = find(&spans, "short");
    assert_eq!(attr(s, "too_late"), None);
}

#[test]
fn current_ids_are_w3c_hex_inside_a_span_and_none_outside() {
    let _ = capture(|| {
        assert_eq!(maximus_trace::current_trace_id(), None);
        let s = span!("ids");
        let trace = maximus_trace::current_trace_id().unwrap();
        let span_id = maximus_trace::current_span_id().unwrap();
        assert_eq!(trace.len(), 32);
        assert_eq!(span_id.len(), 16);
        assert!(
            trace
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(s.trace_id().as_deref(), Some(trace.as_str()));
    });
}

#[test]
fn span_kind_is_recorded() {
    let spans = capture(|| {
        let _s = maximus_trace::get_tracing()
            .span_builder("call")
            .kind(SpanKind::Client)
            .entered();
    });
    assert_eq!(
        find(&spans, "call").span_kind,
        opentelemetry::trace::SpanKind::Client
    );
}

#[test]
fn future_keeps_its_span_across_spawn_and_awaits() {
    let spans = capture(|| {
        support::runtime().block_on(async {
            let _root = span!("root");
            let task = maximus_trace::get_tracing().start_span("task", [("n", 1)]);
            let handle = tokio::spawn(
                async {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    {
                        let _child = span!("child");
                    }
                    tokio::task::yield_now().await;
                }
                .in_span(task),
            );
            handle.await.unwrap();
        });
    });
    assert!(is_child_of(find(&spans, "task"), find(&spans, "root")));
    assert!(is_child_of(find(&spans, "child"), find(&spans, "task")));
}

#[test]
fn dropped_future_ends_its_span_as_cancelled() {
    let spans = capture(|| {
        let fut = std::future::pending::<()>()
            .in_span(maximus_trace::get_tracing().start_span("never", [("a", 1)]));
        drop(fut);
    });
    assert_eq!(attr(find(&spans, "never"), "cancelled"), Some(&V::Bool(true)));
}

#[test]
fn ratio_zero_records_nothing_but_ids_still_flow() {
    let spans = capture_with(
        |b| b.sample_ratio(0.0),
        || {
            let s = span!("unsampled");
            assert!(!s.is_recording());
        },
    );
    assert!(spans.is_empty());
}

fn must_not_run() -> i64 {
    panic!("attributes are not evaluated when tracing is off")
}

#[test]
fn disabled_tracing_records_nothing_and_does_not_evaluate_attributes() {
    let spans = capture_with(
        |b| b.enabled(false),
        || {
            let _s = span!("off", value = must_not_run());
            assert!(!maximus_trace::is_enabled());
        },
    );
    assert!(spans.is_empty());
}

#[test]
fn get_tracing_before_init_is_disabled_and_never_panics() {
    let _lock = support::exclusive();
    let tracing = maximus_trace::get_tracing();
    assert!(!tracing.is_enabled());
    let s = tracing.span("nothing", [("a", 1)]);
    s.set_attribute("b", 2);
    assert!(Span::current().trace_id().is_none());
}

#[test]
fn second_init_while_guard_alive_is_an_error_and_reinit_after_drop_works() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let first = support::builder(&exporter).init().expect("first init");
    let err = support::builder(&exporter)
        .init()
        .expect_err("second init must fail");
    assert!(matches!(err, ConfigError::AlreadyInitialized), "{err}");
    drop(first);
    let second = support::builder(&exporter).init().expect("init after drop");
    {
        let _s = span!("after-reinit");
    }
    let spans = support::finish(second, &exporter);
    assert_eq!(spans.len(), 1);
}

#[test]
fn dropping_the_guard_flushes_every_ended_span() {
    let _lock = support::exclusive();
    // Forwards exports but not shutdown, so the spans survive the pipeline's shutdown.
    let exporter = InMemorySpanExporter::default();
    let guard = TracingManager::builder()
        .environment(|_| None)
        .span_exporter(support::KeepOnShutdown(exporter.clone()))
        .batch_delay(Duration::from_secs(60))
        .init()
        .unwrap();
    for i in 0..100 {
        let _s = span!("bulk", i = i);
    }
    drop(guard);
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 100);
}

#[test]
fn standalone_manager_records_through_its_own_pipeline() {
    let exporter = InMemorySpanExporter::default();
    let manager = TracingManager::builder()
        .environment(|_| None)
        .service_name("standalone")
        .span_exporter(exporter.clone())
        .build()
        .unwrap();
    {
        let _s = manager.span("own", [("x", 1)]);
    }
    manager.force_flush().unwrap();
    assert_eq!(exporter.get_finished_spans().unwrap()[0].name, "own");
}

#[test]
fn stats_count_started_ended_and_exported_spans() {
    let _lock = support::exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter).init().unwrap();
    for _ in 0..3 {
        let _s = span!("counted");
    }
    guard.force_flush().unwrap();
    let stats = guard.stats();
    assert_eq!(
        (stats.spans_started, stats.spans_ended, stats.spans_exported),
        (3, 3, 3)
    );
    drop(guard);
}

#[test]
fn a_later_value_replaces_an_earlier_one_for_few_and_for_many_attributes() {
    let spans = capture(|| {
        let few = span!("few", k = 1);
        few.set_attribute("k", 2);
        drop(few);
        let many = span!("many", k = 1);
        for i in 0..30 {
            many.set_attribute(format!("other{i}"), i);
        }
        many.set_attribute("k", 3);
    });
    let few = find(&spans, "few");
    assert_eq!((few.attributes.len(), attr(few, "k")), (1, Some(&V::I64(2))));
    let many = find(&spans, "many");
    assert_eq!((many.attributes.len(), attr(many, "k")), (31, Some(&V::I64(3))));
    assert_eq!(many.attributes[0].key.as_str(), "k", "first-set order is kept");
}

#[test]
fn a_span_left_open_across_a_reinit_never_crosses_into_the_new_pipeline() {
    let _lock = support::exclusive();
    let first_exporter = InMemorySpanExporter::default();
    let first = support::builder(&first_exporter).init().unwrap();
    let straddling = span!("straddling");
    let first_trace = maximus_trace::current_trace_id();
    let owned = maximus_trace::get_tracing().start_span("owned.straddling", [("a", 1)]);
    drop(first);

    let second_exporter = InMemorySpanExporter::default();
    let second = support::builder(&second_exporter).init().unwrap();
    {
        let _fresh = span!("fresh");
        let _under = span!("fresh.child");
    }
    drop(owned);
    drop(straddling);
    {
        let _after = span!("after");
    }
    let spans = support::finish(second, &second_exporter);
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    names.sort_unstable();
    // Spans started under the first pipeline belong to it: the second exports only its own,
    // and those opened under a straddling span keep its trace.
    assert_eq!(names, ["after", "fresh", "fresh.child"]);
    assert!(support::is_child_of(
        find(&spans, "fresh.child"),
        find(&spans, "fresh")
    ));
    let straddling_trace = first_trace.expect("ids inside the straddling span");
    assert_eq!(
        find(&spans, "fresh").span_context.trace_id().to_string(),
        straddling_trace
    );
}

#[test]
fn open_spans_keep_their_records_across_many_hand_overs_of_their_children() {
    let spans = capture(|| {
        let outer = span!("outer");
        let middle = span!("middle");
        let inner = span!("inner");
        // Several thread-buffer hand-overs while the three stay open.
        for i in 0..300 {
            let _leaf = span!("leaf", i = i);
        }
        outer.set_attribute("late", "outer");
        middle.set_attribute("late", "middle");
        inner.set_attribute("late", "inner");
    });
    assert_eq!(spans.len(), 303);
    let inner = find(&spans, "inner");
    assert!(is_child_of(inner, find(&spans, "middle")));
    assert!(is_child_of(find(&spans, "middle"), find(&spans, "outer")));
    let leaves: Vec<_> = spans.iter().filter(|s| s.name == "leaf").collect();
    assert_eq!(leaves.len(), 300);
    assert!(leaves.iter().all(|l| is_child_of(l, inner)));
    for name in ["outer", "middle", "inner"] {
        assert_eq!(attr(find(&spans, name), "late"), Some(&V::from(name)), "{name}");
    }
}
