use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ArousalClassification, RangeViolation, SystemHealth, Timestamp, Validate, non_negative, unit};

/// `GET /api/consciousness/state`.
///
/// Unknown fields are ignored; `tig_metrics` is open (see [`TigMetrics`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsciousnessState {
    /// When the state was read (the service writes it without an offset, in UTC).
    pub timestamp: Timestamp,
    /// Whether the global workspace (ESGT) is running.
    pub esgt_active: bool,
    /// 0..=1. Sent as `null` or left out, it reads as [`Self::NO_AROUSAL_READING`] (0.5): what
    /// the service itself reports when its arousal controller has no reading, so a missing
    /// reading never fails the whole state. `arousal_classification` tells the two apart when
    /// the service says `UNKNOWN`.
    #[serde(default = "no_arousal_reading", deserialize_with = "arousal_or_no_reading")]
    pub arousal_level: f64,
    /// The band `arousal_level` falls in (`relaxed`, ...).
    pub arousal_classification: ArousalClassification,
    /// The TIG fabric's graph metrics; `null` or left out reads as no metrics (every accessor
    /// `None`).
    #[serde(default)]
    pub tig_metrics: TigMetrics,
    /// ESGT events in the service's recent history.
    pub recent_events_count: u64,
    /// `HEALTHY`, `DEGRADED`, ...
    pub system_health: SystemHealth,
    /// ESGT statistics, when the service includes them (any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esgt_stats: Option<serde_json::Value>,
    /// Global coherence, 0..=1, when the service includes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coherence: Option<f64>,
}

impl ConsciousnessState {
    /// The `arousal_level` a state without an arousal reading has: the service's own value for
    /// "no reading" (the middle of the range, the `relaxed` baseline).
    pub const NO_AROUSAL_READING: f64 = 0.5;
}

fn no_arousal_reading() -> f64 {
    ConsciousnessState::NO_AROUSAL_READING
}

/// A number, or `null` for no reading.
fn arousal_or_no_reading<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(ConsciousnessState::NO_AROUSAL_READING))
}

/// The TIG fabric's graph metrics: an open object (the service adds metrics as it grows, and
/// sends whatever its fabric reports). Every field is kept; the ones this client knows are
/// checked for type (and range) when decoded and read through typed accessors.
///
/// Counts (`node_count`, `edge_count`, `min_path_redundancy`) are whole numbers >= 0, and
/// also read from a float without a fraction (`16.0`, what numpy or a Python float writes);
/// they are kept as integers. `null` in place of the whole object reads as no metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TigMetrics {
    fields: serde_json::Map<String, Value>,
}

/// A known TIG field and the type its value must have.
enum Known {
    Count,
    Number,
    Flag,
    Time,
}

fn known_tig_field(key: &str) -> Option<Known> {
    Some(match key {
        "node_count" | "edge_count" | "min_path_redundancy" => Known::Count,
        "density"
        | "avg_clustering_coefficient"
        | "avg_path_length"
        | "algebraic_connectivity"
        | "effective_connectivity_index"
        | "avg_latency_us"
        | "max_latency_us"
        | "total_bandwidth_gbps" => Known::Number,
        "has_feed_forward_bottlenecks" => Known::Flag,
        "last_update" => Known::Time,
        _ => return None,
    })
}

impl TigMetrics {
    /// Any field, as sent (known ones normalised: `last_update` as RFC 3339).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key).filter(|v| !v.is_null())
    }

    /// Every field.
    pub fn as_map(&self) -> &serde_json::Map<String, Value> {
        &self.fields
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    /// Nodes of the fabric.
    pub fn node_count(&self) -> Option<u64> {
        self.get("node_count").and_then(Value::as_u64)
    }

    /// Edges of the fabric.
    pub fn edge_count(&self) -> Option<u64> {
        self.get("edge_count").and_then(Value::as_u64)
    }

    /// Edges over possible edges, 0..=1.
    pub fn density(&self) -> Option<f64> {
        self.number("density")
    }

    /// 0..=1.
    pub fn avg_clustering_coefficient(&self) -> Option<f64> {
        self.number("avg_clustering_coefficient")
    }

    /// Mean shortest path, in hops.
    pub fn avg_path_length(&self) -> Option<f64> {
        self.number("avg_path_length")
    }

    /// The graph Laplacian's second eigenvalue.
    pub fn algebraic_connectivity(&self) -> Option<f64> {
        self.number("algebraic_connectivity")
    }

    /// Effective connectivity index.
    pub fn effective_connectivity_index(&self) -> Option<f64> {
        self.number("effective_connectivity_index")
    }

    /// Whether feed-forward bottlenecks were found.
    pub fn has_feed_forward_bottlenecks(&self) -> Option<bool> {
        self.get("has_feed_forward_bottlenecks").and_then(Value::as_bool)
    }

    /// Fewest disjoint paths between two nodes.
    pub fn min_path_redundancy(&self) -> Option<u64> {
        self.get("min_path_redundancy").and_then(Value::as_u64)
    }

    /// Mean link latency, microseconds.
    pub fn avg_latency_us(&self) -> Option<f64> {
        self.number("avg_latency_us")
    }

    /// Worst link latency, microseconds.
    pub fn max_latency_us(&self) -> Option<f64> {
        self.number("max_latency_us")
    }

    /// Total bandwidth, Gbit/s.
    pub fn total_bandwidth_gbps(&self) -> Option<f64> {
        self.number("total_bandwidth_gbps")
    }

    /// When the fabric last updated these metrics (sent as text or Unix seconds).
    pub fn last_update(&self) -> Option<Timestamp> {
        self.get("last_update")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
    }
}

