//! The `log` integration (feature `log`): records logged inside a span carry its ids as
//! key-values, the format helper prints them, and warnings become span events.
#![cfg(feature = "log")]

mod support;

use std::sync::{Mutex, Once, PoisonError};

use log::kv::Key;
use maximus_trace::logs::TraceContextLogger;
use maximus_trace::{TraceIds, span};

/// What the inner logger saw of one record.
#[derive(Clone, Debug)]
struct Line {
    trace_id: Option<String>,
    span_id: Option<String>,
    user_id: Option<String>,
    formatted: String,
}

static LINES: Mutex<Vec<Line>> = Mutex::new(Vec::new());

/// The application's own logger, as any backend would be: formats with the helper.
struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        let kv = |key: &str| record.key_values().get(Key::from_str(key)).map(|v| v.to_string());
        let line = Line {
            trace_id: kv("trace_id"),
            span_id: kv("span_id"),
            user_id: kv("user_id"),
            formatted: format!(
                "{} {} {}",
                record.level(),
                TraceIds::from_record(record),
                record.args()
            ),
        };
        LINES.lock().unwrap_or_else(PoisonError::into_inner).push(line);
    }

    fn flush(&self) {}
}

/// Installs the wrapper once per test binary and returns the lines logged by `body`.
fn logged(body: impl FnOnce()) -> Vec<Line> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        TraceContextLogger::new(Capture)
            .record_as_events(log::Level::Warn)
            .install(log::LevelFilter::Debug)
            .expect("no other logger in this test binary");
    });
    LINES.lock().unwrap_or_else(PoisonError::into_inner).clear();
    body();
    std::mem::take(&mut *LINES.lock().unwrap_or_else(PoisonError::into_inner))
}

#[test]
fn records_inside_a_span_carry_its_trace_and_span_ids() {
    let mut ids = (None, None);
    let mut lines = Vec::new();
    support::capture(|| {
        let _span = span!("checkout");
        ids = (
            maximus_trace::current_trace_id(),
            maximus_trace::current_span_id(),
        );
        lines = logged(|| log::info!("starting checkout"));
    });
    assert!(ids.0.is_some());
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0].trace_id.clone(), lines[0].span_id.clone()), ids);
    let expected = format!(
        "INFO trace_id={} span_id={} starting checkout",
        ids.0.unwrap(),
        ids.1.unwrap()
    );
    assert_eq!(lines[0].formatted, expected);
}

#[test]
fn records_outside_a_span_pass_through_without_ids() {
    let _lock = support::exclusive();
    let lines = logged(|| log::info!("no span here"));
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0].trace_id.as_deref(), lines[0].span_id.as_deref()),
        (None, None)
    );
    assert_eq!(lines[0].formatted, "INFO  no span here");
}

#[test]
fn the_records_own_key_values_are_kept() {
    let mut lines = Vec::new();
    support::capture(|| {
        let _span = span!("lookup");
        lines = logged(|| log::info!(user_id = 42; "found the user"));
    });
    assert_eq!(lines[0].user_id.as_deref(), Some("42"));
    assert!(lines[0].trace_id.is_some());
}

#[test]
fn warnings_become_events_of_the_current_span_but_info_lines_do_not() {
    let spans = support::capture(|| {
        let _span = span!("reserve_stock");
        logged(|| {
            log::info!("checking stock");
            log::warn!(item = 42; "stock is low");
            log::debug!("filtered out by the inner logger, still below the event level");
        });
    });
    let span = support::find(&spans, "reserve_stock");
    let events: Vec<&str> = span.events.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(events, ["stock is low"]);
    let attributes: Vec<(String, String)> = span.events.events[0]
        .attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect();
    assert!(
        attributes.contains(&("level".into(), "WARN".into())),
        "{attributes:?}"
    );
    assert!(
        attributes.contains(&("item".into(), "42".into())),
        "{attributes:?}"
    );
}
