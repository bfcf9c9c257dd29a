//! `SpanEventLayer`: `tracing` events recorded as events of the current span, for programs
//! whose spans are ours (`span!`, `#[trace_span]`) and who log with `tracing`.

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::events;
use crate::span::SpanRef;

/// A layer that records `tracing` events at `level` or more severe as events of the current
/// `maximus_trace` span (named after the message, with `level`, `target` and the event's
/// fields as attributes), so Jaeger shows them inside the span.
///
/// [`super::SpanLayer`] records events too (of every level its filter lets through): use one
/// or the other, not both.
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
        // `Level` orders verbosity: ERROR is the smallest.
        if *event.metadata().level() > self.level || events::is_ours(event) {
            return;
        }
        events::record(&SpanRef::current(), event, false);
    }
}
