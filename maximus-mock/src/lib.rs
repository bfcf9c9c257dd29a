//! A stand-in for the MAXIMUS AI backend, for examples, tests and demos.
//!
//! [`MockMaximus`] serves the backend's endpoints on a loopback port with
//! realistic, internally consistent JSON (an approved decision leaves the
//! pending list, a triggered ESGT event shows up in the event list), records
//! every request it receives, and misbehaves on demand: see [`Fault`]. Each
//! request to a backend route is traced with `maximus-trace` as a server span
//! whose parent is the request's `traceparent`: in the global pipeline by
//! default, or in a pipeline of its own so that it reports as a separate
//! service (`maximus-core`), as the real backend does: see [`ServerTracing`].
//!
//! ```no_run
//! use std::time::Duration;
//! use maximus_mock::{Fault, Method, MockMaximus, StatusCode};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let mock = MockMaximus::start().await?;
//! // Two 503s with Retry-After, then normal answers.
//! mock.inject_times(
//!     Method::GET,
//!     "/health",
//!     Fault::status(StatusCode::SERVICE_UNAVAILABLE).with_retry_after(1),
//!     2,
//! );
//! mock.inject(Method::POST, "/query", Fault::Latency(Duration::from_millis(200)));
//! // ... point a client at mock.url() ...
//! assert!(mock.requests().iter().all(|r| r.header("traceparent").is_some()));
//! mock.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod admin;
mod clock;
mod connection;
mod faults;
mod handle;
mod ids;
mod requests;
mod routes;
mod server;
mod state;
mod tracing;
mod world;

pub use faults::Fault;
pub use handle::{MockBuilder, MockMaximus};
pub use http::{Method, StatusCode};
pub use requests::RecordedRequest;
pub use tracing::{DEFAULT_SERVICE_NAME, ServerTracing, service_name};