impl Serialize for TigMetrics {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.fields.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TigMetrics {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(TigVisitor)
    }
}

struct TigVisitor;

impl<'de> serde::de::Visitor<'de> for TigVisitor {
    type Value = TigMetrics;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of TIG metrics, or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<TigMetrics, E> {
        Ok(TigMetrics::default())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<TigMetrics, E> {
        Ok(TigMetrics::default())
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<TigMetrics, D::Error> {
        deserializer.deserialize_map(TigVisitor)
    }

    /// Known fields are read as their type through the map (so a decode error's path names
    /// the field, `tig_metrics.density`); the others are kept as they are.
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<TigMetrics, A::Error> {
        use serde::de::Error as _;
        let mut fields = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let as_json = |v: Result<Value, serde_json::Error>| v.map_err(A::Error::custom);
            let value = match known_tig_field(&key) {
                Some(Known::Count) => as_json(serde_json::to_value(map.next_value::<Option<Count>>()?))?,
                Some(Known::Number) => as_json(serde_json::to_value(map.next_value::<Option<f64>>()?))?,
                Some(Known::Flag) => as_json(serde_json::to_value(map.next_value::<Option<bool>>()?))?,
                Some(Known::Time) => as_json(serde_json::to_value(map.next_value::<Option<Timestamp>>()?))?,
                None => map.next_value::<Value>()?,
            };
            fields.insert(key, value);
        }
        Ok(TigMetrics { fields })
    }
}

/// A count: a whole number >= 0, written as an integer or as a float without a fraction.
#[derive(Serialize)]
#[serde(transparent)]
struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CountVisitor)
    }
}

struct CountVisitor;

impl serde::de::Visitor<'_> for CountVisitor {
    type Value = Count;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a whole number >= 0 (an integer, or a float without a fraction)")
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Count, E> {
        Ok(Count(value))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Count, E> {
        u64::try_from(value)
            .map(Count)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Count, E> {
        // 2^64: the first float a u64 cannot hold.
        let whole = value.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&value);
        if whole {
            Ok(Count(value as u64))
        } else {
            Err(E::invalid_value(serde::de::Unexpected::Float(value), &self))
        }
    }
}

impl Validate for ConsciousnessState {
    fn validate(&self) -> Result<(), RangeViolation> {
        unit("arousal_level", self.arousal_level)?;
        if let Some(coherence) = self.coherence {
            unit("coherence", coherence)?;
        }
        let t = &self.tig_metrics;
        type Check = fn(&str, f64) -> Result<(), RangeViolation>;
        let checks: [(&str, Option<f64>, Check); 6] = [
            ("tig_metrics.density", t.density(), unit),
            (
                "tig_metrics.avg_clustering_coefficient",
                t.avg_clustering_coefficient(),
                unit,
            ),
            ("tig_metrics.avg_path_length", t.avg_path_length(), non_negative),
            ("tig_metrics.avg_latency_us", t.avg_latency_us(), non_negative),
            ("tig_metrics.max_latency_us", t.max_latency_us(), non_negative),
            (
                "tig_metrics.total_bandwidth_gbps",
                t.total_bandwidth_gbps(),
                non_negative,
            ),
        ];
        for (field, value, check) in checks {
            if let Some(value) = value {
                check(field, value)?;
            }
        }
        Ok(())
    }
}

