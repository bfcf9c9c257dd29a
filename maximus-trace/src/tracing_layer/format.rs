//! Trace ids in the lines `tracing_subscriber::fmt` writes: the current span's `trace_id`
//! and `span_id`, read when the line is formatted, on the thread that logs it. `fmt` formats
//! synchronously, so the ids are those of the code that logged. Events cannot gain fields
//! after the fact, so the ids are added by the event formatter ([`TraceIdFormat`]), which wraps
//! any other formatter: a text line is prefixed with `trace_id=… span_id=… `; a JSON line
//! (an object) gains `"trace_id"` and `"span_id"` members.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::TraceIds;

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
