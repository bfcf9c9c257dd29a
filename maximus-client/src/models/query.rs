use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{RangeViolation, Timestamp, Validate, non_negative, unit};

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
    /// When the answer was made.
    pub timestamp: Timestamp,
    /// The reasoning engine's own output: any JSON, usually an object (steps, thoughts, the
    /// tools it chose). Open: its shape follows the engine, not this API.
    #[serde(default)]
    pub raw_reasoning_output: Option<Value>,
    /// What each tool returned: a list of objects (`tool_name`, `status`, `result`, ...).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tool_execution_results: Vec<Value>,
    /// The engine's reflection on its answer, when it made one, as text. Reflection engines
    /// also write structured notes; they are rendered, not refused: a list gives one line per
    /// note (each a string as is, anything else as compact JSON), and an empty list `None`; an
    /// object gives its compact JSON (`serde_json::from_str` reads it back). A bare number or
    /// bool is not a note and is a decode error.
    #[serde(default, deserialize_with = "notes_as_text")]
    pub reflection_notes: Option<String>,
}

impl QueryResponse {
    /// The name of each tool the engine ran (`tool_name` of each result that has one).
    pub fn tools_used(&self) -> impl Iterator<Item = &str> {
        self.tool_execution_results
            .iter()
            .filter_map(|r| r.get("tool_name").and_then(Value::as_str))
    }
}

/// `null` reads as an empty list.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Value>, D::Error> {
    Ok(Option::<Vec<Value>>::deserialize(deserializer)?.unwrap_or_default())
}

/// `reflection_notes` as text (see the field).
fn notes_as_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    use serde::de::{Error, Unexpected};
    let compact = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match Option::<Value>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(Value::Array(notes)) if notes.is_empty() => Ok(None),
        Some(Value::Array(notes)) => Ok(Some(notes.iter().map(compact).collect::<Vec<_>>().join("\n"))),
        Some(object @ Value::Object(_)) => Ok(Some(object.to_string())),
        Some(Value::Bool(flag)) => Err(D::Error::invalid_type(Unexpected::Bool(flag), &NOTES)),
        Some(Value::Number(n)) => Err(D::Error::invalid_type(
            Unexpected::Other(&format!("number `{n}`")),
            &NOTES,
        )),
        Some(Value::Null) => Ok(None),
    }
}

/// What `reflection_notes` expects, for its errors.
const NOTES: &str = "text, a list of notes or an object";

impl Validate for QueryResponse {
    fn validate(&self) -> Result<(), RangeViolation> {
        unit("confidence_score", self.confidence_score)?;
        non_negative("processing_time_seconds", self.processing_time_seconds)
    }
}