/// `GET /api/consciousness/arousal`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArousalState {
    /// 0..=1.
    pub arousal: f64,
    /// The band of `arousal`.
    pub level: ArousalClassification,
    /// 0..=1, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// Contribution of needs, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_contribution: Option<f64>,
    /// Contribution of time, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporal_contribution: Option<f64>,
    /// When it was read, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

impl Validate for ArousalState {
    fn validate(&self) -> Result<(), RangeViolation> {
        unit("arousal", self.arousal)?;
        match self.baseline {
            Some(baseline) => unit("baseline", baseline),
            None => Ok(()),
        }
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
    /// When it happened.
    pub timestamp: Timestamp,
    /// Whether ignition succeeded.
    pub success: bool,
    /// What triggered it (the mock's event type; the service describes it by `salience`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Novelty, relevance, urgency, ... of the content that ignited, 0..=1 each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salience: Option<serde_json::Map<String, Value>>,
    /// Phase coherence reached, 0..=1 (none when ignition failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coherence: Option<f64>,
    /// How long ignition took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// Nodes that took part.
    #[serde(
        default,
        alias = "participating_nodes",
        skip_serializing_if = "Option::is_none"
    )]
    pub nodes_participating: Option<u64>,
    /// Why ignition failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Everything else the server sent.
    #[serde(flatten)]
    pub details: serde_json::Map<String, Value>,
}

impl Validate for EsgtEvent {
    fn validate(&self) -> Result<(), RangeViolation> {
        if let Some(coherence) = self.coherence {
            unit("coherence", coherence)?;
        }
        if let Some(duration) = self.duration_ms {
            non_negative("duration_ms", duration)?;
        }
        Ok(())
    }
}

/// `GET /api/consciousness/esgt/events`: the service answers with a list (newest last in
/// its history). An object carrying the list is read too, under the first of the keys
/// [`EsgtEvents::LIST_KEYS`] it has (`{"events": [...]}`, or a paginated `{"items": [...],
/// "total": 3}`); `null` under that key is no events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EsgtEvents {
    /// As the service ordered them.
    pub events: Vec<EsgtEvent>,
}

impl EsgtEvents {
    /// The keys an object may carry the list under, by precedence.
    pub const LIST_KEYS: [&'static str; 4] = ["events", "esgt_events", "items", "data"];
}

/// The error for an object with none of [`EsgtEvents::LIST_KEYS`]: it names them and the keys
/// the object has. It starts with serde's "missing field" wording so the error's path names
/// `events`.
fn no_event_list(present: &[String]) -> String {
    const SHOWN: usize = 8;
    let looked_for = EsgtEvents::LIST_KEYS.map(|k| format!("`{k}`")).join(", ");
    let mut has = present
        .iter()
        .take(SHOWN)
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>();
    if present.len() > SHOWN {
        has.push(format!("and {} more", present.len() - SHOWN));
    }
    let has = if has.is_empty() {
        "no keys".to_owned()
    } else {
        format!("keys {}", has.join(", "))
    };
    format!(
        "missing field `events`: looked for a list of ESGT events under {looked_for}; the object has {has}"
    )
}

impl<'de> Deserialize<'de> for EsgtEvents {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EventsVisitor)
    }
}

struct EventsVisitor;

impl<'de> serde::de::Visitor<'de> for EventsVisitor {
    type Value = EsgtEvents;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of ESGT events, or an object with an `events` list")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<EsgtEvents, A::Error> {
        let mut events = Vec::new();
        while let Some(event) = seq.next_element()? {
            events.push(event);
        }
        Ok(EsgtEvents { events })
    }

    /// Reads the list under the first of [`EsgtEvents::LIST_KEYS`] present (by precedence,
    /// not by position in the object) and ignores the rest.
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<EsgtEvents, A::Error> {
        let mut found: Option<(usize, Vec<EsgtEvent>)> = None;
        let mut present = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let rank = EsgtEvents::LIST_KEYS.iter().position(|k| *k == key);
            match rank {
                Some(rank) if found.as_ref().is_none_or(|(best, _)| rank < *best) => {
                    let events = map.next_value::<Option<Vec<EsgtEvent>>>()?;
                    found = Some((rank, events.unwrap_or_default()));
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            present.push(key);
        }
        match found {
            Some((_, events)) => Ok(EsgtEvents { events }),
            None => Err(serde::de::Error::custom(no_event_list(&present))),
        }
    }
}

impl Validate for EsgtEvents {
    fn validate(&self) -> Result<(), RangeViolation> {
        for (i, event) in self.events.iter().enumerate() {
            event.validate().map_err(|mut v| {
                v.field = format!("[{i}].{}", v.field);
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
    /// When it was initiated.
    pub timestamp: Timestamp,
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
