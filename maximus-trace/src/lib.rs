//! Distributed tracing for Rust services, exporting to Jaeger or any OTLP backend.
//!
//! ```no_run
//! use maximus_trace::{span, trace_span};
//!
//! #[trace_span("process_order", order_type = "premium")]
//! fn process_order(id: u64) -> Result<(), std::io::Error> {
//!     let _span = span!("validate", order.id = id);
//!     Ok(())
//! }
//!
//! let _guard = maximus_trace::init_from_env("order-service")?;
//! process_order(7)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Data flows one way: user code → span guard → this thread's span stack and buffer →
//! (every 64 spans, or when the export thread collects) → export queue → export thread
//! (conversion to OpenTelemetry `SpanData`) → exporter → wire. Nothing on the caller's side
//! waits on the network, locks, or allocates per span.
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod builder;
mod config;
mod context;
mod correlation;
mod engine;
mod env;
pub mod export;
pub mod http;
#[cfg(feature = "log")]
pub mod logs;
mod manager;
pub mod metrics;
mod model;
mod pipeline;
pub mod propagation;
pub mod redact;
mod span;
mod stats;
mod tracestate;
#[cfg(feature = "tracing")]
pub mod tracing_layer;

#[doc(hidden)]
pub mod __private;

pub use builder::{TracingBuilder, init_from_env};
pub use config::{ConfigError, Exporter, ResolvedConfig};
pub use context::{
    FutureExt, InSpan, WithContext, add_event, current_span_id, current_trace_id, record_error,
    set_attribute, set_status,
};
pub use correlation::TraceIds;
pub use engine::bridge::otel_context;
pub use manager::{TracingGuard, TracingManager, get_tracing, is_enabled};
pub use metrics::MetricsSnapshot;
pub use model::{ArrayElement, IntoValue, Key, KeyValue, SpanKind, Status, ToValue, Value};
pub use pipeline::FlushError;
pub use propagation::{RemoteParent, extract, extract_from, inject, inject_into};
pub use span::{Span, SpanBuilder, SpanGuard, SpanRef};
pub use stats::Stats;

/// Traces a function: `#[trace_span]`, `#[trace_span("name", key = value)]`. See the
/// README's "The attribute" section for options and error handling.
pub use maximus_trace_macros::trace_span;

/// Starts a span under the current one and makes it current until the returned
/// [`SpanGuard`] drops; then the span ends.
///
/// ```
/// # use maximus_trace::span;
/// let user_id = 123;
/// let _span = span!("process_user_data", user_id = user_id, "http.method" = "GET", db.system = "postgres");
/// ```
///
/// Keys are identifiers, dotted names or string literals; values are any expression whose
/// type converts into an attribute value. When tracing is off the values are not evaluated.
#[macro_export]
macro_rules! span {
    ($name:expr $(,)?) => {
        $crate::__private::guard($name, || [])
    };
    ($name:expr, $($attrs:tt)+) => {
        $crate::__private::guard($name, || $crate::__span_attributes!(@acc [] $($attrs)+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __span_attributes {
    (@acc [$($out:expr,)*]) => { [$($out,)*] };
    // Literal values first: a string literal stays borrowed, with no allocation.
    (@acc [$($out:expr,)*] $k0:ident $(. $kn:ident)* = $v:literal $(, $($rest:tt)*)?) => {
        $crate::__span_attributes!(@acc [
            $($out,)*
            $crate::__private::attribute(concat!(stringify!($k0) $(, ".", stringify!($kn))*), $v),
        ] $($($rest)*)?)
    };
    (@acc [$($out:expr,)*] $k:literal = $v:literal $(, $($rest:tt)*)?) => {
        $crate::__span_attributes!(@acc [$($out,)* $crate::__private::attribute($k, $v),] $($($rest)*)?)
    };
    (@acc [$($out:expr,)*] $k0:ident $(. $kn:ident)* = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__span_attributes!(@acc [
            $($out,)*
            $crate::KeyValue::new(concat!(stringify!($k0) $(, ".", stringify!($kn))*), $v),
        ] $($($rest)*)?)
    };
    (@acc [$($out:expr,)*] $k:literal = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__span_attributes!(@acc [$($out,)* $crate::KeyValue::new($k, $v),] $($($rest)*)?)
    };
}
