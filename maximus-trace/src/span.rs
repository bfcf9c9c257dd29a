//! Spans: the owned [`Span`], the [`SpanGuard`] that makes one current, and the
//! [`SpanBuilder`] that starts them.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use opentelemetry::trace::{TraceContextExt, Tracer as _};
use opentelemetry::{Context, ContextGuard};

use crate::manager::Pipeline;
use crate::propagation::RemoteParent;
use crate::value::{IntoValue, Key, KeyValue};

/// What role a span plays in a request, as OpenTelemetry defines it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// Work inside one service. The default.
    #[default]
    Internal,
    /// An outgoing request (HTTP client call, database query).
    Client,
    /// The handling of an incoming request.
    Server,
    /// A message sent to a queue.
    Producer,
    /// A message taken from a queue.
    Consumer,
}

impl SpanKind {
    pub(crate) fn into_otel(self) -> opentelemetry::trace::SpanKind {
        use opentelemetry::trace::SpanKind as O;
        match self {
            SpanKind::Internal => O::Internal,
            SpanKind::Client => O::Client,
            SpanKind::Server => O::Server,
            SpanKind::Producer => O::Producer,
            SpanKind::Consumer => O::Consumer,
        }
    }
}

/// The outcome of a span's operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Status {
    /// Nothing was said: the default, meaning the operation completed normally.
    #[default]
    Unset,
    /// Explicitly successful; a later `Error` no longer applies.
    Ok,
    /// The operation failed.
    Error {
        /// A short human description of the failure.
        description: Cow<'static, str>,
    },
}

impl Status {
    /// An error status with a description.
    pub fn error(description: impl Into<Cow<'static, str>>) -> Self {
        Status::Error {
            description: description.into(),
        }
    }

    fn into_otel(self) -> opentelemetry::trace::Status {
        match self {
            Status::Unset => opentelemetry::trace::Status::Unset,
            Status::Ok => opentelemetry::trace::Status::Ok,
            Status::Error { description } => opentelemetry::trace::Status::error(description),
        }
    }
}

/// Operations on a span that has started: shared by [`Span`], [`SpanGuard`] and [`SpanRef`].
///
/// All of them are no-ops on a span that is disabled, not sampled, or already ended.
#[derive(Clone, Debug)]
pub(crate) struct Handle {
    pub(crate) cx: Context,
}

