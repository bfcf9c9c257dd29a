//! Arousal, the TIG fabric, ESGT events and the emergency shutdown.

use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Value, json};

use super::{World, round};
use crate::clock;

/// Nodes and edges of the simulated TIG fabric; density follows from them.
const TIG_NODES: u32 = 100;
const TIG_EDGES: u32 = 1847;

/// The arousal controller: `level = baseline + need + temporal`, kept in 0..1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arousal {
    pub baseline: f64,
    pub need_contribution: f64,
    pub temporal_contribution: f64,
}

impl Default for Arousal {
    fn default() -> Self {
        Self {
            baseline: 0.6,
            need_contribution: 0.05,
            temporal_contribution: 0.02,
        }
    }
}

impl Arousal {
    /// Rounded like every reported float, so the band and the number agree.
    pub(crate) fn level(&self) -> f64 {
        round((self.baseline + self.need_contribution + self.temporal_contribution).clamp(0.0, 1.0))
    }

    /// The named band the level falls in, as the service's `ArousalLevel`
    /// enum writes it (lower case).
    pub(crate) fn classification(&self) -> &'static str {
        match self.level() {
            l if l < 0.2 => "sleep",
            l if l < 0.4 => "drowsy",
            l if l < 0.6 => "relaxed",
            l if l < 0.8 => "alert",
            _ => "hyperalert",
        }
    }

    /// Moves the level to `target` by changing the need contribution, as an
    /// external stimulus would.
    pub(crate) fn adjust_to(&mut self, target: f64) {
        self.need_contribution = target - self.baseline - self.temporal_contribution;
    }

    pub(crate) fn to_json(self) -> Value {
        json!({
            "arousal": self.level(),
            "level": self.classification(),
            "baseline": self.baseline,
            "need_contribution": round(self.need_contribution),
            "temporal_contribution": self.temporal_contribution,
            "timestamp": clock::now(),
        })
    }
}

/// One ESGT (global workspace ignition) event, with the fields of the
/// service's `ESGTEventResponse` (and the mock's trigger type and data).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EsgtEvent {
    pub event_id: String,
    pub timestamp: String,
    pub success: bool,
    pub salience: Value,
    /// Phase coherence reached, 0..1; none when ignition failed.
    pub coherence: Option<f64>,
    pub duration_ms: f64,
    pub nodes_participating: u32,
    /// Why ignition failed.
    pub reason: Option<String>,
    pub event_type: String,
    pub data: Value,
}

/// Graph metrics of the TIG fabric.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TigMetrics {
    pub node_count: u32,
    pub edge_count: u32,
    pub density: f64,
    pub avg_clustering_coefficient: f64,
    pub avg_path_length: f64,
    pub algebraic_connectivity: f64,
    pub effective_connectivity_index: f64,
    pub has_feed_forward_bottlenecks: bool,
    pub bottleneck_locations: Vec<String>,
    pub min_path_redundancy: u32,
    pub avg_latency_us: f64,
    pub max_latency_us: f64,
    pub total_bandwidth_gbps: f64,
    /// `time.time()` of the fabric's last update: Unix seconds.
    pub last_update: f64,
}

impl TigMetrics {
    pub(crate) fn current() -> Self {
        let possible_edges = f64::from(TIG_NODES * (TIG_NODES - 1) / 2);
        Self {
            node_count: TIG_NODES,
            edge_count: TIG_EDGES,
            density: round(f64::from(TIG_EDGES) / possible_edges),
            avg_clustering_coefficient: 0.724,
            avg_path_length: 1.86,
            algebraic_connectivity: 0.412,
            effective_connectivity_index: 0.853,
            has_feed_forward_bottlenecks: false,
            bottleneck_locations: Vec::new(),
            min_path_redundancy: 3,
            avg_latency_us: 12.4,
            max_latency_us: 48.7,
            total_bandwidth_gbps: 184.7,
            last_update: clock::unix_seconds(),
        }
    }
}

/// The record of an emergency shutdown.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ShutdownRecord {
    pub status: &'static str,
    pub reason: String,
    pub timestamp: String,
}

impl World {
    pub(super) fn seed_esgt_events(&mut self) {
        let boot = json!({"source": "startup_self_test"});
        self.trigger_esgt("sensory_integration", boot.clone());
        self.trigger_esgt("attention_shift", boot);
    }

    /// Ignites the global workspace; fails once the system is shut down.
    pub(crate) fn trigger_esgt(&mut self, event_type: &str, data: Value) -> EsgtEvent {
        let success = self.shutdown.is_none();
        let salience = json!({
            "novelty": round(self.ids.between(0.5, 0.95)),
            "relevance": round(self.ids.between(0.5, 0.95)),
            "urgency": round(self.ids.between(0.2, 0.8)),
        });
        let event = EsgtEvent {
            event_id: self.ids.uuid(),
            timestamp: clock::now(),
            success,
            salience,
            coherence: success.then(|| round(self.ids.between(0.72, 0.96))),
            duration_ms: round(self.ids.between(95.0, 240.0)),
            nodes_participating: if success {
                self.ids.between(42.0, 88.0) as u32
            } else {
                0
            },
            reason: (!success).then(|| "emergency shutdown in effect".to_owned()),
            event_type: event_type.to_owned(),
            data,
        };
        self.esgt_events.push(event.clone());
        event
    }

    /// The newest `limit` events, newest first.
    pub(crate) fn recent_events(&self, limit: usize) -> Vec<EsgtEvent> {
        self.esgt_events.iter().rev().take(limit).cloned().collect()
    }

    pub(crate) fn emergency_shutdown(&mut self, reason: String) -> ShutdownRecord {
        let record = ShutdownRecord {
            status: "shutdown_initiated",
            reason,
            timestamp: clock::rfc3339(SystemTime::now()),
        };
        self.shutdown = Some(record.clone());
        record
    }

    pub(crate) fn system_health(&self) -> &'static str {
        if self.shutdown.is_some() {
            "EMERGENCY_SHUTDOWN"
        } else {
            "HEALTHY"
        }
    }

    pub(crate) fn consciousness_state(&self) -> Value {
        json!({
            "timestamp": clock::now(),
            "esgt_active": self.shutdown.is_none(),
            "arousal_level": self.arousal.level(),
            "arousal_classification": self.arousal.classification(),
            "tig_metrics": TigMetrics::current(),
            "recent_events_count": self.esgt_events.len(),
            "system_health": self.system_health(),
        })
    }

    pub(crate) fn metrics(&self) -> Value {
        let total = self.esgt_events.len();
        let successes: Vec<&EsgtEvent> = self.esgt_events.iter().filter(|e| e.success).collect();
        let success_rate = if total == 0 {
            0.0
        } else {
            successes.len() as f64 / total as f64
        };
        let avg_coherence = if successes.is_empty() {
            0.0
        } else {
            successes.iter().filter_map(|e| e.coherence).sum::<f64>() / successes.len() as f64
        };
        json!({
            "timestamp": clock::now(),
            "uptime_seconds": round(self.started.elapsed().as_secs_f64()),
            "esgt_events_total": total,
            "esgt_success_rate": round(success_rate),
            "esgt_avg_coherence": round(avg_coherence),
            "arousal_level": self.arousal.level(),
            "tig_node_count": TIG_NODES,
            "tig_edge_count": TIG_EDGES,
            "safety_violations": 0,
            "queries_processed": self.queries_processed,
            "pending_decisions": self.pending(None).len(),
        })
    }
}
