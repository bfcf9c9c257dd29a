use serde::{Deserialize, Serialize};

use super::{RangeViolation, Validate};

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `healthy`, `degraded`, ...
    pub status: String,
    /// A human-readable summary.
    #[serde(default)]
    pub message: Option<String>,
    /// Per-component status: any JSON object.
    #[serde(default)]
    pub components: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Validate for HealthResponse {
    fn validate(&self) -> Result<(), RangeViolation> {
        Ok(())
    }
}
