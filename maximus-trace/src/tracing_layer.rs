//! Log correlation for `tracing` (feature `tracing`): the current span's `trace_id` and
//! `span_id` on every event that `tracing_subscriber::fmt` writes, and optionally `tracing`
//! events recorded as events of the current span.
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt as _;
//! use tracing_subscriber::util::SubscriberInitExt as _;
//!
//! tracing_subscriber::registry()
//!     .with(maximus_trace::tracing_layer::fmt_layer())               // trace_id=… span_id=… on each line
//!     .with(maximus_trace::tracing_layer::SpanEventLayer::new(tracing::Level::WARN))
//!     .init();
//! ```
//!
//! The ids come from the span that `maximus_trace` made current (`span!`, `#[trace_span]`,
//! `in_span`), read when the line is formatted, on the thread that logs it. `fmt` formats
//! synchronously, so the ids are those of the code that logged. Events cannot gain fields
//! after the fact, so the ids are added by the event formatter ([`TraceIdFormat`]), which wraps
//! any other formatter: a text line is prefixed with `trace_id=… span_id=… `; a JSON line
//! (an object) gains `"trace_id"` and `"span_id"` members.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::TraceIds;
use crate::model::KeyValue;
use crate::span::SpanRef;

/// A `tracing_subscriber::fmt` layer with the default format and the ids of the current
/// span on every line: `fmt::layer().event_format(TraceIdFormat::new(fmt::format()))`.
pub fn fmt_layer<S>() -> tracing_subscriber::fmt::Layer<S, DefaultFields, TraceIdFormat<Format>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer().event_format(TraceIdFormat::new(tracing_subscriber::fmt::format()))
}

/// An event formatter that adds `trace_id` and `span_id` of the current span to what `inner`
/// writes (nothing is added outside a span).
#[derive(Clone, Debug, Default)]
pub struct TraceIdFormat<F = Format> {
    inner: F,
}

impl<F> TraceIdFormat<F> {
    /// Wraps any `FormatEvent` (`fmt::format()`, `.compact()`, `.json()`, your own).
    pub fn new(inner: F) -> Self {
        TraceIdFormat { inner }
    }
}

impl<S, N, F> FormatEvent<S, N> for TraceIdFormat<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = TraceIds::current();
        if ids.is_empty() {
            return self.inner.format_event(ctx, writer, event);
        }
        // A colored line is written straight through (buffering would lose the colors).
        if writer.has_ansi_escapes() {
            write!(writer, "{ids} ")?;
            return self.inner.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.inner.format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&with_ids(&line, &ids))
    }
}

/// `line` with the ids: inside a JSON object, else in front.
fn with_ids(line: &str, ids: &TraceIds) -> String {
    let body = line.trim_end_matches('\n');
    let newline = &line[body.len()..];
    let (Some(trace_id), Some(span_id)) = (ids.trace_id(), ids.span_id()) else {
        return line.to_owned();
    };
    match body.strip_suffix('}') {
        Some(open) if body.starts_with('{') => {
            let comma = if open.trim_end().ends_with('{') { "" } else { "," };
            format!("{open}{comma}\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"}}{newline}")
        }
        _ => format!("{ids} {line}"),
    }
}

/// A layer that records `tracing` events at `level` or more severe as events of the current
/// `maximus_trace` span (named after the message, with `level`, `target` and the event's
/// fields as attributes), so Jaeger shows them inside the span.
#[derive(Clone, Copy, Debug)]
pub struct SpanEventLayer {
    level: Level,
}

impl SpanEventLayer {
    /// Records events at `level` or more severe (`Level::WARN` records warnings and errors).
    pub fn new(level: Level) -> Self {
        SpanEventLayer { level }
    }
}

impl<S: Subscriber> Layer<S> for SpanEventLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        // `Level` orders verbosity: ERROR is the smallest.
        if *metadata.level() > self.level || metadata.target().starts_with("maximus_trace") {
            return;
        }
        let span = SpanRef::current();
        if !span.is_recording() {
            return;
        }
        let mut fields = Fields {
            message: None,
            attributes: vec![
                KeyValue::new("level", metadata.level().as_str()),
                KeyValue::new("target", metadata.target()),
            ],
        };
        event.record(&mut fields);
        let name = fields.message.unwrap_or_else(|| metadata.name().to_owned());
        span.add_event(name, fields.attributes);
    }
}

/// An event's `message` and other fields, typed where `tracing` gives the type.
struct Fields {
    message: Option<String>,
    attributes: Vec<KeyValue>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.attributes.push(KeyValue::new(field.name(), text));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.attributes
                .push(KeyValue::new(field.name(), value.to_owned()));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attributes.push(KeyValue::new(field.name(), value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.attributes.push(KeyValue::new(field.name(), value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.attributes.push(KeyValue::new(field.name(), value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.attributes.push(KeyValue::new(field.name(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> TraceIds {
        use opentelemetry::trace::{SpanId, TraceId};
        let trace_id = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap();
        let span_id = SpanId::from_hex("b7ad6b7169203331").unwrap();
        TraceIds {
            ids: Some((trace_id, span_id)),
        }
    }

    #[test]
    fn text_lines_get_the_ids_in_front() {
        assert_eq!(
            with_ids("INFO app: hello\n", &ids()),
            "trace_id=0af7651916cd43dd8448eb211c80319c span_id=b7ad6b7169203331 INFO app: hello\n"
        );
    }

    #[test]
    fn json_lines_get_the_ids_as_members() {
        assert_eq!(
            with_ids("{\"msg\":\"hi\"}\n", &ids()),
            "{\"msg\":\"hi\",\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"b7ad6b7169203331\"}\n"
        );
        assert_eq!(
            with_ids("{}", &ids()),
            "{\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"b7ad6b7169203331\"}"
        );
    }
}
