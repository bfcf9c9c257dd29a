//! `GET /health`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::AppState;

/// Components and their status; the consciousness ones go down with an
/// emergency shutdown.
pub(super) async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    let world = state.world();
    let (status, message, core) = match &world.shutdown {
        None => ("healthy", "MAXIMUS AI is operational".to_owned(), "healthy"),
        Some(record) => (
            "degraded",
            format!("Emergency shutdown in effect: {}", record.reason),
            "shutdown",
        ),
    };
    Json(json!({
        "status": status,
        "message": message,
        "components": {
            "maximus_ai": "healthy",
            "reasoning_engine": "healthy",
            "memory_system": "healthy",
            "ethical_guardian": "healthy",
            "governance": "healthy",
            "consciousness": core,
            "tig_fabric": core,
            "esgt_coordinator": core,
        },
    }))
}
