//! The bridge to the `opentelemetry` API's context, for processes where another library
//! starts spans through that API (or `tracing-opentelemetry`).
//!
//! Off by default, so spans pay nothing for it. When on ([`crate::TracingBuilder::otel_context`]):
//! - a span started with nothing current here takes the OpenTelemetry context's span as
//!   parent, so our spans continue a trace that library started;
//! - while one of our spans is current, an OpenTelemetry context holding its ids is current
//!   too, so that library's spans hang under ours.
//!
//! [`otel_context`] gives the second direction on request, for passing to one call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::TraceContextExt;

use super::frame::{Frame, Inherited, Parent, copy_baggage};
use super::ids::SpanIds;
use crate::tracestate::TraceState;

static ON: AtomicBool = AtomicBool::new(false);

pub(crate) fn set(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

#[inline]
pub(crate) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// The OpenTelemetry context's current span, as a parent (when the bridge is on).
#[inline]
pub(crate) fn otel_parent() -> Option<Parent> {
    if !on() {
        return None;
    }
    otel_parent_of_current()
}

#[cold]
fn otel_parent_of_current() -> Option<Parent> {
    Context::map_current(parent_of)
}

/// Our `tracestate` beside OpenTelemetry's in a context we made.
struct Carried(TraceState);

/// The span (and baggage) of an OpenTelemetry context, as a parent.
pub(crate) fn parent_of(cx: &Context) -> Option<Parent> {
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return None;
    }
    let baggage = cx.baggage();
    let baggage = (!baggage.is_empty()).then(|| copy_baggage(baggage));
    Some(Parent {
        ids: SpanIds::from_otel(sc),
        inherited: Inherited::shared(
            TraceState::from_otel_unless_unchanged(
                sc.trace_state(),
                cx.get::<Carried>().map(|carried| &carried.0),
            ),
            baggage,
        ),
    })
}

/// Makes an OpenTelemetry context with `frame`'s span current beside it (when on).
#[inline]
pub(crate) fn attach(frame: &mut Frame) {
    if on() {
        frame.otel = Some(context_of(frame.ids, &frame.inherited).attach());
    }
}

/// An OpenTelemetry context whose span has `ids` (not recording: its record is ours).
pub(crate) fn context_of(ids: SpanIds, inherited: &Option<Arc<Inherited>>) -> Context {
    let ours = Inherited::trace_state(inherited);
    let trace_state = ours.map(TraceState::to_otel).unwrap_or_default();
    let mut cx = Context::new().with_remote_span_context(ids.to_otel(trace_state));
    if let Some(ours) = ours {
        // OpenTelemetry's type may not hold every member: ours goes along, for
        // `parent_of` to take back when the context returns unchanged.
        cx = cx.with_value(Carried(ours.clone()));
    }
    match inherited.as_ref().and_then(|i| i.baggage.as_ref()) {
        Some(baggage) => cx.with_baggage(copy_baggage(baggage)),
        None => cx,
    }
}

/// The current span of this thread (ours) as an OpenTelemetry [`Context`], to hand to a
/// library that takes one explicitly: spans it starts in that context become children of
/// ours. An empty context outside a span.
pub fn otel_context() -> Context {
    match super::local::current() {
        Some(handle) => context_of(handle.ids, &handle.inherited),
        None => Context::new(),
    }
}
