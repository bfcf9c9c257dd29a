//! Typed requests and responses of the MAXIMUS API.
//!
//! Decoding follows the robustness principle: fields the client does not know are ignored;
//! objects the service documents as open (`tig_metrics`, `raw_reasoning_output`,
//! `tool_execution_results`, health components) are kept as JSON with typed accessors for
//! the fields the client knows; enumerations are read in any case and keep unknown values
//! (`Other`); timestamps are read in every form the service writes ([`Timestamp`]); optional
//! fields that are missing or `null` are `None`. What the client relies on is still checked:
//! a value outside its documented range, or a known field of the wrong type, is a decode
//! error naming the field.

mod consciousness;
mod enums;
mod governance;
mod health;
mod query;
mod timestamp;

pub use consciousness::{
    ArousalAdjustment, ArousalState, ConsciousnessState, EmergencyShutdown, EsgtEvent, EsgtEvents,
    SafetyStatus, TigMetrics,
};
pub use enums::{ArousalClassification, DecisionStatus, HealthStatus, RiskLevel, SystemHealth};
pub use governance::{
    Decision, DecisionResolution, GovernanceEvent, OperatorStats, PendingDecisions, Session,
};
pub use health::HealthResponse;
pub use query::{QueryRequest, QueryResponse};
pub use timestamp::{ParseTimestampError, Timestamp};

/// A decoded value that breaks its documented range.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeViolation {
    /// The field's path, e.g. `arousal_level` or `tig_metrics.density`.
    pub field: String,
    /// The value received.
    pub value: f64,
    /// What the field allows.
    pub expected: &'static str,
}

/// Checks the ranges a response documents.
pub(crate) trait Validate {
    fn validate(&self) -> Result<(), RangeViolation>;
}

/// A field that must lie in 0..=1.
pub(crate) fn unit(field: &str, value: f64) -> Result<(), RangeViolation> {
    within(field, value, 0.0, 1.0, "a number between 0 and 1")
}

/// A field that must be zero or positive.
pub(crate) fn non_negative(field: &str, value: f64) -> Result<(), RangeViolation> {
    within(field, value, 0.0, f64::INFINITY, "a number >= 0")
}

fn within(
    field: &str,
    value: f64,
    low: f64,
    high: f64,
    expected: &'static str,
) -> Result<(), RangeViolation> {
    if value.is_finite() && (low..=high).contains(&value) || value == f64::INFINITY && high.is_infinite() {
        Ok(())
    } else {
        Err(RangeViolation {
            field: field.to_owned(),
            value,
            expected,
        })
    }
}

#[cfg(test)]
mod tests;
