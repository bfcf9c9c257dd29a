//! The record of every request the mock received.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode};

use crate::state::AppState;

/// Largest request body the mock accepts (and records).
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// One request as the mock received it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The request method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The query string without its `?`, if there was one.
    pub query: Option<String>,
    /// All request headers, as sent.
    pub headers: HeaderMap,
    /// The request body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of header `name`, if present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body as text, if it is valid UTF-8.
    pub fn body_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }
}

/// Requests in arrival order.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: Mutex<Vec<RecordedRequest>>,
}

impl RequestLog {
    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn push(&self, request: RecordedRequest) {
        self.lock().push(request);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Records the request (buffering its body) before anything else can answer
/// or fail it, so faulted requests are recorded too.
pub(crate) async fn record(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        let detail = serde_json::json!({ "detail": "request body too large or unreadable" });
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(detail)).into_response();
    };
    state.requests.push(RecordedRequest {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body: bytes.to_vec(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
