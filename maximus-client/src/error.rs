//! The one error type of the client, with predicates instead of string matching.

use std::fmt;

use http::StatusCode;

use crate::models::RangeViolation;

/// What went wrong with a call to the MAXIMUS API.
#[derive(Debug, thiserror::Error)]
#[error("{kind} ({method} {url})")]
pub struct Error {
    kind: Kind,
    method: String,
    /// Redacted: never holds credentials.
    url: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Builder(String),
    Connect {
        attempts: u32,
    },
    Timeout,
    Api {
        status: StatusCode,
        body: String,
    },
    /// The body is not the documented JSON; `field` is the path of the culprit when known
    /// (`tig_metrics.density`, `events[2].timestamp`).
    Decode {
        field: Option<String>,
        why: String,
    },
    Range(RangeViolation),
    TooLarge {
        limit: usize,
    },
    Request,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Builder(why) => write!(f, "invalid client configuration: {why}"),
            Kind::Connect { attempts } => write!(f, "could not connect after {attempts} attempts"),
            Kind::Timeout => f.write_str("request timed out"),
            Kind::Api { status, body } => write!(f, "API error {status}: {}", preview(body)),
            Kind::Decode {
                field: Some(field),
                why,
            } => {
                write!(f, "response does not decode: at `{field}`: {why}")
            }
            Kind::Decode { field: None, why } => write!(f, "response does not decode: {why}"),
            Kind::Range(v) => write!(
                f,
                "response does not decode: field `{}` = {} is out of range (expected {})",
                v.field, v.value, v.expected
            ),
            Kind::TooLarge { limit } => write!(f, "response body exceeds the {limit}-byte limit"),
            Kind::Request => f.write_str("request failed"),
        }
    }
}

/// At most 512 characters of an error body in messages.
fn preview(body: &str) -> &str {
    match body.char_indices().nth(512) {
        Some((i, _)) => &body[..i],
        None => body,
    }
}

impl Error {
    pub(crate) fn new(kind: Kind, method: &str, url: &str) -> Self {
        Error {
            kind,
            method: method.to_owned(),
            url: url.to_owned(),
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn builder(why: impl Into<String>) -> Self {
        Error::new(Kind::Builder(why.into()), "", "")
    }

    /// The connection could not be established (after every retry).
    pub fn is_connect(&self) -> bool {
        matches!(self.kind, Kind::Connect { .. })
    }

    /// The request or the response did not finish within the timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::Timeout)
    }

    /// The server answered with an error status.
    pub fn is_api(&self) -> bool {
        matches!(self.kind, Kind::Api { .. })
    }

    /// The response was not the documented JSON, or broke a documented range.
    pub fn is_decode(&self) -> bool {
        matches!(
            self.kind,
            Kind::Decode { .. } | Kind::Range(_) | Kind::TooLarge { .. }
        )
    }

    /// The client was configured wrongly (bad URL, unreadable certificate, ...).
    pub fn is_builder(&self) -> bool {
        matches!(self.kind, Kind::Builder(_))
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<StatusCode> {
        match &self.kind {
            Kind::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The body of an API error.
    pub fn body(&self) -> Option<&str> {
        match &self.kind {
            Kind::Api { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The field a decode error is about, as a path: out of range (`arousal_level`),
    /// missing, or of the wrong type (`tig_metrics.density`, `events[2].timestamp`).
    pub fn field(&self) -> Option<&str> {
        match &self.kind {
            Kind::Range(v) => Some(&v.field),
            Kind::Decode { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The request's URL, with credentials and secret parameters redacted.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
