use serde::{Deserialize, Serialize};

use super::{RangeViolation, Validate, non_negative, unit};

/// `GET /api/consciousness/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsciousnessState {
    /// RFC 3339.
    pub timestamp: String,
    /// Whether the global workspace is igniting.
    pub esgt_active: bool,
    /// 0..=1.
    pub arousal_level: f64,
    /// `relaxed`, `alert`, ...
    pub arousal_classification: String,
    /// The fabric's graph metrics.
    pub tig_metrics: TigMetrics,
    /// Events seen recently.
    pub recent_events_count: u64,
    /// `HEALTHY`, ...
    pub system_health: String,
}

/// Graph metrics of the TIG fabric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct TigMetrics {
    pub node_count: u64,
    pub edge_count: u64,
    /// 0..=1.
    pub density: f64,
    /// 0..=1.
    pub avg_clustering_coefficient: f64,
    pub avg_path_length: f64,
    pub algebraic_connectivity: f64,
    pub effective_connectivity_index: f64,
    pub has_feed_forward_bottlenecks: bool,
    #[serde(default)]
    pub bottleneck_locations: Vec<serde_json::Value>,
    pub min_path_redundancy: u64,
    pub avg_latency_us: f64,
    pub max_latency_us: f64,
    pub total_bandwidth_gbps: f64,
    pub last_update: String,
}

impl Validate for ConsciousnessState {
    fn validate(&self) -> Result<(), RangeViolation> {
        unit("arousal_level", self.arousal_level)?;
        let t = &self.tig_metrics;
        unit("tig_metrics.density", t.density)?;
        unit(
            "tig_metrics.avg_clustering_coefficient",
            t.avg_clustering_coefficient,
        )?;
        non_negative("tig_metrics.avg_path_length", t.avg_path_length)?;
        non_negative("tig_metrics.avg_latency_us", t.avg_latency_us)?;
        non_negative("tig_metrics.max_latency_us", t.max_latency_us)?;
        non_negative("tig_metrics.total_bandwidth_gbps", t.total_bandwidth_gbps)
    }
}

/// `GET /api/consciousness/arousal`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArousalState {
    /// 0..=1.
    pub arousal: f64,
    /// The classification of `arousal`.
    pub level: String,
    /// 0..=1.
    pub baseline: f64,
    /// Contribution of needs.
    pub need_contribution: f64,
    /// Contribution of time.
    pub temporal_contribution: f64,
    /// RFC 3339.
    pub timestamp: String,
}

impl Validate for ArousalState {
    fn validate(&self) -> Result<(), RangeViolation> {
        unit("arousal", self.arousal)?;
        unit("baseline", self.baseline)
    }
}

/// `POST /api/consciousness/arousal/adjust` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArousalAdjustment {
    /// 0..=1.
    pub target_level: f64,
}

/// `GET /api/consciousness/safety/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafetyStatus {
    /// Whether the safety protocol runs.
    pub enabled: bool,
    /// Violations seen.
    pub violations_count: u64,
    /// Whether an emergency shutdown can still be triggered.
    pub emergency_shutdown_available: bool,
}

impl Validate for SafetyStatus {
    fn validate(&self) -> Result<(), RangeViolation> {
        Ok(())
    }
}

/// One ESGT (global workspace ignition) event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EsgtEvent {
    /// Its id.
    pub event_id: String,
    /// What kind of ignition.
    pub event_type: String,
    /// RFC 3339.
    pub timestamp: String,
    /// Whether ignition succeeded.
    pub success: bool,
    /// Everything else the server sent.
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Validate for EsgtEvent {
    fn validate(&self) -> Result<(), RangeViolation> {
        match self.details.get("coherence").and_then(serde_json::Value::as_f64) {
            Some(c) => unit("coherence", c),
            None => Ok(()),
        }
    }
}

/// `GET /api/consciousness/esgt/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EsgtEvents {
    /// Newest first.
    pub events: Vec<EsgtEvent>,
}

impl Validate for EsgtEvents {
    fn validate(&self) -> Result<(), RangeViolation> {
        for (i, event) in self.events.iter().enumerate() {
            event.validate().map_err(|mut v| {
                v.field = format!("events[{i}].{}", v.field);
                v
            })?;
        }
        Ok(())
    }
}

/// `POST /api/consciousness/safety/emergency-shutdown` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergencyShutdown {
    /// `shutdown_initiated`.
    pub status: String,
    /// The reason given.
    pub reason: String,
    /// RFC 3339.
    pub timestamp: String,
}

impl Validate for EmergencyShutdown {
    fn validate(&self) -> Result<(), RangeViolation> {
        Ok(())
    }
}

impl Validate for serde_json::Value {
    fn validate(&self) -> Result<(), RangeViolation> {
        Ok(())
    }
}
