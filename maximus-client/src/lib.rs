//! The async client of the MAXIMUS AI backend, traced with `maximus-trace`.
//!
//! Every endpoint method is a span (named for the method) with one `api_request` client span
//! under it that covers the whole logical request, retries included; the W3C trace context
//! travels with every request, so the server's spans join the same trace.
//!
//! ```no_run
//! # async fn run() -> Result<(), maximus_client::Error> {
//! let client = maximus_client::MaximusClient::builder().base_url("http://localhost:8100").build()?;
//! let health = client.health().await?;
//! let state = client.consciousness().get_state().await?;
//! println!("{} / arousal {:.2}", health.status, state.arousal_level);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod blocking;
mod builder;
mod client;
mod error;
pub mod models;
mod request;
pub mod resources;
mod stream;

pub use builder::ClientBuilder;
pub use client::MaximusClient;
pub use error::{Error, Result};
pub use stream::EventStream;
