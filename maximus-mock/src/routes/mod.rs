//! The MAXIMUS endpoints, one file per area of the API.

mod consciousness;
mod error;
mod governance;
mod health;
mod query;
mod stream;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub(crate) use error::{ApiError, parse_json};

/// Every endpoint of the backend, with JSON 404 and 405 answers.
pub(crate) fn api() -> Router<Arc<AppState>> {
    Router::new()
        .route("/health", get(health::health))
        .route("/query", post(query::query))
        .route("/api/consciousness/state", get(consciousness::state))
        .route("/api/consciousness/arousal", get(consciousness::arousal))
        .route(
            "/api/consciousness/arousal/adjust",
            post(consciousness::adjust_arousal),
        )
        .route(
            "/api/consciousness/safety/status",
            get(consciousness::safety_status),
        )
        .route(
            "/api/consciousness/safety/emergency-shutdown",
            post(consciousness::emergency_shutdown),
        )
        .route(
            "/api/consciousness/esgt/trigger",
            post(consciousness::trigger_esgt),
        )
        .route("/api/consciousness/esgt/events", get(consciousness::esgt_events))
        .route("/api/consciousness/metrics", get(consciousness::metrics))
        .route("/api/v1/governance/pending", get(governance::pending))
        .route("/api/v1/governance/decision/{id}", get(governance::decision))
        .route(
            "/api/v1/governance/decision/{id}/{action}",
            post(governance::resolve),
        )
        .route(
            "/api/v1/governance/session/create",
            post(governance::create_session),
        )
        .route(
            "/api/v1/governance/session/{operator_id}/stats",
            get(governance::stats),
        )
        .route("/api/v1/governance/stream/{operator_id}", get(stream::decisions))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
}
