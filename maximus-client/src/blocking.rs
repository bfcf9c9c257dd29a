//! The blocking client: the same API for synchronous code.
//!
//! Each client owns a small current-thread runtime and runs the async client on it, as
//! `reqwest::blocking` does. Do not use it from inside an async runtime (it would block a
//! worker thread; use [`crate::MaximusClient`] there).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::models::{
    ArousalState, ConsciousnessState, Decision, DecisionResolution, EmergencyShutdown, EsgtEvent, EsgtEvents,
    GovernanceEvent, HealthResponse, OperatorStats, PendingDecisions, QueryResponse, SafetyStatus, Session,
};

/// Configures a blocking [`MaximusClient`]; the same settings as [`crate::ClientBuilder`].
#[derive(Debug, Default)]
#[must_use = "call .build() to get a client"]
pub struct ClientBuilder {
    inner: crate::ClientBuilder,
}

macro_rules! forward_settings {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        $(#[$doc])*
        pub fn $name(self, $($arg: $ty),*) -> Self {
            ClientBuilder { inner: self.inner.$name($($arg),*) }
        }
    )*};
}

impl ClientBuilder {
    forward_settings! {
        /// See [`crate::ClientBuilder::base_url`].
        base_url(url: impl Into<String>);
        /// See [`crate::ClientBuilder::timeout`].
        timeout(timeout: Duration);
        /// See [`crate::ClientBuilder::max_retries`].
        max_retries(retries: u32);
        /// See [`crate::ClientBuilder::retry_backoff`].
        retry_backoff(backoff: Duration);
        /// See [`crate::ClientBuilder::api_key`].
        api_key(key: impl Into<String>);
        /// See [`crate::ClientBuilder::jwt_token`].
        jwt_token(token: impl Into<String>);
        /// See [`crate::ClientBuilder::ca_certificate`].
        ca_certificate(path: impl Into<std::path::PathBuf>);
        /// See [`crate::ClientBuilder::client_certificate`].
        client_certificate(path: impl Into<std::path::PathBuf>);
        /// See [`crate::ClientBuilder::danger_accept_invalid_certs`].
        danger_accept_invalid_certs(accept: bool);
        /// See [`crate::ClientBuilder::max_response_bytes`].
        max_response_bytes(bytes: usize);
        /// See [`crate::ClientBuilder::environment`].
        environment(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static);
    }

    /// Builds the client and its runtime.
    pub fn build(self) -> Result<MaximusClient> {
        let client = self.inner.build()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::builder(format!("cannot start the blocking client's runtime: {e}")))?;
        Ok(MaximusClient {
            client,
            runtime: Arc::new(runtime),
        })
    }
}

/// The blocking client of the MAXIMUS AI backend. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MaximusClient {
    client: crate::MaximusClient,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl MaximusClient {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    fn run<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    /// `GET /health`.
    pub fn health(&self) -> Result<HealthResponse> {
        self.run(self.client.health())
    }

    /// `POST /query`.
    pub fn query(&self, query: &str, context: Option<Value>, max_tokens: u32) -> Result<QueryResponse> {
        self.run(self.client.query(query, context, max_tokens))
    }

    /// The consciousness endpoints.
    pub fn consciousness(&self) -> Consciousness<'_> {
        Consciousness { client: self }
    }

    /// The governance endpoints.
    pub fn governance(&self) -> Governance<'_> {
        Governance { client: self }
    }
}

/// Blocking form of [`crate::resources::Consciousness`].
#[derive(Clone, Copy, Debug)]
pub struct Consciousness<'a> {
    client: &'a MaximusClient,
}

