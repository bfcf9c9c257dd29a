//! Starting a span, whatever starts it (`span!`, `#[trace_span]` sync and async,
//! `SpanBuilder`, a deferred start, a remote parent, the OpenTelemetry bridge): [`start`]
//! decides its parent, its ids, whether it is sampled, and counts it, then places it.
//!
//! Two placements: [`Placement::Current`] records the span into this thread's buffer and
//! pushes its frame (`current.rs`); [`Placement::Owned`] puts its record behind a lock in a
//! cell that a [`Handle`] owns (`owned.rs`). The sampling decision itself is `decide.rs`.
//! The fast paths (a child of a sampled span of this thread, a child sharing the frame of
//! an unsampled parent, a child under a parent-based sampler) are branches of these, not
//! copies beside them.

mod current;
mod decide;
mod owned;

use std::sync::Arc;

use super::frame::{Inherited, Parent};
use super::handle::Handle;
use super::ids::{SpanId, SpanIds};
use super::record::LinkRecord;
use super::route::RouteRef;
use crate::model::{KeyValue, SmallStr, SpanKind};

/// Which span a new span hangs under.
#[derive(Debug)]
pub(crate) enum Parentage {
    /// The current span of this thread (else, with the bridge on, of the OpenTelemetry
    /// context); a root when there is none.
    Current,
    /// The current span, as `Current`; with none, nothing starts ([`Started::NoParent`]):
    /// an `async fn` called outside any span starts its span at the first poll instead.
    CurrentIfAny,
    /// This parent (`None`: a new trace), and what a root inherits (the baggage of a request
    /// without a valid trace context).
    Given(Option<Parent>, Option<Arc<Inherited>>),
}

/// Where a started span lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Current on this thread until its guard drops (its record in this thread's buffer
    /// when the route is the global one).
    Current,
    /// Owned by a handle, not made current.
    Owned,
}

/// A span to start.
pub(crate) struct Spec<A> {
    pub name: SmallStr,
    pub kind: SpanKind,
    pub parent: Parentage,
    /// Evaluated only if the span records (user code: run outside the engine's state).
    pub attributes: A,
    pub links: Vec<LinkRecord>,
}

/// A started span.
#[derive(Debug)]
pub(crate) enum Started {
    /// Current on this thread: its frame is pushed, ended by its id.
    Current(SpanId),
    /// Owned by this handle.
    Owned(Handle),
    /// [`Parentage::CurrentIfAny`] with no current span: nothing started; the name given
    /// back, for a start later.
    NoParent(SmallStr),
    /// Nothing: the route is shut down, or this thread is inside the engine or exiting.
    Nothing,
}

/// A list of attributes given at a start. `NONE`: known empty at compile time (the span
/// then skips their conversion).
pub(crate) trait AttributeList: IntoIterator<Item = KeyValue> {
    /// The list is empty whatever its value.
    const NONE: bool;
}

impl<const N: usize> AttributeList for [KeyValue; N] {
    const NONE: bool = N == 0;
}

impl AttributeList for Vec<KeyValue> {
    const NONE: bool = false;
}

/// Starts a span on `route`.
#[inline(always)]
pub(crate) fn start<L: AttributeList>(
    route: RouteRef,
    spec: Spec<impl FnOnce() -> L>,
    placement: Placement,
) -> Started {
    match (placement, route) {
        // Reached while tracing is enabled (`span!` checks first, a builder holds the global
        // route only while it is active): a shutdown racing with it costs a span that its
        // buffer's generation then drops, not a check on every span.
        (Placement::Current, RouteRef::Global(route)) => current::start(route, spec),
        // A standalone route's span has no place in this thread's buffer: owned (the caller
        // makes it current).
        (Placement::Current, route) => owned::start(route, spec),
        (Placement::Owned, route) => owned::start(route, spec),
    }
}

pub(crate) use current::under_current;

/// The first branch of every start under the current span, for callers that inline it
/// ahead of the rest: under a span that is not sampled and whose children follow it, the
/// new span records nothing and shares that span's frame (no ids, no push, no pop). Counts
/// it (started and, since it holds nothing, ended) when so. A thread-local load and a branch
/// when not.
#[inline(always)]
pub(crate) fn shares_current_frame() -> bool {
    current::share_frame()
}

/// [`shares_current_frame`] for a future: the shared frame's ids and what it inherits (made
/// current when the future is polled elsewhere).
#[inline]
pub(crate) fn shared_frame() -> Option<(SpanIds, Option<Arc<Inherited>>)> {
    current::share_frame_ids()
}

#[cfg(test)]
mod tests;
