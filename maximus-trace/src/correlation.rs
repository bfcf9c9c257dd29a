//! [`TraceIds`]: the ids of the current span, formatted for log lines. The `log` and
//! `tracing` integrations (features `log` and `tracing`) build on it; without them it still
//! serves any logger's format function.

use std::fmt;

use opentelemetry::trace::{SpanId, TraceId};

/// The trace and span ids of a log line, formatted `trace_id=<32 hex> span_id=<16 hex>`
/// (nothing at all outside a span): place it in a log format string, for example
/// `writeln!(buf, "{} {} {}", record.level(), TraceIds::current(), record.args())`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceIds {
    pub(crate) ids: Option<(TraceId, SpanId)>,
}

impl TraceIds {
    /// The ids of the span current on this thread.
    pub fn current() -> Self {
        TraceIds {
            ids: crate::engine::local::current_ids()
                .map(|ids| (ids.trace_id.to_otel(), ids.span_id.to_otel())),
        }
    }

    /// The trace id (32 lowercase hex digits), `None` outside a span.
    pub fn trace_id(&self) -> Option<String> {
        self.ids.map(|(t, _)| t.to_string())
    }

    /// The span id (16 lowercase hex digits), `None` outside a span.
    pub fn span_id(&self) -> Option<String> {
        self.ids.map(|(_, s)| s.to_string())
    }

    /// True outside a span.
    pub fn is_empty(&self) -> bool {
        self.ids.is_none()
    }
}

impl fmt::Display for TraceIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ids {
            Some((trace_id, span_id)) => write!(f, "trace_id={trace_id} span_id={span_id}"),
            None => Ok(()),
        }
    }
}