impl Handle {
    fn with_span(&self, f: impl FnOnce(&opentelemetry::trace::SpanRef<'_>)) {
        let span = self.cx.span();
        if span.is_recording() {
            f(&span);
        }
    }

    pub(crate) fn set_attribute(&self, key: impl Into<Key>, value: impl IntoValue) {
        self.with_span(|s| {
            s.set_attribute(KeyValue::new(key, value).into_otel(crate::manager::value_limit()))
        });
    }

    pub(crate) fn add_event<A>(&self, name: impl Into<Cow<'static, str>>, attributes: A)
    where
        A: IntoIterator,
        A::Item: Into<KeyValue>,
    {
        self.with_span(|s| s.add_event(name.into(), otel_attributes(attributes)));
    }

    pub(crate) fn set_status(&self, status: Status) {
        self.with_span(|s| s.set_status(status.into_otel()));
    }

    pub(crate) fn record_error<E: std::error::Error + ?Sized>(&self, error: &E) {
        self.with_span(|s| {
            let message = error.to_string();
            s.add_event("exception", crate::error::exception_attributes(error, &message));
            s.set_status(opentelemetry::trace::Status::error(message));
        });
    }

    pub(crate) fn trace_id(&self) -> Option<String> {
        let sc = self.cx.span().span_context().clone();
        sc.is_valid().then(|| sc.trace_id().to_string())
    }

    pub(crate) fn span_id(&self) -> Option<String> {
        let sc = self.cx.span().span_context().clone();
        sc.is_valid().then(|| sc.span_id().to_string())
    }

    pub(crate) fn is_recording(&self) -> bool {
        self.cx.span().is_recording()
    }
}

pub(crate) fn otel_attributes<A>(attributes: A) -> Vec<opentelemetry::KeyValue>
where
    A: IntoIterator,
    A::Item: Into<KeyValue>,
{
    let limit = crate::manager::value_limit();
    attributes
        .into_iter()
        .map(|kv| kv.into().into_otel(limit))
        .collect()
}

macro_rules! span_operations {
    () => {
        /// Sets an attribute, keeping the value's type. Later values replace earlier ones.
        pub fn set_attribute(&self, key: impl Into<$crate::Key>, value: impl $crate::IntoValue) {
            if let Some(h) = self.handle() {
                h.set_attribute(key, value);
            }
        }

        /// Adds a timestamped event with attributes.
        pub fn add_event<A>(&self, name: impl Into<::std::borrow::Cow<'static, str>>, attributes: A)
        where
            A: IntoIterator,
            A::Item: Into<$crate::KeyValue>,
        {
            if let Some(h) = self.handle() {
                h.add_event(name, attributes);
            }
        }

        /// Sets the status (`Status::error("...")` marks the span failed).
        pub fn set_status(&self, status: $crate::Status) {
            if let Some(h) = self.handle() {
                h.set_status(status);
            }
        }

        /// Records an error: an `exception` event with `exception.type`, `exception.message`
        /// and `exception.stacktrace` (the `source()` chain, plus a backtrace when
        /// `RUST_BACKTRACE` asks for one), and status ERROR with the error's message.
        pub fn record_error<E: ::std::error::Error + ?Sized>(&self, error: &E) {
            if let Some(h) = self.handle() {
                h.record_error(error);
            }
        }

        /// The W3C trace id (32 lowercase hex digits), if the span is real.
        pub fn trace_id(&self) -> Option<String> {
            self.handle().and_then(|h| h.trace_id())
        }

        /// The W3C span id (16 lowercase hex digits), if the span is real.
        pub fn span_id(&self) -> Option<String> {
            self.handle().and_then(|h| h.span_id())
        }

        /// True when the span is sampled and still open, so recording data on it has effect.
        pub fn is_recording(&self) -> bool {
            self.handle().is_some_and(|h| h.is_recording())
        }
    };
}

/// A started span that is not (necessarily) current. It ends when dropped or on [`Span::end`].
///
/// Use it to give a future a span ([`crate::FutureExt::in_span`]), or [`Span::enter`] to make
/// it current on this thread.
#[must_use = "a span ends as soon as it is dropped"]
#[derive(Debug, Default)]
pub struct Span {
    handle: Option<Handle>,
}

impl Span {
    /// A span that records nothing: what every constructor returns when tracing is off.
    pub const fn none() -> Self {
        Span { handle: None }
    }

    pub(crate) fn from_context(cx: Context) -> Self {
        Span {
            handle: Some(Handle { cx }),
        }
    }

    fn handle(&self) -> Option<&Handle> {
        self.handle.as_ref()
    }

    pub(crate) fn context(&self) -> Option<&Context> {
        self.handle.as_ref().map(|h| &h.cx)
    }

    /// The current span of this thread (or of the future being polled), for the helpers:
    /// `Span::current().set_attribute("user.id", 7)`.
    pub fn current() -> SpanRef {
        SpanRef::current()
    }

    /// A reference to this span that can be handed around while this `Span` keeps ownership.
    pub fn as_ref(&self) -> SpanRef {
        SpanRef {
            handle: self.handle.clone(),
        }
    }

    /// Makes this span current on this thread until the returned guard drops; the span
    /// ends then.
    #[inline]
    pub fn enter(self) -> SpanGuard {
        match self.context() {
            None => SpanGuard::none(),
            Some(cx) => SpanGuard {
                entered: Some(Entered {
                    attach: cx.clone().attach(),
                    span: self,
                }),
                _not_send: PhantomData,
            },
        }
    }

    /// True for the no-op span of disabled tracing.
    pub fn is_none(&self) -> bool {
        self.handle.is_none()
    }

    /// Ends the span now. Equivalent to dropping it.
    pub fn end(self) {}

    span_operations!();
}

impl Drop for Span {
    // Inlined so a disabled span's drop is one branch in the caller.
    #[inline]
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            end_span(handle);
        }
    }
}

#[cold]
fn end_span(handle: Handle) {
    let span = handle.cx.span();
    if std::thread::panicking() {
        crate::error::record_panic(&span);
    }
    span.end();
    crate::manager::count_ended();
}

/// A span that is current on this thread until the guard drops; then it ends.
///
/// Returned by [`span!`](crate::span!), [`crate::TracingManager::span`] and
/// [`SpanBuilder::entered`]. It cannot be sent to another thread (it marks this thread's
/// current span); give futures a [`Span`] with [`crate::FutureExt::in_span`] instead.
#[must_use = "the span ends as soon as the guard is dropped; bind it with `let _span = ...`"]
#[derive(Debug)]
pub struct SpanGuard {
    /// `None` when tracing is off: the guard is then one discriminant, checked once on exit.
    entered: Option<Entered>,
    _not_send: PhantomData<*const ()>,
}

/// A recording span made current. Fields drop in order: the previous context is restored
/// before the span ends.
#[derive(Debug)]
struct Entered {
    attach: ContextGuard,
    span: Span,
}

/// What [`SpanGuard::span`] lends when tracing is off.
static NO_SPAN: Span = Span::none();

impl SpanGuard {
    #[inline]
    pub(crate) fn none() -> Self {
        SpanGuard {
            entered: None,
            _not_send: PhantomData,
        }
    }

    fn handle(&self) -> Option<&Handle> {
        self.entered.as_ref().and_then(|e| e.span.handle())
    }