impl Consciousness<'_> {
    fn api(&self) -> crate::resources::Consciousness<'_> {
        self.client.client.consciousness()
    }

    /// `GET /api/consciousness/state`.
    pub fn get_state(&self) -> Result<ConsciousnessState> {
        self.client.run(self.api().get_state())
    }

    /// `GET /api/consciousness/arousal`.
    pub fn get_arousal(&self) -> Result<ArousalState> {
        self.client.run(self.api().get_arousal())
    }

    /// `POST /api/consciousness/arousal/adjust`.
    pub fn adjust_arousal(&self, target_level: f64) -> Result<ArousalState> {
        self.client.run(self.api().adjust_arousal(target_level))
    }

    /// `GET /api/consciousness/safety/status`.
    pub fn get_safety_status(&self) -> Result<SafetyStatus> {
        self.client.run(self.api().get_safety_status())
    }

    /// `POST /api/consciousness/esgt/trigger`.
    pub fn trigger_esgt(&self, event_type: &str, data: Value) -> Result<EsgtEvent> {
        self.client.run(self.api().trigger_esgt(event_type, data))
    }

    /// `GET /api/consciousness/esgt/events?limit=`.
    pub fn get_esgt_events(&self, limit: u32) -> Result<EsgtEvents> {
        self.client.run(self.api().get_esgt_events(limit))
    }

    /// `GET /api/consciousness/metrics`.
    pub fn get_metrics(&self) -> Result<Value> {
        self.client.run(self.api().get_metrics())
    }

    /// `POST /api/consciousness/safety/emergency-shutdown`.
    pub fn emergency_shutdown(&self, reason: &str) -> Result<EmergencyShutdown> {
        self.client.run(self.api().emergency_shutdown(reason))
    }
}

/// Blocking form of [`crate::resources::Governance`].
#[derive(Clone, Copy, Debug)]
pub struct Governance<'a> {
    client: &'a MaximusClient,
}

impl Governance<'_> {
    fn api(&self) -> crate::resources::Governance<'_> {
        self.client.client.governance()
    }

    /// `GET /api/v1/governance/pending`.
    pub fn get_pending(&self, operator_id: Option<&str>) -> Result<PendingDecisions> {
        self.client.run(self.api().get_pending(operator_id))
    }

    /// `GET /api/v1/governance/decision/{id}`.
    pub fn get_decision(&self, decision_id: &str) -> Result<Decision> {
        self.client.run(self.api().get_decision(decision_id))
    }

    /// `POST /api/v1/governance/decision/{id}/approve`.
    pub fn approve(&self, decision_id: &str, operator_id: &str, reason: &str) -> Result<DecisionResolution> {
        self.client
            .run(self.api().approve(decision_id, operator_id, reason))
    }

    /// `POST /api/v1/governance/decision/{id}/reject`.
    pub fn reject(&self, decision_id: &str, operator_id: &str, reason: &str) -> Result<DecisionResolution> {
        self.client
            .run(self.api().reject(decision_id, operator_id, reason))
    }

    /// `POST /api/v1/governance/decision/{id}/escalate`.
    pub fn escalate(&self, decision_id: &str, operator_id: &str, reason: &str) -> Result<DecisionResolution> {
        self.client
            .run(self.api().escalate(decision_id, operator_id, reason))
    }

    /// `POST /api/v1/governance/session/create`.
    pub fn create_session(
        &self,
        operator_id: &str,
        operator_name: Option<&str>,
        role: Option<&str>,
    ) -> Result<Session> {
        self.client
            .run(self.api().create_session(operator_id, operator_name, role))
    }

    /// `GET /api/v1/governance/session/{operator_id}/stats`.
    pub fn get_session_stats(&self, operator_id: &str) -> Result<OperatorStats> {
        self.client.run(self.api().get_session_stats(operator_id))
    }

    /// The server-sent events as an iterator; each `next()` blocks until an event arrives.
    pub fn stream_events(&self, operator_id: &str, session_id: &str) -> Result<EventIter> {
        let stream = self
            .client
            .run(self.api().stream_events(operator_id, session_id))?;
        Ok(EventIter {
            stream,
            runtime: self.client.runtime.clone(),
        })
    }
}

/// Blocking iterator over the governance event stream.
#[derive(Debug)]
pub struct EventIter {
    stream: crate::EventStream,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Iterator for EventIter {
    type Item = Result<GovernanceEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        self.runtime.block_on(self.stream.next())
    }
}
