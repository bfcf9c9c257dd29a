//! `/api/consciousness/*`.

use maximus_trace::trace_span;
use serde_json::{Value, json};

use crate::MaximusClient;
use crate::error::Result;
use crate::models::{
    ArousalState, ConsciousnessState, EmergencyShutdown, EsgtEvent, EsgtEvents, SafetyStatus,
};

/// The consciousness system: state, arousal, ESGT events, safety.
#[derive(Clone, Copy, Debug)]
pub struct Consciousness<'a> {
    pub(crate) client: &'a MaximusClient,
}

impl Consciousness<'_> {
    /// `GET /api/consciousness/state`.
    #[trace_span]
    pub async fn get_state(&self) -> Result<ConsciousnessState> {
        self.client.get("/api/consciousness/state", &[]).await
    }

    /// `GET /api/consciousness/arousal`.
    #[trace_span]
    pub async fn get_arousal(&self) -> Result<ArousalState> {
        self.client.get("/api/consciousness/arousal", &[]).await
    }

    /// `POST /api/consciousness/arousal/adjust` to a level in 0..=1.
    #[trace_span(record(target_level))]
    pub async fn adjust_arousal(&self, target_level: f64) -> Result<ArousalState> {
        self.client
            .post(
                "/api/consciousness/arousal/adjust",
                &json!({ "target_level": target_level }),
            )
            .await
    }

    /// `GET /api/consciousness/safety/status`.
    #[trace_span]
    pub async fn get_safety_status(&self) -> Result<SafetyStatus> {
        self.client.get("/api/consciousness/safety/status", &[]).await
    }

    /// `POST /api/consciousness/esgt/trigger`.
    #[trace_span(record(event_type))]
    pub async fn trigger_esgt(&self, event_type: &str, data: Value) -> Result<EsgtEvent> {
        let body = json!({ "event_type": event_type, "data": data });
        self.client.post("/api/consciousness/esgt/trigger", &body).await
    }

    /// `GET /api/consciousness/esgt/events?limit=`.
    #[trace_span(record(limit))]
    pub async fn get_esgt_events(&self, limit: u32) -> Result<EsgtEvents> {
        self.client
            .get("/api/consciousness/esgt/events", &[("limit", limit.to_string())])
            .await
    }

    /// `GET /api/consciousness/metrics`: any JSON object.
    #[trace_span]
    pub async fn get_metrics(&self) -> Result<Value> {
        self.client.get("/api/consciousness/metrics", &[]).await
    }

    /// `POST /api/consciousness/safety/emergency-shutdown`.
    #[trace_span]
    pub async fn emergency_shutdown(&self, reason: &str) -> Result<EmergencyShutdown> {
        self.client
            .post(
                "/api/consciousness/safety/emergency-shutdown",
                &json!({ "reason": reason }),
            )
            .await
    }
}
