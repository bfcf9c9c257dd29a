use serde::{Deserialize, Serialize};

use super::{HealthStatus, RangeViolation, Validate};

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `healthy`, `degraded`, ...
    pub status: HealthStatus,
    /// A human-readable summary.
    #[serde(default)]
    pub message: Option<String>,
    /// Per-component status: any JSON object.
    #[serde(default)]
    pub components: Option<serde_json::Map<String, serde_json::Value>>,
}

impl HealthResponse {
    /// The status of component `name`: its value when a string (`"healthy"`), or its
    /// `status` field when an object (`{"status": "healthy", ...}`).
    pub fn component_status(&self, name: &str) -> Option<&str> {
        let component = self.components.as_ref()?.get(name)?;
        component
            .as_str()
            .or_else(|| component.get("status").and_then(serde_json::Value::as_str))
    }
}

impl Validate for HealthResponse {
    fn validate(&self) -> Result<(), RangeViolation> {
        Ok(())
    }
}
