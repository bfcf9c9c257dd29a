//! `/api/v1/governance/*`: human-in-the-loop decisions and operator sessions.

use maximus_trace::trace_span;
use serde_json::json;

use crate::MaximusClient;
use crate::error::Result;
use crate::models::{Decision, DecisionResolution, OperatorStats, PendingDecisions, Session};
use crate::stream::EventStream;

/// Decisions waiting for operators, their verdicts, sessions and the live event stream.
#[derive(Clone, Copy, Debug)]
pub struct Governance<'a> {
    pub(crate) client: &'a MaximusClient,
}

impl Governance<'_> {
    /// `GET /api/v1/governance/pending[?operator_id=]`.
    #[trace_span]
    pub async fn get_pending(&self, operator_id: Option<&str>) -> Result<PendingDecisions> {
        let query: Vec<(&str, String)> = operator_id
            .map(|id| ("operator_id", id.to_owned()))
            .into_iter()
            .collect();
        self.client.get("/api/v1/governance/pending", &query).await
    }

    /// `GET /api/v1/governance/decision/{id}`.
    #[trace_span(record(decision_id))]
    pub async fn get_decision(&self, decision_id: &str) -> Result<Decision> {
        self.client
            .get(
                &format!("/api/v1/governance/decision/{}", segment(decision_id)),
                &[],
            )
            .await
    }

    /// `POST /api/v1/governance/decision/{id}/approve`.
    #[trace_span(record(decision_id))]
    pub async fn approve(
        &self,
        decision_id: &str,
        operator_id: &str,
        reason: &str,
    ) -> Result<DecisionResolution> {
        self.resolve(decision_id, "approve", operator_id, reason).await
    }

    /// `POST /api/v1/governance/decision/{id}/reject`.
    #[trace_span(record(decision_id))]
    pub async fn reject(
        &self,
        decision_id: &str,
        operator_id: &str,
        reason: &str,
    ) -> Result<DecisionResolution> {
        self.resolve(decision_id, "reject", operator_id, reason).await
    }

    /// `POST /api/v1/governance/decision/{id}/escalate`.
    #[trace_span(record(decision_id))]
    pub async fn escalate(
        &self,
        decision_id: &str,
        operator_id: &str,
        reason: &str,
    ) -> Result<DecisionResolution> {
        self.resolve(decision_id, "escalate", operator_id, reason).await
    }

    async fn resolve(
        &self,
        id: &str,
        verdict: &str,
        operator_id: &str,
        reason: &str,
    ) -> Result<DecisionResolution> {
        let path = format!("/api/v1/governance/decision/{}/{verdict}", segment(id));
        let body = json!({ "operator_id": operator_id, "reason": reason });
        self.client.post(&path, &body).await
    }

    /// `POST /api/v1/governance/session/create`.
    #[trace_span]
    pub async fn create_session(
        &self,
        operator_id: &str,
        operator_name: Option<&str>,
        role: Option<&str>,
    ) -> Result<Session> {
        let body = json!({ "operator_id": operator_id, "operator_name": operator_name, "role": role });
        self.client.post("/api/v1/governance/session/create", &body).await
    }

    /// `GET /api/v1/governance/session/{operator_id}/stats`.
    #[trace_span]
    pub async fn get_session_stats(&self, operator_id: &str) -> Result<OperatorStats> {
        let path = format!("/api/v1/governance/session/{}/stats", segment(operator_id));
        self.client.get(&path, &[]).await
    }

    /// `GET /api/v1/governance/stream/{operator_id}?session_id=`: the server-sent events as a
    /// `Stream`. Its `api_request` span stays open for the stream's life, with one
    /// `message` event per event received.
    #[trace_span]
    pub async fn stream_events(&self, operator_id: &str, session_id: &str) -> Result<EventStream> {
        let path = format!("/api/v1/governance/stream/{}", segment(operator_id));
        crate::stream::open(
            &self.client.inner,
            &path,
            &[("session_id", session_id.to_owned())],
        )
        .await
    }
}

/// Percent-encodes a value used as one path segment, so an id cannot change the path.
fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
