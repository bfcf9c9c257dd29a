//! Log correlation for the `log` crate (feature `log`): every record logged inside a span
//! carries the span's `trace_id` and `span_id`, so a log line leads to its trace in Jaeger.
//!
//! ```no_run
//! use maximus_trace::TraceIds;
//! use maximus_trace::logs::TraceContextLogger;
//!
//! // Any `log::Log` works; here a minimal one that prints the ids where the format places them.
//! struct Stderr;
//! impl log::Log for Stderr {
//!     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
//!     fn log(&self, record: &log::Record<'_>) {
//!         eprintln!("{} {} {}", record.level(), TraceIds::from_record(record), record.args());
//!     }
//!     fn flush(&self) {}
//! }
//!
//! TraceContextLogger::new(Stderr)
//!     .record_as_events(log::Level::Warn) // warnings and errors also become span events
//!     .install(log::LevelFilter::Info)?;
//! # Ok::<(), log::SetLoggerError>(())
//! ```
//!
//! The ids are added as `log` key-values (`trace_id`, `span_id`), which structured backends
//! print or index as fields; [`TraceIds`] (and [`TraceIds::from_record`]) formats them as `trace_id=… span_id=…` for format
//! strings.

use log::kv::{self, Key, Source, Value, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record, SetLoggerError};
use opentelemetry::trace::{SpanId, TraceId};

use crate::TraceIds;
use crate::model::KeyValue;
use crate::span::SpanRef;

const TRACE_ID: &str = "trace_id";
const SPAN_ID: &str = "span_id";

/// A `log::Log` wrapper that adds the current span's `trace_id` and `span_id` to every
/// record (as key-values) before handing it to the inner logger, and can record log lines
/// as events of the current span.
#[derive(Debug)]
pub struct TraceContextLogger<L> {
    inner: L,
    events: Option<Level>,
}

impl<L: Log> TraceContextLogger<L> {
    /// Wraps `inner`; records outside a span pass through unchanged.
    pub fn new(inner: L) -> Self {
        TraceContextLogger { inner, events: None }
    }

    /// Also records every line at `level` or more severe as an event on the current span
    /// (named after the message, with `level`, `target` and the record's key-values as
    /// attributes), so Jaeger shows the log line inside the span. Works even for lines the
    /// inner logger filters out, within `log::max_level()`.
    pub fn record_as_events(mut self, level: Level) -> Self {
        self.events = Some(level);
        self
    }

    /// Installs this logger as the `log` facade's logger with `max_level`.
    pub fn install(self, max_level: LevelFilter) -> Result<(), SetLoggerError>
    where
        L: 'static,
    {
        log::set_boxed_logger(Box::new(self))?;
        log::set_max_level(max_level);
        Ok(())
    }

    /// The wrapped logger.
    pub fn inner(&self) -> &L {
        &self.inner
    }

    fn records_event(&self, metadata: &Metadata<'_>) -> bool {
        // Our own diagnostics never become events (they may come from inside a span).
        self.events.is_some_and(|level| metadata.level() <= level)
            && !metadata.target().starts_with("maximus_trace")
    }
}

impl<L: Log> Log for TraceContextLogger<L> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata) || self.records_event(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if self.records_event(record.metadata()) {
            record_event(record);
        }
        if !self.inner.enabled(record.metadata()) {
            return;
        }
        let ids = TraceIds::current();
        let already_has_ids = record.key_values().get(Key::from_str(TRACE_ID)).is_some();
        match ids.ids {
            Some((trace_id, span_id)) if !already_has_ids => {
                let source = WithIds {
                    inner: record.key_values(),
                    trace_id,
                    span_id,
                };
                self.inner.log(&record.to_builder().key_values(&source).build());
            }
            _ => self.inner.log(record),
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// Adds the log line as an event of the current span (if it records).
fn record_event(record: &Record<'_>) {
    let span = SpanRef::current();
    if !span.is_recording() {
        return;
    }
    let mut attributes = vec![
        KeyValue::new("level", record.level().as_str()),
        KeyValue::new("target", record.target().to_owned()),
    ];
    let _ = record.key_values().visit(&mut Collect(&mut attributes));
    span.add_event(record.args().to_string(), attributes);
}

/// Collects a record's key-values as span attributes (their display form).
struct Collect<'a>(&'a mut Vec<KeyValue>);

impl<'kvs> VisitSource<'kvs> for Collect<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), kv::Error> {
        self.0
            .push(KeyValue::new(key.as_str().to_owned(), value.to_string()));
        Ok(())
    }
}

/// A record's own key-values followed by the span's ids.
struct WithIds<'a> {
    inner: &'a dyn Source,
    trace_id: TraceId,
    span_id: SpanId,
}

impl Source for WithIds<'_> {
    fn visit<'kvs>(&'kvs self, visitor: &mut dyn VisitSource<'kvs>) -> Result<(), kv::Error> {
        self.inner.visit(visitor)?;
        visitor.visit_pair(Key::from_str(TRACE_ID), Value::from_display(&self.trace_id))?;
        visitor.visit_pair(Key::from_str(SPAN_ID), Value::from_display(&self.span_id))
    }
}

/// Reading the ids back from a record (feature `log`).
impl TraceIds {
    /// The ids a [`TraceContextLogger`] put on `record`; the current span's when it carries
    /// none (a backend formatting on the logging thread needs no wrapper).
    pub fn from_record(record: &Record<'_>) -> Self {
        let get = |key: &str| record.key_values().get(Key::from_str(key)).map(|v| v.to_string());
        let parsed = match (get(TRACE_ID), get(SPAN_ID)) {
            (Some(t), Some(s)) => TraceId::from_hex(&t).ok().zip(SpanId::from_hex(&s).ok()),
            _ => None,
        };
        match parsed {
            Some(ids) => TraceIds { ids: Some(ids) },
            None => TraceIds::current(),
        }
    }
}
