//! `/__mock/*`: control of a running mock over HTTP, for the binary. These
//! routes are neither recorded nor faulted.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::{Fault, detail_body};
use crate::routes::{ApiError, parse_json};
use crate::state::AppState;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/__mock/faults", post(inject).delete(clear_faults))
        .route(
            "/__mock/requests",
            axum::routing::get(requests).delete(clear_requests),
        )
        .route("/__mock/stream", post(configure_stream))
}

/// `{"method": "GET", "path": "/health", "times": 2, "fault": {"kind": "status", "code": 503}}`;
/// without `times` the fault applies forever.
#[derive(Debug, Deserialize)]
struct Injection {
    method: String,
    path: String,
    #[serde(default)]
    times: Option<usize>,
    fault: FaultSpec,
}

/// [`Fault`] as JSON, durations in milliseconds.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultSpec {
    Status {
        code: u16,
        #[serde(default)]
        body: Option<String>,
        #[serde(default)]
        retry_after: Option<u32>,
    },
    Latency {
        ms: u64,
    },
    DropConnection,
    MalformedBody,
    OutOfRange,
    SlowDrip {
        chunk_interval_ms: u64,
    },
    HugeBody {
        bytes: usize,
    },
}

impl FaultSpec {
    fn into_fault(self) -> Result<Fault, ApiError> {
        Ok(match self {
            Self::Status {
                code,
                body,
                retry_after,
            } => {
                let code = StatusCode::from_u16(code)
                    .map_err(|_| ApiError::invalid(format!("invalid status code {code}")))?;
                Fault::Status {
                    code,
                    body: body.unwrap_or_else(|| detail_body(code)),
                    retry_after,
                }
            }
            Self::Latency { ms } => Fault::Latency(Duration::from_millis(ms)),
            Self::DropConnection => Fault::DropConnection,
            Self::MalformedBody => Fault::MalformedBody,
            Self::OutOfRange => Fault::OutOfRange,
            Self::SlowDrip { chunk_interval_ms } => Fault::SlowDrip {
                chunk_interval: Duration::from_millis(chunk_interval_ms),
            },
            Self::HugeBody { bytes } => Fault::HugeBody { bytes },
        })
    }
}

async fn inject(State(state): State<Arc<AppState>>, body: Bytes) -> Result<StatusCode, ApiError> {
    let Injection {
        method,
        path,
        times,
        fault,
    } = parse_json(&body)?;
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| ApiError::invalid(format!("invalid method {method}")))?;
    state.faults.inject(method, &path, fault.into_fault()?, times);
    Ok(StatusCode::NO_CONTENT)
}

async fn clear_faults(State(state): State<Arc<AppState>>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

/// The request record as JSON; header values and bodies as (lossy) text.
async fn requests(State(state): State<Arc<AppState>>) -> Json<Value> {
    let requests: Vec<Value> = state
        .requests
        .snapshot()
        .iter()
        .map(|request| {
            let headers: serde_json::Map<String, Value> = request
                .headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_owned(), Value::String(value))
                })
                .collect();
            json!({
                "method": request.method.as_str(),
                "path": request.path,
                "query": request.query,
                "headers": headers,
                "body": String::from_utf8_lossy(&request.body),
            })
        })
        .collect();
    Json(json!({ "requests": requests }))
}

async fn clear_requests(State(state): State<Arc<AppState>>) -> StatusCode {
    state.requests.clear();
    StatusCode::NO_CONTENT
}

/// `{"events": 5, "interval_ms": 200}`; either may be left out.
#[derive(Debug, Deserialize)]
struct StreamSettings {
    events: Option<usize>,
    interval_ms: Option<u64>,
}

async fn configure_stream(State(state): State<Arc<AppState>>, body: Bytes) -> Result<StatusCode, ApiError> {
    let StreamSettings { events, interval_ms } = parse_json(&body)?;
    let mut world = state.world();
    if let Some(events) = events {
        world.stream.events = events;
    }
    if let Some(ms) = interval_ms {
        world.stream.interval = Duration::from_millis(ms);
    }
    Ok(StatusCode::NO_CONTENT)
}
