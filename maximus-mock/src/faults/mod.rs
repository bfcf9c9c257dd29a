//! Fault injection: what can go wrong, and which requests it applies to.

mod out_of_range;
mod respond;

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use http::{Method, StatusCode};

pub(crate) use respond::apply;

/// A way for the mock to misbehave on one route.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with `code` and `body` (sent as `application/json` when not
    /// empty), and a `Retry-After: <seconds>` header when `retry_after` is set.
    Status {
        /// The status code to answer with.
        code: StatusCode,
        /// The response body, sent verbatim.
        body: String,
        /// Seconds for the `Retry-After` header.
        retry_after: Option<u32>,
    },
    /// Wait this long, then answer normally.
    Latency(Duration),
    /// Close the TCP connection (with a reset) without sending any response.
    DropConnection,
    /// Answer `200 OK` with a body that is not valid JSON.
    MalformedBody,
    /// Answer `200 OK` with the normal JSON, except that its numbers break their
    /// documented ranges (`arousal_level: 3.0`, negative counts and durations).
    /// Routes whose answers hold no numbers are unchanged.
    OutOfRange,
    /// Send the headers at once, then the normal body one byte at a time with
    /// `chunk_interval` between bytes.
    SlowDrip {
        /// Pause between two bytes.
        chunk_interval: Duration,
    },
    /// Answer `200 OK` with a JSON body of exactly `bytes` bytes (for
    /// `bytes >= 11`), streamed in chunks without a `Content-Length`.
    HugeBody {
        /// Size of the body.
        bytes: usize,
    },
}

impl Fault {
    /// A [`Fault::Status`] with a FastAPI-style JSON body
    /// (`{"detail": "Service Unavailable"}`) and no `Retry-After`.
    pub fn status(code: StatusCode) -> Self {
        Self::Status {
            code,
            body: detail_body(code),
            retry_after: None,
        }
    }

    /// A [`Fault::Status`] answering `code` with `body` verbatim: to replay a
    /// body recorded from another backend (`Fault::respond(StatusCode::OK, recorded)`).
    pub fn respond(code: StatusCode, body: impl Into<String>) -> Self {
        Self::Status {
            code,
            body: body.into(),
            retry_after: None,
        }
    }

    /// The same fault with a `Retry-After` header; other faults are unchanged.
    #[must_use]
    pub fn with_retry_after(self, seconds: u32) -> Self {
        match self {
            Self::Status { code, body, .. } => Self::Status {
                code,
                body,
                retry_after: Some(seconds),
            },
            other => other,
        }
    }
}

/// `{"detail": "<reason phrase>"}`, the backend's error body.
pub(crate) fn detail_body(code: StatusCode) -> String {
    let reason = code.canonical_reason().unwrap_or("Error");
    serde_json::json!({ "detail": reason }).to_string()
}

/// One injected fault and how many more requests it applies to.
#[derive(Debug)]
struct Rule {
    method: Method,
    path: String,
    fault: Fault,
    /// `None` for a fault that applies forever.
    remaining: Option<usize>,
}

/// The injected faults, in the order they were injected.
///
/// A request takes the first rule for its method and path: a rule limited to
/// `n` requests is removed after its `n`th use, so rules injected one after
/// another script a sequence ("two 503s, then one dropped connection, then
/// normal answers").
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    rules: Mutex<Vec<Rule>>,
}

impl FaultTable {
    /// Adds a rule for `times` requests (`None`: forever).
    pub(crate) fn inject(&self, method: Method, path: &str, fault: Fault, times: Option<usize>) {
        if times == Some(0) {
            return;
        }
        let path = path.split('?').next().unwrap_or_default().to_owned();
        log::debug!("maximus-mock: injecting {fault:?} on {method} {path} ({times:?} times)");
        self.lock().push(Rule {
            method,
            path,
            fault,
            remaining: times,
        });
    }

    /// The fault for this request, if any, using up one of its applications.
    pub(crate) fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut rules = self.lock();
        let index = rules
            .iter()
            .position(|rule| rule.method == method && rule.path == path)?;
        let rule = &mut rules[index];
        let fault = rule.fault.clone();
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                rules.remove(index);
            }
        }
        Some(fault)
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_rules_run_out_in_injection_order() {
        let table = FaultTable::default();
        table.inject(Method::GET, "/health", Fault::MalformedBody, Some(2));
        table.inject(Method::GET, "/health", Fault::DropConnection, Some(1));
        let taken: Vec<_> = (0..4).map(|_| table.take(&Method::GET, "/health")).collect();
        assert_eq!(
            taken,
            [
                Some(Fault::MalformedBody),
                Some(Fault::MalformedBody),
                Some(Fault::DropConnection),
                None
            ]
        );
    }

    #[test]
    fn rules_match_method_and_path_without_query() {
        let table = FaultTable::default();
        table.inject(Method::POST, "/query?x=1", Fault::MalformedBody, None);
        assert_eq!(table.take(&Method::GET, "/query"), None);
        assert_eq!(table.take(&Method::POST, "/query"), Some(Fault::MalformedBody));
        assert_eq!(table.take(&Method::POST, "/query"), Some(Fault::MalformedBody));
    }
}
