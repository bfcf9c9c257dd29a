//! `POST /query`: the reasoning engine.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, parse_json};
use crate::clock;
use crate::ids::stable_hash;
use crate::state::AppState;
use crate::world::round;

#[derive(Debug, Deserialize)]
struct QueryRequest {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    context: Option<Value>,
    #[serde(default)]
    max_tokens: Option<u32>,
}

/// Answers a query; the same query always gets the same confidence.
pub(super) async fn query(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let request: QueryRequest = parse_json(&body)?;
    let query = request.query.unwrap_or_default();
    let query = query.trim();
    if query.is_empty() {
        return Err(ApiError::invalid(
            "field `query` is required and must not be empty",
        ));
    }
    if request.max_tokens == Some(0) {
        return Err(ApiError::invalid("field `max_tokens` must be at least 1"));
    }
    state.world().queries_processed += 1;

    let hash = stable_hash(query);
    let confidence = 0.72 + (hash % 2500) as f64 / 10_000.0;
    let words = query.split_whitespace().count();
    let context_keys = request
        .context
        .as_ref()
        .and_then(Value::as_object)
        .map_or(0, |c| c.len());
    let search_ms = 38.0 + (hash % 90) as f64;
    let ethics_ms = 4.0 + (hash % 7) as f64;
    let processing = 0.35 + 0.012 * words as f64 + (search_ms + ethics_ms) / 1000.0;

    let answer = format!(
        "Regarding \"{query}\": the available evidence (4 knowledge-base documents, {context_keys} \
         context fields) supports a measured response. The most likely explanation is consistent \
         with recent telemetry; no ethical constraint blocks acting on it, and the recommended \
         next step is to monitor the affected systems and review the findings with an operator."
    );
    Ok(Json(json!({
        "final_response": truncate_words(&answer, request.max_tokens),
        "confidence_score": round(confidence),
        "processing_time_seconds": round(processing),
        "timestamp": clock::now(),
        // The reasoning engine's output, any JSON: an object of its steps.
        "raw_reasoning_output": {
            "thought": format!("the user asks \"{query}\""),
            "steps": [
                {"action": "knowledge_base_search", "input": query, "observation": "4 relevant documents"},
                {"action": "ethical_review", "input": "answer", "observation": "approved"},
            ],
            "final": format!("composed answer with confidence {confidence:.2}"),
        },
        "tool_execution_results": [
            {
                "tool_name": "knowledge_base_search",
                "status": "success",
                "execution_time_ms": search_ms,
                "result": {"documents_found": 4, "top_score": round(confidence + 0.02)},
            },
            {
                "tool_name": "ethical_review",
                "status": "success",
                "execution_time_ms": ethics_ms,
                "result": {"approved": true, "frameworks": ["deontology", "consequentialism"]},
            },
        ],
        "reflection_notes": format!(
            "Answer grounded in 4 retrieved documents; no contradictions found. \
             Confidence {confidence:.2} calibrated against source agreement."
        ),
    })))
}

/// Keeps at most `max_tokens` words (one word standing in for one token).
fn truncate_words(text: &str, max_tokens: Option<u32>) -> String {
    match max_tokens {
        Some(max) => text
            .split_whitespace()
            .take(max as usize)
            .collect::<Vec<_>>()
            .join(" "),
        None => text.to_owned(),
    }
}