    /// The span behind the guard.
    pub fn span(&self) -> &Span {
        self.entered.as_ref().map_or(&NO_SPAN, |e| &e.span)
    }

    /// Leaves the span (restores the previous current span) without ending it.
    pub fn exit(mut self) -> Span {
        match self.entered.take() {
            Some(Entered { attach, span }) => {
                drop(attach);
                span
            }
            None => Span::none(),
        }
    }

    span_operations!();
}

/// A shared reference to a span that may or may not still be open: the current span from
/// [`Span::current`], or [`Span::as_ref`]. Dropping it does not end the span, and every
/// operation on an ended span is a no-op.
#[derive(Clone, Debug, Default)]
pub struct SpanRef {
    handle: Option<Handle>,
}

impl SpanRef {
    /// The span current on this thread (the innermost guard, or the span of the future
    /// being polled).
    pub fn current() -> Self {
        let cx = Context::current();
        let valid = cx.span().span_context().is_valid();
        SpanRef {
            handle: valid.then_some(Handle { cx }),
        }
    }

    fn handle(&self) -> Option<&Handle> {
        self.handle.as_ref()
    }

    pub(crate) fn context(&self) -> Option<&Context> {
        self.handle.as_ref().map(|h| &h.cx)
    }

    span_operations!();
}

/// Which span a new span hangs under.
#[derive(Clone, Debug, Default)]
enum Parent {
    #[default]
    Current,
    Root,
    Remote(RemoteParent),
    Explicit(Option<Context>),
}

/// Configures a span before starting it: kind, attributes, parent, links.
#[must_use = "call .start() or .entered() to start the span"]
#[derive(Debug)]
pub struct SpanBuilder {
    pipeline: Option<Arc<Pipeline>>,
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    parent: Parent,
    links: Vec<opentelemetry::trace::Link>,
}

impl SpanBuilder {
    pub(crate) fn new(pipeline: Option<Arc<Pipeline>>, name: Cow<'static, str>) -> Self {
        SpanBuilder {
            pipeline,
            name,
            kind: SpanKind::Internal,
            attributes: Vec::new(),
            parent: Parent::Current,
            links: Vec::new(),
        }
    }

    /// The span kind (internal by default).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Adds an attribute known at the start (samplers can see it).
    pub fn attribute(mut self, key: impl Into<Key>, value: impl IntoValue) -> Self {
        if self.pipeline.is_some() {
            self.attributes.push(KeyValue::new(key, value));
        }
        self
    }

    /// Adds several attributes.
    pub fn attributes<A>(mut self, attributes: A) -> Self
    where
        A: IntoIterator,
        A::Item: Into<KeyValue>,
    {
        if self.pipeline.is_some() {
            self.attributes.extend(attributes.into_iter().map(Into::into));
        }
        self
    }

    /// Continues a trace that arrived from another service ([`crate::extract`]). An invalid
    /// remote parent (no or malformed headers) starts a new trace.
    pub fn parent(mut self, remote: &RemoteParent) -> Self {
        self.parent = Parent::Remote(remote.clone());
        self
    }

    /// Hangs the span under `parent` instead of the current span.
    pub fn child_of(mut self, parent: &Span) -> Self {
        self.parent = Parent::Explicit(parent.context().cloned());
        self
    }

    pub(crate) fn parent_context(mut self, cx: Context) -> Self {
        self.parent = Parent::Explicit(Some(cx));
        self
    }

    /// Starts a new trace, ignoring the current span.
    pub fn root(mut self) -> Self {
        self.parent = Parent::Root;
        self
    }

    /// Links this span to another one (rendered as FOLLOWS_FROM in Jaeger).
    pub fn link(mut self, other: &Span) -> Self {
        if let Some(cx) = other.context() {
            let sc = cx.span().span_context().clone();
            if sc.is_valid() {
                self.links.push(opentelemetry::trace::Link::with_context(sc));
            }
        }
        self
    }

    /// Starts the span without making it current.
    pub fn start(self) -> Span {
        let Some(pipeline) = self.pipeline.filter(|p| p.is_active()) else {
            return Span::none();
        };
        let parent_cx = match self.parent {
            Parent::Current => Context::current(),
            Parent::Root => Context::new(),
            Parent::Remote(remote) => remote.to_context(),
            Parent::Explicit(cx) => cx.unwrap_or_default(),
        };
        let limit = crate::manager::value_limit();
        let builder = opentelemetry::trace::SpanBuilder::from_name(self.name)
            .with_kind(self.kind.into_otel())
            .with_attributes(self.attributes.into_iter().map(|kv| kv.into_otel(limit)))
            .with_links(self.links);
        let span = pipeline.tracer().build_with_context(builder, &parent_cx);
        pipeline.count_started();
        Span::from_context(parent_cx.with_span(span))
    }

    /// Starts the span and makes it current until the guard drops.
    pub fn entered(self) -> SpanGuard {
        self.start().enter()
    }
}
