use serde::{Deserialize, Serialize};

use super::{RangeViolation, Validate, non_negative, unit};

/// `POST /query` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryRequest {
    /// The question.
    pub query: String,
    /// Extra context for the reasoning engine (any JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Value>,
    /// Upper bound on the answer's length.
    pub max_tokens: u32,
}

/// `POST /query` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResponse {
    /// The answer.
    pub final_response: String,
    /// 0..=1.
    pub confidence_score: f64,
    /// Server-side processing time.
    pub processing_time_seconds: f64,
    /// RFC 3339.
    pub timestamp: String,
    /// The reasoning trace.
    #[serde(default)]
    pub raw_reasoning_output: Option<String>,
    /// What each tool returned.
    #[serde(default)]
    pub tool_execution_results: Vec<serde_json::Value>,
    /// Self-reflection notes.
    #[serde(default)]
    pub reflection_notes: Vec<serde_json::Value>,
}

impl Validate for QueryResponse {
    fn validate(&self) -> Result<(), RangeViolation> {
        unit("confidence_score", self.confidence_score)?;
        non_negative("processing_time_seconds", self.processing_time_seconds)
    }
}
