//! Human-in-the-loop governance: decisions awaiting an operator, sessions and
//! per-operator statistics.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{World, round};
use crate::clock;

/// How long an operator session lasts.
const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// Actions the backend asks an operator to approve: (action, description, risk).
const PROPOSALS: &[(&str, &str, &str)] = &[
    (
        "block_ip",
        "Block outbound traffic to 203.0.113.47 after 14 failed SSH logins in 60 s",
        "high",
    ),
    (
        "quarantine_host",
        "Quarantine workstation WS-0142: ransomware-like file encryption pattern detected",
        "critical",
    ),
    (
        "update_firewall_rule",
        "Tighten ingress rule fw-edge-07 to drop unsolicited UDP on port 1900",
        "medium",
    ),
    (
        "rotate_credentials",
        "Rotate API keys of the billing integration after a leaked-secret alert",
        "low",
    ),
    (
        "disable_account",
        "Disable service account svc-backup: interactive login from an unseen network",
        "high",
    ),
];

/// A proposed action and where it stands.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Decision {
    pub decision_id: String,
    pub action_type: String,
    pub description: String,
    pub risk_level: String,
    pub timestamp: String,
    pub requires_approval: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
    /// `pending`, `approved`, `rejected` or `escalated`.
    pub status: &'static str,
    #[serde(skip)]
    pub created: SystemTime,
}

/// What an operator can do with a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Approve,
    Reject,
    Escalate,
}

impl Verdict {
    /// The verdict named by the last path segment (`approve`, `reject`, `escalate`).
    pub(crate) fn from_action(action: &str) -> Option<Self> {
        match action {
            "approve" => Some(Self::Approve),
            "reject" => Some(Self::Reject),
            "escalate" => Some(Self::Escalate),
            _ => None,
        }
    }

    fn status(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
            Self::Escalate => "escalated",
        }
    }
}

/// The answer to an approve, reject or escalate.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Resolution {
    pub decision_id: String,
    pub status: &'static str,
    pub operator_id: String,
    pub timestamp: String,
}

/// Why a decision could not be resolved.
#[derive(Debug)]
pub(crate) enum ResolveError {
    NotFound,
    AlreadyResolved(&'static str),
}

/// An operator's authenticated session.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Session {
    pub session_id: String,
    pub operator_id: String,
    pub created_at: String,
    pub expires_at: String,
}

/// Running totals for one operator.
#[derive(Debug, Clone, Default)]
pub(crate) struct OperatorStats {
    pub approved: u64,
    pub rejected: u64,
    pub escalated: u64,
    /// Seconds between each decision's creation and its resolution, summed.
    pub response_seconds: f64,
}

impl OperatorStats {
    pub(crate) fn total(&self) -> u64 {
        self.approved + self.rejected + self.escalated
    }

    pub(crate) fn to_json(&self, operator_id: &str) -> serde_json::Value {
        let total = self.total();
        let avg = if total == 0 {
            0.0
        } else {
            self.response_seconds / total as f64
        };
        serde_json::json!({
            "operator_id": operator_id,
            "total_decisions": total,
            "approved": self.approved,
            "rejected": self.rejected,
            "escalated": self.escalated,
            "avg_response_time": round(avg),
        })
    }
}

impl World {
    /// Four decisions proposed a few minutes before boot; the first is
    /// assigned to `soc-operator-1`, the others to whoever takes them.
    pub(super) fn seed_decisions(&mut self) {
        for (age_minutes, proposal) in [12u64, 9, 5, 2].into_iter().zip(0..) {
            let created = SystemTime::now() - Duration::from_secs(age_minutes * 60);
            let operator = (proposal == 0).then(|| "soc-operator-1".to_owned());
            self.propose(proposal, created, operator);
        }
    }

    /// Adds a new pending decision (as the backend does when it needs a human)
    /// and returns it.
    pub(crate) fn propose_for(&mut self, operator_id: &str) -> Decision {
        let proposal = self.decisions.len() % PROPOSALS.len();
        self.propose(proposal, SystemTime::now(), Some(operator_id.to_owned()))
    }

    fn propose(&mut self, proposal: usize, created: SystemTime, operator_id: Option<String>) -> Decision {
        let (action, description, risk) = PROPOSALS[proposal % PROPOSALS.len()];
        let decision = Decision {
            decision_id: self.ids.uuid(),
            action_type: action.to_owned(),
            description: description.to_owned(),
            risk_level: risk.to_owned(),
            timestamp: clock::rfc3339(created),
            requires_approval: true,
            operator_id,
            status: "pending",
            created,
        };
        self.decisions.push(decision.clone());
        decision
    }

    /// Pending decisions; with an operator, only those assigned to them or to
    /// nobody.
    pub(crate) fn pending(&self, operator_id: Option<&str>) -> Vec<Decision> {
        self.decisions
            .iter()
            .filter(|d| d.status == "pending")
            .filter(|d| match (operator_id, d.operator_id.as_deref()) {
                (Some(wanted), Some(assigned)) => wanted == assigned,
                _ => true,
            })
            .cloned()
            .collect()
    }

    pub(crate) fn decision(&self, decision_id: &str) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.decision_id == decision_id)
    }

    /// Records an operator's verdict and counts it in their statistics.
    pub(crate) fn resolve(
        &mut self,
        decision_id: &str,
        verdict: Verdict,
        operator_id: &str,
    ) -> Result<Resolution, ResolveError> {
        let decision = self
            .decisions
            .iter_mut()
            .find(|d| d.decision_id == decision_id)
            .ok_or(ResolveError::NotFound)?;
        if decision.status != "pending" {
            return Err(ResolveError::AlreadyResolved(decision.status));
        }
        decision.status = verdict.status();
        let now = SystemTime::now();
        let waited = now.duration_since(decision.created).unwrap_or_default();

        let stats = self.operators.entry(operator_id.to_owned()).or_default();
        match verdict {
            Verdict::Approve => stats.approved += 1,
            Verdict::Reject => stats.rejected += 1,
            Verdict::Escalate => stats.escalated += 1,
        }
        stats.response_seconds += waited.as_secs_f64();

        Ok(Resolution {
            decision_id: decision_id.to_owned(),
            status: verdict.status(),
            operator_id: operator_id.to_owned(),
            timestamp: clock::rfc3339(now),
        })
    }

    pub(crate) fn create_session(&mut self, operator_id: &str) -> Session {
        let created = SystemTime::now();
        let session = Session {
            session_id: self.ids.uuid(),
            operator_id: operator_id.to_owned(),
            created_at: clock::rfc3339(created),
            expires_at: clock::rfc3339(created + SESSION_TTL),
        };
        self.sessions.insert(session.session_id.clone(), session.clone());
        session
    }

    /// Statistics for an operator; one who has decided nothing has zeros.
    pub(crate) fn operator_stats(&self, operator_id: &str) -> serde_json::Value {
        self.operators
            .get(operator_id)
            .cloned()
            .unwrap_or_default()
            .to_json(operator_id)
    }
}
