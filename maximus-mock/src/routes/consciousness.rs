//! `/api/consciousness/*`: arousal, ESGT events, metrics and safety.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, parse_json};
use crate::state::AppState;

/// Events listed when `limit` is not given.
const DEFAULT_EVENT_LIMIT: usize = 20;

pub(super) async fn state(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.world().consciousness_state())
}

pub(super) async fn arousal(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.world().arousal.to_json())
}

#[derive(Debug, Deserialize)]
struct AdjustRequest {
    target_level: f64,
}

/// Moves arousal to `target_level`, which must lie in 0..=1.
pub(super) async fn adjust_arousal(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let AdjustRequest { target_level } = parse_json(&body)?;
    if !(0.0..=1.0).contains(&target_level) {
        return Err(ApiError::invalid(format!(
            "target_level must be between 0.0 and 1.0, got {target_level}"
        )));
    }
    let mut world = state.world();
    world.arousal.adjust_to(target_level);
    Ok(Json(world.arousal.to_json()))
}

pub(super) async fn safety_status(State(state): State<Arc<AppState>>) -> Json<Value> {
    let world = state.world();
    Json(json!({
        "enabled": true,
        "violations_count": 0,
        "emergency_shutdown_available": world.shutdown.is_none(),
    }))
}

#[derive(Debug, Deserialize)]
struct ShutdownRequest {
    reason: String,
}

/// Stops ESGT ignition; health and state report the shutdown from then on.
pub(super) async fn emergency_shutdown(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ShutdownRequest { reason } = parse_json(&body)?;
    if reason.trim().is_empty() {
        return Err(ApiError::invalid("field `reason` must not be empty"));
    }
    log::info!("maximus-mock: emergency shutdown requested: {reason}");
    let record = state.world().emergency_shutdown(reason);
    Ok(Json(json!(record)))
}

#[derive(Debug, Deserialize)]
struct TriggerRequest {
    event_type: String,
    #[serde(default)]
    data: Value,
}

pub(super) async fn trigger_esgt(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let TriggerRequest { event_type, data } = parse_json(&body)?;
    if event_type.trim().is_empty() {
        return Err(ApiError::invalid("field `event_type` must not be empty"));
    }
    let event = state.world().trigger_esgt(&event_type, data);
    Ok(Json(json!(event)))
}

#[derive(Debug, Deserialize)]
pub(super) struct EventsQuery {
    limit: Option<usize>,
}

/// The newest events first, at most `limit` of them: a bare list, as the
/// service's `response_model=list[ESGTEventResponse]` answers.
pub(super) async fn esgt_events(
    State(state): State<Arc<AppState>>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(EventsQuery { limit }) = query?;
    let events = state.world().recent_events(limit.unwrap_or(DEFAULT_EVENT_LIMIT));
    Ok(Json(json!(events)))
}

pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.world().metrics())
}
