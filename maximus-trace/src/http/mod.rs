//! HTTP and gRPC middleware: the spans of requests served and sent.
//!
//! - `ServerLayer` (feature `tower`): a server span per request for axum, hyper-util and
//!   tonic servers, continuing the caller's trace.
//! - `ClientLayer` (feature `tower`): a client span per request for tower clients (tonic
//!   channels, hyper-util's client), its context sent in the request's headers.
//! - `TracingMiddleware` (feature `reqwest`): the same for `reqwest` through
//!   `reqwest-middleware`.
//! - [`ClientSpan`] and [`SemConv`]: what they share, for a client of your own (the
//!   `maximus-client` crate's spans are built with them).
//!
//! Spans follow OpenTelemetry's stable HTTP and RPC semantic conventions; URLs are redacted
//! ([`crate::redact`]) and no header but `User-Agent` is recorded, so credentials never
//! become attributes.

mod client;
mod semconv;

#[cfg(feature = "tower")]
mod body;
#[cfg(feature = "tower")]
mod client_layer;
#[cfg(feature = "tower")]
mod exchange;
#[cfg(feature = "tower")]
mod future;
#[cfg(feature = "tower")]
mod grpc;
#[cfg(feature = "reqwest")]
mod reqwest;
#[cfg(feature = "tower")]
mod server;

pub use client::ClientSpan;
pub use semconv::SemConv;

#[cfg(feature = "tower")]
pub use body::ResponseBody;
#[cfg(feature = "tower")]
pub use client_layer::{ClientLayer, ClientService};
#[cfg(feature = "tower")]
pub use exchange::NotSent;
#[cfg(feature = "tower")]
pub use future::ResponseFuture;
#[cfg(feature = "reqwest")]
pub use reqwest::TracingMiddleware;
#[cfg(feature = "tower")]
pub use server::{RouteLookup, ServerLayer, ServerService};
