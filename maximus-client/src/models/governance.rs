use serde::{Deserialize, Serialize};

use super::{DecisionStatus, RangeViolation, RiskLevel, Timestamp, Validate, non_negative};

/// A decision waiting for (or given) a human verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Its id.
    pub decision_id: String,
    /// What would be done (`block_ip`, ...).
    pub action_type: String,
    /// Why.
    pub description: String,
    /// `low`, `medium`, `high`, `critical`.
    pub risk_level: RiskLevel,
    /// When it was raised.
    pub timestamp: Timestamp,
    /// Whether an operator must approve.
    pub requires_approval: bool,
    /// The operator it is assigned to.
    #[serde(default)]
    pub operator_id: Option<String>,
    /// `pending`, `approved`, ...
    #[serde(default)]
    pub status: Option<DecisionStatus>,
}

impl Validate for Decision {
    fn validate(&self) -> Result<(), RangeViolation> {
        Ok(())
    }
}

/// `GET /api/v1/governance/pending`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingDecisions {
    /// Oldest first.
    pub decisions: Vec<Decision>,
}

impl Validate for PendingDecisions {
    fn validate(&self) -> Result<(), RangeViolation> {
        Ok(())
    }
}

/// The answer to approve / reject / escalate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionResolution {
    /// The decision.
    pub decision_id: String,
    /// `approved`, `rejected`, `escalated`.
    pub status: DecisionStatus,
    /// Who decided.
    pub operator_id: String,
    /// When.
    pub timestamp: Timestamp,
}

impl Validate for DecisionResolution {
    fn validate(&self) -> Result<(), RangeViolation> {
        Ok(())
    }
}

/// An operator session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Its id.
    pub session_id: String,
    /// The operator.
    pub operator_id: String,
    /// When it began.
    pub created_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
}

impl Validate for Session {
    fn validate(&self) -> Result<(), RangeViolation> {
        Ok(())
    }
}

/// `GET /api/v1/governance/session/{operator_id}/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorStats {
    /// The operator.
    pub operator_id: String,
    /// Decisions taken.
    pub total_decisions: u64,
    /// Approved.
    pub approved: u64,
    /// Rejected.
    pub rejected: u64,
    /// Escalated.
    pub escalated: u64,
    /// Seconds per decision.
    pub avg_response_time: f64,
}

impl Validate for OperatorStats {
    fn validate(&self) -> Result<(), RangeViolation> {
        non_negative("avg_response_time", self.avg_response_time)
    }
}

/// One server-sent event of the governance stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GovernanceEvent {
    /// `decision_pending`, ...
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it was sent.
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// The decision concerned, if any.
    #[serde(default)]
    pub decision: Option<Decision>,
    /// Everything else the server sent.
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}
