//! The one path generated code calls (`#[trace_span]`, `span!`). Not public API: it may
//! change in any release.

use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;

pub use crate::manager::is_enabled as enabled;
pub use crate::model::SpanKind;
pub use crate::model::{IntoValue, KeyValue, ToValue, Value};
pub use crate::span::{Span, SpanGuard};
pub use core;

pub use crate::context::DeferredSpan;
use crate::context::InSpan;
use crate::engine::start;
use crate::model::SmallStr;

/// `span!`: a current span, attributes evaluated only when the span is recorded.
#[inline]
pub fn guard<const N: usize>(
    name: impl Into<Cow<'static, str>>,
    attributes: impl FnOnce() -> [KeyValue; N],
) -> SpanGuard {
    enter(name, SpanKind::Internal, attributes).unwrap_or_else(SpanGuard::none)
}

/// The guard of a sync `#[trace_span]` function: `None` when tracing is off, so the off path
/// is one relaxed load and a branch, and the exit one more branch.
#[inline(always)]
pub fn enter<const N: usize>(
    name: impl Into<Cow<'static, str>>,
    kind: SpanKind,
    attributes: impl FnOnce() -> [KeyValue; N],
) -> Option<SpanGuard> {
    if !enabled() {
        return None;
    }
    // Under a span that is not sampled: a few instructions, inline.
    if start::shares_current_frame() {
        return Some(SpanGuard::local(crate::engine::SpanId::SHARED_FRAME));
    }
    Some(enter_enabled(name, kind, attributes))
}

/// The recording half of [`enter`], out of line so the callers' off path stays a load and a
/// branch. Generic over the name's type, so a literal name compiles to the literal path.
#[inline(never)]
fn enter_enabled<const N: usize>(
    name: impl Into<Cow<'static, str>>,
    kind: SpanKind,
    attributes: impl FnOnce() -> [KeyValue; N],
) -> SpanGuard {
    let Some(route) = crate::engine::route::global() else {
        return SpanGuard::none();
    };
    // A start under the current span without links, as every macro's is: it enters
    // `start`'s branch for that directly.
    let span_id = match name.into() {
        // Every `#[trace_span]` and nearly every `span!` name is a literal.
        Cow::Borrowed(name) => start::under_current(route, name, kind, attributes),
        Cow::Owned(name) => enter_owned_name(route, name, kind, attributes),
    };
    span_id.map_or_else(SpanGuard::none, SpanGuard::local)
}

#[cold]
#[inline(never)]
fn enter_owned_name<const N: usize>(
    route: &'static crate::engine::route::Route,
    name: String,
    kind: SpanKind,
    attributes: impl FnOnce() -> [KeyValue; N],
) -> Option<crate::engine::SpanId> {
    let spec = start::Spec {
        name: SmallStr::from_string(name),
        kind,
        parent: start::Parentage::Current,
        attributes,
        links: Vec::new(),
    };
    let route = crate::engine::route::RouteRef::Global(route);
    match start::start(route, spec, start::Placement::Current) {
        start::Started::Current(span_id) => Some(span_id),
        _ => None,
    }
}

/// Marks the guard's span failed when the function returned `Err`.
#[inline]
pub fn record_guard_result<T, E: Display>(guard: &Option<SpanGuard>, result: &Result<T, E>) {
    if let (Some(guard), Err(error)) = (guard, result) {
        record_err(guard.span(), error);
    }
}

/// Starts a span under the current one, not made current; the disabled path is one
/// relaxed load.
#[inline]
pub fn start<const N: usize>(
    name: impl Into<Cow<'static, str>>,
    kind: SpanKind,
    attributes: impl FnOnce() -> [KeyValue; N],
) -> Span {
    if !enabled() {
        return Span::none();
    }
    crate::get_tracing()
        .span_builder(name)
        .kind(kind)
        .attributes(attributes())
        .start()
}

/// An attribute from a literal: a string literal is kept borrowed (no allocation).
#[inline]
pub fn attribute(key: &'static str, value: impl Literal) -> KeyValue {
    KeyValue {
        key: crate::Key::from_static(key),
        value: value.literal_value(),
    }
}

/// The types of literals an attribute value can be written as.
pub trait Literal {
    /// The attribute value of the literal.
    fn literal_value(self) -> Value;
}

impl Literal for &'static str {
    #[inline]
    fn literal_value(self) -> Value {
        Value::String(Cow::Borrowed(self))
    }
}

macro_rules! literal_by_value {
    ($($t:ty),*) => {$(
        impl Literal for $t {
            #[inline]
            fn literal_value(self) -> Value {
                self.into_value()
            }
        }
    )*};
}
literal_by_value!(
    bool, char, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

/// An attribute from a borrowed expression, converted where the user wrote it so a type
/// that is not an attribute value is reported there.
#[inline]
pub fn attribute_ref<V: ToValue + ?Sized>(key: &'static str, value: &V) -> KeyValue {
    KeyValue::new(key, value.to_value())
}

pub use crate::engine::exception::force_backtraces;

/// Marks the span failed when the function returned `Err`.
pub fn record_result<T, E: Display>(span: &Span, result: &Result<T, E>) {
    if let Err(error) = result {
        record_err(span, error);
    }
}

fn record_err<E: Display>(span: &Span, error: &E) {
    if !span.is_recording() {
        return;
    }
    span.record_exception(crate::engine::exception::Exception::of_display::<E>(
        error.to_string(),
    ));
}

/// The span of an `async fn` call, started now under the current span (or, with nothing
/// current, at the first poll). Nothing allocated when tracing is off or the current span
/// is not sampled.
#[inline]
pub fn defer<const N: usize>(
    name: impl Into<Cow<'static, str>>,
    kind: SpanKind,
    attributes: impl FnOnce() -> [KeyValue; N],
) -> DeferredSpan {
    if !enabled() {
        return DeferredSpan::off();
    }
    if let Some((ids, inherited)) = start::shared_frame() {
        return DeferredSpan(crate::context::Deferral::Shared(ids, inherited));
    }
    defer_enabled(name, kind, attributes)
}

#[inline(never)]
fn defer_enabled<const N: usize>(
    name: impl Into<Cow<'static, str>>,
    kind: SpanKind,
    attributes: impl FnOnce() -> [KeyValue; N],
) -> DeferredSpan {
    DeferredSpan::at_call(SmallStr::from_cow(name.into()), kind, attributes)
}

/// Runs `future` inside its span (the body of an `async fn`).
pub fn instrument<F: Future>(future: F, span: DeferredSpan) -> InSpan<F> {
    InSpan::deferred(future, span, None)
}

/// Like [`instrument`], and marks the span failed when the future resolves to `Err`.
pub fn instrument_result<F, T, E>(future: F, span: DeferredSpan) -> InSpan<F>
where
    F: Future<Output = Result<T, E>>,
    E: Display,
{
    InSpan::deferred(future, span, Some(record_result::<T, E>))
}

/// `impl Future<Output = $t>` written in this crate (edition 2024), so the returned future
/// captures every lifetime of the arguments, as an `async fn`'s does, whatever the edition
/// of the crate using `#[trace_span]`.
#[macro_export]
#[doc(hidden)]
macro_rules! __impl_future {
    ($t:ty) => { impl ::core::future::Future<Output = $t> };
}
pub use crate::__impl_future as ImplFuture;
