//! The outcome of a span's operation.

use std::borrow::Cow;

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

    pub(crate) fn into_otel(self) -> opentelemetry::trace::Status {
        match self {
            Status::Unset => opentelemetry::trace::Status::Unset,
            Status::Ok => opentelemetry::trace::Status::Ok,
            Status::Error { description } => opentelemetry::trace::Status::error(description),
        }
    }
}
