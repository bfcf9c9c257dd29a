//! Spans: the owned [`Span`], the [`SpanGuard`] that makes one current, and the
//! [`SpanBuilder`] that starts them.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;

use crate::engine::cell::SpanCell;
use crate::engine::handle::EndCount;
use crate::engine::record::{EventRecord, LinkRecord};
use crate::engine::route::{self, RouteRef};
use crate::engine::shared::Op;
use crate::engine::start::{self, Parentage, Placement, Spec, Started};
use crate::engine::{Handle, Inherited, Parent, RecordRef, SpanId, local};
use crate::model::{IntoValue, Key, KeyValue};
use crate::model::{SmallStr, SpanKind, Status};
use crate::propagation::RemoteParent;

macro_rules! span_operations {
    () => {
        /// Sets an attribute, keeping the value's type. Later values replace earlier ones.
        pub fn set_attribute(&self, key: impl Into<$crate::Key>, value: impl $crate::IntoValue) {
            if let Some(h) = self.recorded() {
                h.apply(Op::SetAttribute(KeyValue::new(key, value)));
            }
        }

        /// Adds a timestamped event with attributes.
        pub fn add_event<A>(&self, name: impl Into<::std::borrow::Cow<'static, str>>, attributes: A)
        where
            A: IntoIterator,
            A::Item: Into<$crate::KeyValue>,
        {
            if let Some(h) = self.recorded() {
                let event = EventRecord::new(name.into(), attributes.into_iter().map(Into::into));
                h.apply(Op::AddEvent(event));
            }
        }

        /// Sets the status (`Status::error("...")` marks the span failed).
        pub fn set_status(&self, status: $crate::Status) {
            if let Some(h) = self.recorded() {
                h.apply(Op::SetStatus(status));
            }
        }

        /// Records an error: an `exception` event with `exception.type`, `exception.message`
        /// and `exception.stacktrace` (the `source()` chain, plus a backtrace when
        /// `RUST_BACKTRACE` asks for one), and status ERROR with the error's message.
        pub fn record_error<E: ::std::error::Error + ?Sized>(&self, error: &E) {
            if let Some(h) = self.recorded() {
                for op in crate::engine::handle::error_ops(error) {
                    h.apply(op);
                }
            }
        }

        /// The W3C trace id (32 lowercase hex digits), if the span is real.
        pub fn trace_id(&self) -> Option<String> {
            self.handle().map(|h| h.ids.trace_id.to_string())
        }

        /// The W3C span id (16 lowercase hex digits), if the span is real.
        pub fn span_id(&self) -> Option<String> {
            self.handle().map(|h| h.ids.span_id.to_string())
        }

        /// True when the span is sampled and still open, so recording data on it has effect.
        pub fn is_recording(&self) -> bool {
            self.handle().is_some_and(|h| h.is_recording())
        }

        /// The handle, when the span records something (operations are skipped otherwise,
        /// without building their arguments).
        fn recorded(&self) -> Option<&Handle> {
            self.handle()
                .filter(|h| !matches!(h.record, RecordRef::Unrecorded(_)))
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

    /// Records a failure: an `exception` event and status ERROR with its message.
    pub(crate) fn record_exception(&self, exception: crate::engine::exception::Exception) {
        if let Some(h) = self.recorded() {
            let status = Status::error(exception.message().to_owned());
            h.apply(Op::AddEvent(EventRecord::exception(exception)));
            h.apply(Op::SetStatus(status));
        }
    }

    pub(crate) fn from_handle(handle: Handle) -> Self {
        Span { handle: Some(handle) }
    }

    pub(crate) fn handle(&self) -> Option<&Handle> {
        self.handle.as_ref()
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
        let Some(handle) = &self.handle else {
            return SpanGuard::none();
        };
        local::push_handle(handle);
        SpanGuard::owning(self)
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
            end_owned(handle);
        }
    }
}

/// Ends a span that is not current (or whose frame is already gone).
#[cold]
fn end_owned(handle: Handle) {
    match handle.record {
        RecordRef::Cell(cell) => {
            cell.end();
            SpanCell::recycle(cell);
        }
        RecordRef::Unrecorded(EndCount::Standalone(pipeline)) => pipeline.count_ended(),
        RecordRef::Unrecorded(EndCount::Global) => local::count(false, route::global_generation()),
        RecordRef::Unrecorded(EndCount::Done) => {}
        // Only a guard's view holds such a span, and the guard ends it.
        RecordRef::Thread(_) => {}
    }
}

/// A span that is current on this thread until the guard drops; then it ends.
///
/// Returned by [`span!`](crate::span!), [`crate::TracingManager::span`] and
/// [`SpanBuilder::entered`]. It cannot be sent to another thread (it marks this thread's
/// current span); give futures a [`Span`] with [`crate::FutureExt::in_span`] instead.
#[must_use = "the span ends as soon as the guard is dropped; bind it with `let _span = ...`"]
#[derive(Debug)]
pub struct SpanGuard {
    /// A span of this thread's stack, ended by its id (the usual guard: two words, nothing
    /// to drop but this); `INVALID` for the other kinds.
    local: SpanId,
    /// What [`SpanGuard::span`] lends: for a made-current [`Span`], that span (owned and
    /// ended by the guard); for a span of this thread's stack, a view built on first use.
    /// Dropped by hand, so an empty one costs the usual guard nothing.
    span: ManuallyDrop<OnceCell<Box<Span>>>,
    _not_send: PhantomData<*const ()>,
}

/// What [`SpanGuard::span`] lends when tracing is off.
static NO_SPAN: Span = Span::none();

impl SpanGuard {
    #[inline]
    pub(crate) fn none() -> Self {
        SpanGuard {
            local: SpanId::INVALID,
            span: ManuallyDrop::new(OnceCell::new()),
            _not_send: PhantomData,
        }
    }

    /// A guard for a span whose frame [`local::enter`] already pushed.
    #[inline]
    pub(crate) fn local(span_id: SpanId) -> Self {
        SpanGuard {
            local: span_id,
            span: ManuallyDrop::new(OnceCell::new()),
            _not_send: PhantomData,
        }
    }

    fn owning(span: Span) -> Self {
        SpanGuard {
            local: SpanId::INVALID,
            span: ManuallyDrop::new(OnceCell::from(Box::new(span))),
            _not_send: PhantomData,
        }
    }

    fn handle(&self) -> Option<&Handle> {
        self.span().handle()
    }

    /// The span behind the guard.
    pub fn span(&self) -> &Span {
        if !self.local.is_valid() {
            return self.span.get().map_or(&NO_SPAN, |s| s);
        }
        self.span
            .get_or_init(|| Box::new(Self::view_of(self.local).map_or_else(Span::none, Span::from_handle)))
    }

    /// A handle on this thread's span `span_id`; for a span sharing its parent's frame,
    /// that frame's ids, not recording.
    fn view_of(span_id: SpanId) -> Option<Handle> {
        if span_id == SpanId::SHARED_FRAME {
            return local::current().map(|h| Handle {
                record: RecordRef::Unrecorded(EndCount::Done),
                ..h
            });
        }
        local::handle_of(span_id)
    }

    /// Leaves the span (restores the previous current span) without ending it.
    pub fn exit(mut self) -> Span {
        let local = std::mem::replace(&mut self.local, SpanId::INVALID);
        if !local.is_valid() {
            let Some(owned) = self.span.take() else {
                return Span::none();
            };
            if let Some(handle) = owned.handle() {
                local::pop(handle.ids.span_id);
            }
            return *owned;
        }
        if let Some(mut view) = self.span.take() {
            view.handle = None;
        }
        if local == SpanId::SHARED_FRAME {
            // Counted as ended when it started: the span given back records nothing and
            // counts nothing.
            return Self::view_of(local).map_or_else(Span::none, Span::from_handle);
        }
        let Some(handle) = local::handle_of(local) else {
            return Span::none();
        };
        match (local::take(local), route::global()) {
            (Some(record), Some(pipeline)) => Span::from_handle(Handle {
                record: RecordRef::Cell(SpanCell::open(RouteRef::Global(pipeline), record)),
                ..handle
            }),
            // Not sampled: the frame is gone, the ids live on.
            _ => {
                local::pop(local);
                Span::from_handle(Handle {
                    record: RecordRef::Unrecorded(EndCount::Global),
                    ..handle
                })
            }
        }
    }

    span_operations!();
}

impl Drop for SpanGuard {
    #[inline]
    fn drop(&mut self) {
        if self.span.get().is_some() {
            self.drop_span();
        }
        if self.local.is_valid() && self.local != SpanId::SHARED_FRAME {
            local::exit(self.local);
        }
    }
}

impl SpanGuard {
    /// Ends an owned span, or forgets a view (the span of the stack ends by its id).
    #[cold]
    fn drop_span(&mut self) {
        if let Some(span) = self.span.get_mut() {
            if self.local.is_valid() {
                span.handle = None;
            } else {
                exit_owned(span);
            }
        }
        // SAFETY: dropped once, here; the field is not used again.
        unsafe { ManuallyDrop::drop(&mut self.span) };
    }
}

/// Takes an owned span's frame off the stack and ends the span.
#[cold]
fn exit_owned(span: &mut Span) {
    if let Some(handle) = span.handle.take() {
        local::pop(handle.ids.span_id);
        end_owned(handle);
    }
}

/// A shared reference to a span that may or may not still be open: the current span from
/// [`Span::current`], or [`Span::as_ref`]. Dropping it does not end the span, and every
/// operation on an ended span is a no-op. It can be sent to other threads: operations on a
/// span that another thread holds reach it the next time a span ends on that thread.
#[derive(Clone, Debug, Default)]
pub struct SpanRef {
    handle: Option<Handle>,
}

impl SpanRef {
    /// The span current on this thread (the innermost guard, or the span of the future
    /// being polled).
    pub fn current() -> Self {
        SpanRef {
            handle: local::current(),
        }
    }

    pub(crate) fn handle(&self) -> Option<&Handle> {
        self.handle.as_ref()
    }

    span_operations!();
}

/// Which span a new span hangs under.
#[derive(Clone, Debug, Default)]
enum ParentChoice {
    #[default]
    Current,
    Root,
    Remote(RemoteParent),
    Explicit(Option<Parent>),
}

/// Configures a span before starting it: kind, attributes, parent, links.
#[must_use = "call .start() or .entered() to start the span"]
#[derive(Debug)]
pub struct SpanBuilder {
    route: Option<RouteRef>,
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    parent: ParentChoice,
    links: Vec<LinkRecord>,
}

impl SpanBuilder {
    pub(crate) fn new(route: Option<RouteRef>, name: Cow<'static, str>) -> Self {
        SpanBuilder {
            route,
            name,
            kind: SpanKind::Internal,
            attributes: Vec::new(),
            parent: ParentChoice::Current,
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
        if self.route.is_some() {
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
        if self.route.is_some() {
            self.attributes.extend(attributes.into_iter().map(Into::into));
        }
        self
    }

    /// Continues a trace that arrived from another service ([`crate::extract`]). An invalid
    /// remote parent (no or malformed headers) starts a new trace.
    pub fn parent(mut self, remote: &RemoteParent) -> Self {
        self.parent = ParentChoice::Remote(remote.clone());
        self
    }

    /// Hangs the span under `parent` instead of the current span.
    pub fn child_of(mut self, parent: &Span) -> Self {
        self.parent = ParentChoice::Explicit(parent.handle().map(Handle::as_parent));
        self
    }

    /// Starts a new trace, ignoring the current span.
    pub fn root(mut self) -> Self {
        self.parent = ParentChoice::Root;
        self
    }

    /// Links this span to another one (rendered as FOLLOWS_FROM in Jaeger).
    pub fn link(mut self, other: &Span) -> Self {
        if let Some(h) = other.handle() {
            self.links.push(LinkRecord {
                ids: h.ids,
                trace_state: Inherited::trace_state(&h.inherited).cloned(),
            });
        }
        self
    }

    /// Which span the new one hangs under, as the engine takes it.
    fn parentage(parent: ParentChoice) -> Parentage {
        match parent {
            ParentChoice::Current => Parentage::Current,
            ParentChoice::Root => Parentage::Given(None, None),
            ParentChoice::Explicit(p) => Parentage::Given(p, None),
            ParentChoice::Remote(remote) => {
                let (parent, root_inherited) = remote.into_parent();
                Parentage::Given(parent, root_inherited)
            }
        }
    }

    /// Starts the span without making it current.
    pub fn start(self) -> Span {
        self.start_with(Vec::<KeyValue>::new)
    }

    /// Starts the span without making it current; `attributes` runs only when the span is
    /// recorded (sampled), so building their values costs nothing otherwise. They come after
    /// those given to the builder.
    pub fn start_with<I>(self, attributes: impl FnOnce() -> I) -> Span
    where
        I: IntoIterator,
        I::Item: Into<KeyValue>,
    {
        let Some(route) = self.route else {
            return Span::none();
        };
        let own = self.attributes;
        let all = move || {
            let mut all = own;
            all.extend(attributes().into_iter().map(Into::into));
            all
        };
        let spec = Spec {
            name: SmallStr::from_cow(self.name),
            kind: self.kind,
            parent: Self::parentage(self.parent),
            attributes: all,
            links: self.links,
        };
        match start::start(route, spec, Placement::Owned) {
            Started::Owned(handle) => Span::from_handle(handle),
            _ => Span::none(),
        }
    }

    /// Starts the span and makes it current until the guard drops.
    pub fn entered(self) -> SpanGuard {
        let Some(route) = self.route.filter(|r| r.is_active()) else {
            return SpanGuard::none();
        };
        let attributes = self.attributes;
        let spec = Spec {
            name: SmallStr::from_cow(self.name),
            kind: self.kind,
            parent: Self::parentage(self.parent),
            attributes: move || attributes,
            links: self.links,
        };
        match start::start(route, spec, Placement::Current) {
            Started::Current(span_id) => SpanGuard::local(span_id),
            // A standalone manager's span: owned, made current here.
            Started::Owned(handle) => Span::from_handle(handle).enter(),
            Started::NoParent(_) | Started::Nothing => SpanGuard::none(),
        }
    }
}
