//! `/api/v1/governance/*`: decisions awaiting an operator, sessions, statistics.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, parse_json};
use crate::state::AppState;
use crate::world::{ResolveError, Verdict};

#[derive(Debug, Deserialize)]
pub(super) struct PendingQuery {
    operator_id: Option<String>,
}

/// Pending decisions; with `operator_id`, those assigned to that operator or
/// to nobody.
pub(super) async fn pending(
    State(state): State<Arc<AppState>>,
    query: Result<Query<PendingQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(PendingQuery { operator_id }) = query?;
    let decisions = state.world().pending(operator_id.as_deref());
    Ok(Json(json!({ "decisions": decisions })))
}

pub(super) async fn decision(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let world = state.world();
    let decision = world
        .decision(&id)
        .ok_or_else(|| ApiError::not_found(format!("decision {id} not found")))?;
    Ok(Json(json!(decision)))
}

#[derive(Debug, Deserialize)]
struct VerdictRequest {
    operator_id: String,
}

/// `POST .../decision/{id}/{approve|reject|escalate}`; the `reason` the
/// backend takes is accepted and not kept.
pub(super) async fn resolve(
    State(state): State<Arc<AppState>>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let verdict = Verdict::from_action(&action).ok_or_else(|| ApiError::not_found("Not Found"))?;
    let VerdictRequest { operator_id } = parse_json(&body)?;
    if operator_id.trim().is_empty() {
        return Err(ApiError::invalid("field `operator_id` must not be empty"));
    }
    match state.world().resolve(&id, verdict, &operator_id) {
        Ok(resolution) => Ok(Json(json!(resolution))),
        Err(ResolveError::NotFound) => Err(ApiError::not_found(format!("decision {id} not found"))),
        Err(ResolveError::AlreadyResolved(status)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("decision {id} is already {status}"),
        )),
    }
}

#[derive(Debug, Deserialize)]
struct SessionRequest {
    operator_id: String,
}

/// Opens an eight-hour operator session (`operator_name` and `role` are
/// accepted and ignored).
pub(super) async fn create_session(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let SessionRequest { operator_id } = parse_json(&body)?;
    if operator_id.trim().is_empty() {
        return Err(ApiError::invalid("field `operator_id` must not be empty"));
    }
    let session = state.world().create_session(&operator_id);
    Ok(Json(json!(session)))
}

pub(super) async fn stats(
    State(state): State<Arc<AppState>>,
    Path(operator_id): Path<String>,
) -> Json<Value> {
    Json(state.world().operator_stats(&operator_id))
}
