//! The current span: helpers that act on it, and futures that carry their span.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::TraceContextExt;

use crate::span::{Span, SpanRef, Status};
use crate::value::{IntoValue, Key, KeyValue};

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
    let cx = opentelemetry::Context::current();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// The current span id (16 lowercase hex digits), for log lines; `None` outside a span.
pub fn current_span_id() -> Option<String> {
    let cx = opentelemetry::Context::current();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.span_id().to_string())
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
            cx: span.context().cloned().unwrap_or_default(),
        }
    }

    /// Captures the span current *now* as this future's parent context, so work spawned
    /// elsewhere keeps its place in the trace. The span is not ended by the future.
    fn in_current_span(self) -> WithContext<Self> {
        WithContext {
            inner: self,
            cx: opentelemetry::Context::current(),
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
                span,
                deferred: None,
                done: false,
            },
            on_output,
        }
    }

    pub(crate) fn deferred(
        inner: F,
        deferred: Option<Box<Deferred>>,
        on_output: Option<OutputHook<F::Output>>,
    ) -> Self {
        InSpan {
            inner,
            span: FutureSpan {
                span: Span::none(),
                deferred,
                done: false,
            },
            on_output,
        }
    }
}

/// The span of an `async fn` call, started at its first poll under the parent that was
/// current at the call; or, when nothing was current then, under the span current at the
/// first poll. So `tokio::spawn(traced())` keeps the caller's span, and
/// `traced().in_span(span)` hangs under `span`, as users of `tracing` expect.
#[derive(Debug)]
pub struct Deferred {
    name: std::borrow::Cow<'static, str>,
    kind: crate::SpanKind,
    attributes: Vec<KeyValue>,
    call_cx: opentelemetry::Context,
}

impl Deferred {
    pub(crate) fn new(
        name: std::borrow::Cow<'static, str>,
        kind: crate::SpanKind,
        attributes: Vec<KeyValue>,
    ) -> Self {
        Deferred {
            name,
            kind,
            attributes,
            call_cx: opentelemetry::Context::current(),
        }
    }

    fn start(self) -> Span {
        let parent = if self.call_cx.span().span_context().is_valid() {
            self.call_cx
        } else {
            opentelemetry::Context::current()
        };
        crate::get_tracing()
            .span_builder(self.name)
            .kind(self.kind)
            .attributes(self.attributes)
            .parent_context(parent)
            .start()
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let span = &mut *this.span;
        if let Some(deferred) = span.deferred.take() {
            span.span = deferred.start();
        }
        let Some(cx) = span.span.context() else {
            // Tracing is off (or the span is not recorded): no context, no output check.
            let poll = this.inner.poll(task);
            span.done |= poll.is_ready();
            return poll;
        };
        let attach = cx.clone().attach();
        let panic_watch = PanicWatch(&span.span);
        let poll = this.inner.poll(task);
        drop(panic_watch);
        drop(attach);
        if let Poll::Ready(output) = &poll {
            if let Some(hook) = this.on_output {
                hook(&span.span, output);
            }
            span.done = true;
            drop(std::mem::take(&mut span.span));
        }
        poll
    }
}

/// The span of a future: ends it, marked cancelled when the future never completed.
struct FutureSpan {
    span: Span,
    // Boxed: an `async fn`'s future stays small when tracing is off.
    deferred: Option<Box<Deferred>>,
    done: bool,
}

impl Drop for FutureSpan {
    // Inlined: a completed or untraced future pays one branch here.
    #[inline]
    fn drop(&mut self) {
        if !self.done {
            self.cancelled();
        }
    }
}

impl FutureSpan {
    #[cold]
    fn cancelled(&mut self) {
        if let Some(deferred) = self.deferred.take() {
            // Called but never polled: the call still happened, and was cancelled.
            self.span = deferred.start();
        }
        if !std::thread::panicking() {
            self.span.set_attribute("cancelled", true);
        }
    }
}

/// Records a panic that unwinds out of a poll, before the runtime catches it: by the time
/// the future is dropped the thread is no longer panicking.
struct PanicWatch<'a>(&'a Span);

impl Drop for PanicWatch<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(cx) = self.0.context() {
                crate::error::record_panic(&cx.span());
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A future polled with a captured context current. See [`FutureExt::in_current_span`].
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        #[pin]
        inner: F,
        cx: opentelemetry::Context,
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _attach = this.cx.clone().attach();
        this.inner.poll(task)
    }
}
