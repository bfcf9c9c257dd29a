//! Endpoint groups of the API, borrowed from a [`crate::MaximusClient`].

mod consciousness;
mod governance;

pub use consciousness::Consciousness;
pub use governance::Governance;
