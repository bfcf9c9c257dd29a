//! `tracing` integration (feature `tracing`): `tracing` spans recorded as ours
//! ([`SpanLayer`]), and log correlation: the current span's `trace_id` and `span_id` on every
//! line `tracing_subscriber::fmt` writes ([`fmt_layer`], [`TraceIdFormat`]), and `tracing`
//! events as events of the current span ([`SpanEventLayer`]).
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt as _;
//! use tracing_subscriber::util::SubscriberInitExt as _;
//!
//! tracing_subscriber::registry()
//!     .with(maximus_trace::tracing_layer::fmt_layer())   // trace_id=… span_id=… on each line
//!     .with(maximus_trace::tracing_layer::SpanLayer::new()) // spans, and events inside them
//!     .init();
//! ```
//!
//! Programs whose spans are all ours (`span!`, `#[trace_span]`, `in_span`) and that log with
//! `tracing` can use [`SpanEventLayer`] instead of [`SpanLayer`], for events only.

mod conventions;
mod entered;
mod event_layer;
mod events;
mod fields;
mod format;
mod recorded;
mod span_layer;

pub use event_layer::SpanEventLayer;
pub use format::{TraceIdFormat, fmt_layer};
pub use span_layer::SpanLayer;
