//! `SpanLayer`: every `tracing` span becomes one of ours, in the same tree as `span!`,
//! `#[trace_span]` and `in_span` spans, both ways.
//!
//! Which span is the parent: a `tracing` span whose parent is contextual (the usual case)
//! hangs under this thread's current span, ours or a `tracing` one (entering a `tracing`
//! span makes its span current here, on whatever thread it is entered); one with an explicit
//! parent hangs under the nearest ancestor this layer recorded (spans its filters left out
//! are skipped); an explicit root starts a new trace.

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef as Registered};

use super::entered;
use super::events;
use super::fields::Typed;
use super::recorded::{Recorded, SpanFields};
use crate::engine::route;
use crate::engine::start::Parentage;
use crate::span::SpanRef;

/// A `tracing_subscriber` layer that records `tracing` spans as `maximus_trace` spans.
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt as _;
/// use tracing_subscriber::util::SubscriberInitExt as _;
///
/// let _guard = maximus_trace::init_from_env("order-service")?;
/// tracing_subscriber::registry()
///     .with(maximus_trace::tracing_layer::SpanLayer::new())
///     .init();
///
/// #[tracing::instrument(fields(otel.kind = "server"))]
/// fn handle(order_id: u64) {
///     tracing::info!("accepted"); // an event of the span
/// }
/// handle(7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// - Fields become attributes of their type (`i64`, `u64`, `f64`, `bool`, strings; `?x` and
///   `%x` as text); `span.record(..)` sets them later.
/// - Events inside a span become its events (named after the message); an `ERROR` event marks
///   the span as failed.
/// - tracing-opentelemetry's conventions: `otel.name`, `otel.kind`, `otel.status_code`,
///   `otel.status_description`; an `error` field marks the span as failed.
/// - `follows_from` becomes a link.
/// - Filters apply as usual: a span a filter leaves out is not recorded, and its children
///   hang under its nearest recorded ancestor.
///
/// Nothing is recorded before `init()` or after the pipeline shut down.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpanLayer {
    _private: (),
}

impl SpanLayer {
    /// The layer.
    pub fn new() -> Self {
        SpanLayer { _private: () }
    }
}

impl<S> Layer<S> for SpanLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(route) = route::global().filter(|r| r.is_active()) else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        let parent = parentage(attrs, &span);
        if let Some(recorded) = Recorded::start(route, attrs, parent) {
            span.extensions_mut().insert(recorded);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if span.extensions().get::<Recorded>().is_none() {
            return;
        }
        // Read before the lock: formatting a value runs user code.
        let mut fields = SpanFields::default();
        values.record(&mut Typed(&mut fields));
        if let Some(recorded) = span.extensions_mut().get_mut::<Recorded>() {
            recorded.record(fields);
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        // Only a span this layer recorded can be linked to: not an ancestor in its place.
        let Some(target) = ctx.span(follows).and_then(|follows| {
            let extensions = follows.extensions();
            extensions.get::<Recorded>().and_then(Recorded::as_parent)
        }) else {
            return;
        };
        if let Some(span) = ctx.span(id) {
            if let Some(recorded) = span.extensions().get::<Recorded>() {
                recorded.link_to(&target);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if events::is_ours(event) || event.is_root() {
            return;
        }
        if event.is_contextual() {
            // The current span, ours or a `tracing` one (entered, it is current here).
            return events::record(&SpanRef::current(), event, true);
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        if let Some(span) = nearest_recorded(scope, Recorded::as_ref) {
            events::record(&span, event, true);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(recorded) = span.extensions().get::<Recorded>() {
                recorded.enter(id);
            }
        }
    }

    fn on_exit(&self, id: &Id, _: Context<'_, S>) {
        // Not looked up: what `on_enter` made current here is known by the id.
        entered::exit(id);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let recorded = ctx
            .span(&id)
            .and_then(|span| span.extensions_mut().remove::<Recorded>());
        // Ends it, outside the lock. A thread where it is still entered keeps its record's
        // memory until it exits there (`entered`).
        drop(recorded);
    }
}

/// Where a new `tracing` span hangs.
fn parentage<S>(attrs: &Attributes<'_>, span: &Registered<'_, S>) -> Parentage
where
    S: for<'a> LookupSpan<'a>,
{
    if attrs.is_root() {
        return Parentage::Given(None, None);
    }
    if attrs.is_contextual() {
        // Entered `tracing` spans are on this thread's stack, ours too: its top is the
        // innermost of either kind.
        return Parentage::Current;
    }
    // An explicit parent; past the ones this layer did not record. With none recorded, the
    // span hangs under the current one, as a contextual span would.
    match nearest_recorded(span.scope().skip(1), Recorded::as_parent) {
        Some(parent) => Parentage::Given(parent, None),
        None => Parentage::Current,
    }
}

/// `what` of the first span in `scope` (innermost first) that this layer recorded.
fn nearest_recorded<'a, S, T>(
    mut scope: impl Iterator<Item = Registered<'a, S>>,
    what: impl Fn(&Recorded) -> T,
) -> Option<T>
where
    S: LookupSpan<'a> + 'a,
{
    scope.find_map(|span| span.extensions().get::<Recorded>().map(&what))
}
