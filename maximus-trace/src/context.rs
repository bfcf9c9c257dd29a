//! The current span: helpers that act on it, and futures that carry their span.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use std::sync::Arc;

use crate::engine::route::{self, RouteRef};
use crate::engine::start::{self, AttributeList, Parentage, Placement, Spec, Started};
use crate::engine::{Handle, Inherited, RecordRef, SpanId, SpanIds, local};
use crate::model::SmallStr;
use crate::model::{IntoValue, Key, KeyValue};
use crate::model::{SpanKind, Status};
use crate::span::{Span, SpanBuilder, SpanRef};

/// Adds an event to the current span (no-op outside a span).
pub fn add_event<A>(name: impl Into<std::borrow::Cow<'static, str>>, attributes: A)
where
    A: IntoIterator,
    A::Item: Into<KeyValue>,
{
    SpanRef::current().add_event(name, attributes);
}

/// Sets an attribute on the current span (no-op outside a span or after it ended).
pub fn set_attribute(key: impl Into<Key>, value: impl IntoValue) {
    SpanRef::current().set_attribute(key, value);
}

/// Records an error on the current span: an `exception` event and status ERROR.
pub fn record_error<E: std::error::Error + ?Sized>(error: &E) {
    SpanRef::current().record_error(error);
}

/// Sets the status of the current span.
pub fn set_status(status: Status) {
    SpanRef::current().set_status(status);
}

/// The current trace id (32 lowercase hex digits), for log lines; `None` outside a span.
pub fn current_trace_id() -> Option<String> {
    local::current_ids().map(|ids| ids.trace_id.to_string())
}

/// The current span id (16 lowercase hex digits), for log lines; `None` outside a span.
pub fn current_span_id() -> Option<String> {
    local::current_ids().map(|ids| ids.span_id.to_string())
}

/// Gives futures a span that stays their parent across `.await`, thread hops and
/// `tokio::spawn`.
pub trait FutureExt: Future + Sized {
    /// Polls this future with `span` current; the span ends when the future completes, or
    /// with `cancelled = true` when the future is dropped before completing.
    fn in_span(self, span: Span) -> InSpan<Self> {
        InSpan::new(self, span, None)
    }

    /// Polls this future with `span` current, without ending it: for work done on behalf of
    /// a span that something else owns (a stream that keeps its span open, for example).
    fn with_span(self, span: SpanRef) -> WithContext<Self> {
        WithContext {
            inner: self,
            handle: span.handle().cloned(),
        }
    }

    /// Captures the span current *now* as this future's parent context, so work spawned
    /// elsewhere keeps its place in the trace. The span is not ended by the future.
    fn in_current_span(self) -> WithContext<Self> {
        WithContext {
            inner: self,
            handle: local::current(),
        }
    }
}

impl<F: Future> FutureExt for F {}

/// What to do with a future's output before its span ends (the macro marks `Err` results).
pub(crate) type OutputHook<T> = fn(&Span, &T);

pin_project_lite::pin_project! {
    /// A future polled inside its span. See [`FutureExt::in_span`].
    #[must_use = "futures do nothing unless polled"]
    pub struct InSpan<F: Future> {
        #[pin]
        inner: F,
        span: FutureSpan,
        on_output: Option<OutputHook<F::Output>>,
    }
}

impl<F: Future> InSpan<F> {
    pub(crate) fn new(inner: F, span: Span, on_output: Option<OutputHook<F::Output>>) -> Self {
        InSpan {
            inner,
            span: FutureSpan {
                state: ManuallyDrop::new(Deferral::Started(span)),
                done: false,
            },
            on_output,
        }
    }

    pub(crate) fn deferred(
        inner: F,
        deferred: DeferredSpan,
        on_output: Option<OutputHook<F::Output>>,
    ) -> Self {
        InSpan {
            inner,
            span: FutureSpan {
                state: ManuallyDrop::new(deferred.0),
                done: false,
            },
            on_output,
        }
    }
}

/// The span of an `async fn` call (what `#[trace_span]` starts at the call).
#[derive(Debug)]
pub struct DeferredSpan(pub(crate) Deferral);

impl DeferredSpan {
    /// Tracing is off. A function, not a `const`: built in place only its tag is written,
    /// where a constant is copied whole from memory (48 bytes, on every disabled call).
    #[inline(always)]
    pub(crate) fn off() -> DeferredSpan {
        DeferredSpan(Deferral::Off)
    }
}

#[derive(Debug)]
pub(crate) enum Deferral {
    Off,
    /// Called under a span that is not sampled: shares that span's ids (made current on
    /// polls away from it), records nothing.
    Shared(SpanIds, Option<Arc<Inherited>>),
    /// Started at the call, under the caller's span.
    Started(Span),
    /// Nothing was current at the call: started at the first poll, under the span current
    /// then (so `traced().in_span(span)` hangs under `span`), and dated then too: that
    /// parent often starts after the call, and a child must not begin before its parent.
    /// Boxed, so an `async fn`'s future stays small.
    Pending(Box<Deferred>),
}

/// A span to start at the first poll.
#[derive(Debug)]
pub(crate) struct Deferred {
    name: SmallStr,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    route: &'static crate::engine::route::Route,
}

impl DeferredSpan {
    /// The span of a call made now: shared, started, or pending (see [`Deferral`]).
    pub(crate) fn at_call<L: AttributeList>(
        name: SmallStr,
        kind: SpanKind,
        attributes: impl FnOnce() -> L,
    ) -> Self {
        let Some(route) = route::global() else {
            return DeferredSpan::off();
        };
        // Kept for a pending start, which cannot run the closure later (it borrows the call's
        // arguments): evaluated now only if nothing is current.
        let mut attributes = Some(attributes);
        let spec = Spec {
            name,
            kind,
            parent: Parentage::CurrentIfAny,
            attributes: || (attributes.take().expect("evaluated once"))(),
            links: Vec::new(),
        };
        match start::start(RouteRef::Global(route), spec, Placement::Owned) {
            Started::Owned(handle) => DeferredSpan(Deferral::Started(Span::from_handle(handle))),
            Started::NoParent(name) => DeferredSpan(Deferral::Pending(Box::new(Deferred {
                name,
                kind,
                attributes: attributes.map(|a| a().into_iter().collect()).unwrap_or_default(),
                route,
            }))),
            Started::Current(_) | Started::Nothing => DeferredSpan::off(),
        }
    }
}

impl Deferred {
    fn start(self) -> Span {
        SpanBuilder::new(Some(RouteRef::Global(self.route)), self.name.into_cow())
            .kind(self.kind)
            .attributes(self.attributes)
            .start()
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    // Inlined: with tracing off (or the span ended) a poll is one compare in front of the
    // inner poll; the rest, with its large stack frame, is out of line.
    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        if let Deferral::Off = *self.span.state {
            // `done` stays unset: the drop looks at `Off` first and has nothing to end.
            return self.project().inner.poll(task);
        }
        self.poll_traced(task)
    }
}

impl<F: Future> InSpan<F> {
    #[inline(never)]
    fn poll_traced(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let span = &mut *this.span;
        if let Deferral::Pending(_) = *span.state {
            span.start_pending();
        }
        let poll = match &*span.state {
            // Pushed unless the span records nothing and shares the current frame's ids.
            Deferral::Started(s)
                if s.handle().is_some_and(|h| {
                    !matches!(h.record, RecordRef::Unrecorded(_)) || !local::is_current(h.ids.span_id)
                }) =>
            {
                let handle = s.handle().expect("checked above");
                let current = Current::enter(handle);
                let poll = this.inner.poll(task);
                drop(current);
                poll
            }
            Deferral::Shared(ids, inherited) if !local::is_current(ids.span_id) => {
                local::push_shared(*ids, inherited.clone());
                let _pop = PopOnDrop(ids.span_id);
                this.inner.poll(task)
            }
            // No span, or one whose ids are current already.
            _ => this.inner.poll(task),
        };
        if let Poll::Ready(output) = &poll {
            span.done = true;
            // Only a started span has anything to end now (a shared one ends nothing); the
            // others are left for the drop, so a future untraced pays no drop glue here.
            if matches!(*span.state, Deferral::Started(_)) {
                if let Deferral::Started(s) = std::mem::replace(&mut *span.state, Deferral::Off) {
                    if let Some(hook) = this.on_output {
                        hook(&s, output);
                    }
                    drop(s);
                }
            }
        }
        poll
    }
}

/// The span of a future: ends it, marked cancelled when the future never completed.
struct FutureSpan {
    /// Dropped by hand: skipped when `Off` (tracing off, or the span already ended), so an
    /// untraced future does not call the enum's (large, out-of-line) drop glue.
    state: ManuallyDrop<Deferral>,
    done: bool,
}

impl Drop for FutureSpan {
    // Inlined: an untraced or completed future pays one branch here.
    #[inline]
    fn drop(&mut self) {
        if !matches!(*self.state, Deferral::Off) {
            self.end();
        }
    }
}

impl FutureSpan {
    fn start_pending(&mut self) {
        if !matches!(*self.state, Deferral::Pending(_)) {
            return;
        }
        if let Deferral::Pending(deferred) = std::mem::replace(&mut *self.state, Deferral::Off) {
            *self.state = Deferral::Started(deferred.start());
        }
    }

    /// Ends the span (cancelled if the future never completed) and frees the state.
    #[cold]
    fn end(&mut self) {
        if !self.done {
            self.cancelled();
        }
        // SAFETY: called once, from `drop`; the state is not used after.
        unsafe { ManuallyDrop::drop(&mut self.state) }
    }

    fn cancelled(&mut self) {
        // Called but never polled: the call still happened, and was cancelled.
        self.start_pending();
        if let Deferral::Started(span) = &*self.state {
            if !std::thread::panicking() {
                span.set_attribute("cancelled", true);
            }
        }
    }
}

/// A span made current for one poll. Dropped at the end of the poll, or while a panic
/// unwinds out of it: then it records the panic first (by the time the future is dropped,
/// the thread is no longer panicking).
pub(crate) struct Current<'a> {
    handle: &'a Handle,
}

impl<'a> Current<'a> {
    pub(crate) fn enter(handle: &'a Handle) -> Self {
        local::push_handle(handle);
        Current { handle }
    }
}

impl Drop for Current<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.handle.with_record(crate::engine::exception::record_panic);
        }
        local::pop(self.handle.ids.span_id);
    }
}

pin_project_lite::pin_project! {
    /// A future polled with a captured span current. See [`FutureExt::in_current_span`].
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        #[pin]
        inner: F,
        handle: Option<Handle>,
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(handle) = this.handle.as_ref() else {
            return this.inner.poll(task);
        };
        local::push_handle(handle);
        let _pop = PopOnDrop(handle.ids.span_id);
        this.inner.poll(task)
    }
}

/// Takes a frame off the stack, also when a poll unwinds.
struct PopOnDrop(SpanId);

impl Drop for PopOnDrop {
    fn drop(&mut self) {
        local::pop(self.0);
    }
}
