//! Every model against the shapes the real MAXIMUS core service sends (from its public
//! source), and variations on them: extra fields, missing optional fields, each timestamp
//! form, unknown enum values, nulls. Decoded as the client decodes a response body.

use http::Method;
use serde_json::{Value, json};

use super::*;
use crate::Error;

fn decode<T: serde::de::DeserializeOwned + Validate>(body: &Value) -> Result<T, Error> {
    let bytes = serde_json::to_vec(body).unwrap();
    crate::request::decode(&bytes, &Method::GET, "http://maximus/test")
}

/// `body` with `pointer` (`/tig_metrics/density`) set to `value`, or removed for `None`.
fn with(body: &Value, pointer: &str, value: Option<Value>) -> Value {
    let mut body = body.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = if parent.is_empty() {
        &mut body
    } else {
        body.pointer_mut(parent).unwrap()
    };
    let object = parent.as_object_mut().unwrap();
    match value {
        Some(value) => object.insert(key.to_owned(), value),
        None => object.remove(key),
    };
    body
}

/// A decode error that names `field`, in `field()` and in its text.
fn assert_names<T: std::fmt::Debug>(result: Result<T, Error>, field: &str) {
    let error = result.expect_err("a decode error");
    assert!(error.is_decode(), "{error}");
    assert_eq!(error.field(), Some(field), "{error}");
    assert!(error.to_string().contains(field), "{error}");
}

// ---- GET /api/consciousness/state ----

/// As `get_consciousness_state` builds it: `datetime.now().isoformat()`, the arousal level's
/// enum value, `asdict(FabricMetrics)` with `time.time()` in it.
fn real_state() -> Value {
    json!({
        "timestamp": "2025-12-06T16:56:19.043975",
        "esgt_active": true,
        "arousal_level": 0.55,
        "arousal_classification": "relaxed",
        "tig_metrics": {
            "node_count": 16, "edge_count": 48, "density": 0.4,
            "avg_clustering_coefficient": 0.75, "avg_path_length": 1.6,
            "algebraic_connectivity": 2.1, "effective_connectivity_index": 0.86,
            "has_feed_forward_bottlenecks": false, "bottleneck_locations": [],
            "min_path_redundancy": 3, "avg_latency_us": 12.5, "max_latency_us": 40.2,
            "total_bandwidth_gbps": 10.0, "last_update": 1765040179.043975
        },
        "recent_events_count": 3,
        "system_health": "HEALTHY"
    })
}

#[test]
fn state_of_the_real_service_decodes() {
    let state: ConsciousnessState = decode(&real_state()).unwrap();
    assert_eq!(state.timestamp.to_string(), "2025-12-06T16:56:19.043975Z");
    assert_eq!(state.arousal_classification, ArousalClassification::Relaxed);
    assert_eq!(state.system_health, SystemHealth::Healthy);
    let tig = &state.tig_metrics;
    assert_eq!(tig.node_count(), Some(16));
    assert_eq!(tig.density(), Some(0.4));
    assert_eq!(tig.has_feed_forward_bottlenecks(), Some(false));
    let updated = tig.last_update().unwrap().as_unix_seconds();
    assert!((updated - 1_765_040_179.043975).abs() < 1e-6);
    assert_eq!(state.esgt_stats, None);
    assert_eq!(state.coherence, None);
}

#[test]
fn state_keeps_fields_it_does_not_know_in_tig_metrics_and_ignores_the_rest() {
    let body = with(&real_state(), "/tig_metrics/phi_proxy", Some(json!(0.91)));
    let body = with(&body, "/kill_switch", Some(json!({"armed": false})));
    let state: ConsciousnessState = decode(&body).unwrap();
    assert_eq!(state.tig_metrics.get("phi_proxy"), Some(&json!(0.91)));
}

#[test]
fn state_reads_its_optional_fields_when_sent_and_nulls_as_none() {
    let body = with(
        &real_state(),
        "/esgt_stats",
        Some(json!({"total": 12, "success_rate": 0.9})),
    );
    let body = with(&body, "/coherence", Some(json!(0.82)));
    let state: ConsciousnessState = decode(&body).unwrap();
    assert_eq!(state.esgt_stats.unwrap()["total"], 12);
    assert_eq!(state.coherence, Some(0.82));
    let body = with(&real_state(), "/coherence", Some(Value::Null));
    let body = with(&body, "/esgt_stats", Some(Value::Null));
    let body = with(&body, "/tig_metrics/last_update", Some(Value::Null));
    let state: ConsciousnessState = decode(&body).unwrap();
    assert_eq!((state.coherence, state.esgt_stats), (None, None));
    assert_eq!(state.tig_metrics.last_update(), None);
}

#[test]
fn state_reads_every_timestamp_form() {
    for form in [
        json!("2025-12-06T16:56:19.043975"),
        json!("2025-12-06T16:56:19.043975Z"),
        json!("2025-12-06T17:56:19.043975+01:00"),
        json!(1765040179.043975),
    ] {
        let body = with(&real_state(), "/timestamp", Some(form.clone()));
        let state: ConsciousnessState = decode(&body).unwrap();
        let seconds = state.timestamp.as_unix_seconds();
        assert!((seconds - 1_765_040_179.043975).abs() < 1e-6, "{form}");
    }
    let body = with(&real_state(), "/timestamp", Some(json!(1765040179)));
    let state: ConsciousnessState = decode(&body).unwrap();
    assert_eq!(state.timestamp.to_string(), "2025-12-06T16:56:19Z");
}

#[test]
fn state_enums_read_any_case_and_keep_unknown_values() {
    for (pointer, sent, expected) in [
        ("/arousal_classification", "RELAXED", "relaxed"),
        ("/arousal_classification", "Alert", "alert"),
        ("/arousal_classification", "focused", "focused"),
        ("/arousal_classification", "UNKNOWN", "UNKNOWN"),
        ("/system_health", "degraded", "DEGRADED"),
        ("/system_health", "RECOVERING", "RECOVERING"),
    ] {
        let state: ConsciousnessState = decode(&with(&real_state(), pointer, Some(json!(sent)))).unwrap();
        let got = match pointer {
            "/system_health" => state.system_health.to_string(),
            _ => state.arousal_classification.to_string(),
        };
        assert_eq!(got, expected, "{pointer} = {sent}");
    }
    let state: ConsciousnessState = decode(&with(
        &real_state(),
        "/arousal_classification",
        Some(json!("focused")),
    ))
    .unwrap();
    assert_eq!(
        state.arousal_classification,
        ArousalClassification::Other("focused".into())
    );
}

#[test]
fn state_decode_errors_name_their_field() {
    let cases: [(&str, Option<Value>, &str); 8] = [
        ("/arousal_level", Some(json!(3.0)), "arousal_level"),
        ("/recent_events_count", None, "recent_events_count"),
        ("/timestamp", Some(json!("yesterday")), "timestamp"),
        (
            "/arousal_classification",
            Some(json!(3)),
            "arousal_classification",
        ),
        ("/tig_metrics/density", Some(json!("high")), "tig_metrics.density"),
        ("/tig_metrics/density", Some(json!(1.5)), "tig_metrics.density"),
        (
            "/tig_metrics/node_count",
            Some(json!(-1)),
            "tig_metrics.node_count",
        ),
        (
            "/tig_metrics/last_update",
            Some(json!("soon")),
            "tig_metrics.last_update",
        ),
    ];
    for (pointer, value, field) in cases {
        assert_names(
            decode::<ConsciousnessState>(&with(&real_state(), pointer, value)),
            field,
        );
    }
    assert_names(
        decode::<ConsciousnessState>(&with(&real_state(), "/coherence", Some(json!(1.2)))),
        "coherence",
    );
}

#[test]
fn state_reads_counts_written_as_whole_floats() {
    for (pointer, sent, expected) in [
        ("/tig_metrics/node_count", json!(16.0), 16),
        ("/tig_metrics/node_count", json!(16), 16),
        ("/tig_metrics/node_count", json!(0.0), 0),
        ("/tig_metrics/edge_count", json!(48.0), 48),
        ("/tig_metrics/min_path_redundancy", json!(3.0), 3_u64),
        (
            "/tig_metrics/node_count",
            json!(9_007_199_254_740_992.0),
            9_007_199_254_740_992,
        ),
    ] {
        let state: ConsciousnessState = decode(&with(&real_state(), pointer, Some(sent.clone()))).unwrap();
        let key = pointer.rsplit('/').next().unwrap();
        assert_eq!(
            state.tig_metrics.get(key),
            Some(&json!(expected)),
            "{pointer} = {sent}"
        );
    }
    let state: ConsciousnessState =
        decode(&with(&real_state(), "/tig_metrics/node_count", Some(json!(16.0)))).unwrap();
    assert_eq!(state.tig_metrics.node_count(), Some(16));
}

#[test]
fn state_count_that_is_not_a_whole_number_is_an_error_naming_it() {
    for sent in [
        json!(16.5),
        json!(-1.0),
        json!(-1),
        json!(1e20),
        json!("16"),
        json!(true),
    ] {
        let body = with(&real_state(), "/tig_metrics/node_count", Some(sent.clone()));
        let error = decode::<ConsciousnessState>(&body).unwrap_err();
        assert_eq!(error.field(), Some("tig_metrics.node_count"), "{sent}: {error}");
        assert!(error.to_string().contains("whole number >= 0"), "{sent}: {error}");
    }
}

#[test]
fn state_reads_null_or_missing_tig_metrics_as_no_metrics() {
    for value in [None, Some(Value::Null), Some(json!({}))] {
        let state: ConsciousnessState = decode(&with(&real_state(), "/tig_metrics", value.clone())).unwrap();
        assert!(state.tig_metrics.as_map().is_empty(), "{value:?}");
        assert_eq!(state.tig_metrics.node_count(), None);
        assert_eq!(state.tig_metrics.density(), None);
    }
    assert_names(
        decode::<ConsciousnessState>(&with(&real_state(), "/tig_metrics", Some(json!([1, 2])))),
        "tig_metrics",
    );
}

#[test]
fn state_reads_null_or_missing_arousal_level_as_no_reading() {
    for value in [None, Some(Value::Null)] {
        let body = with(&real_state(), "/arousal_level", value.clone());
        let body = with(&body, "/arousal_classification", Some(json!("UNKNOWN")));
        let state: ConsciousnessState = decode(&body).unwrap();
        assert_eq!(
            state.arousal_level,
            ConsciousnessState::NO_AROUSAL_READING,
            "{value:?}"
        );
        assert_eq!(state.arousal_level, 0.5);
        assert_eq!(state.arousal_classification, ArousalClassification::Unknown);
    }
    assert_names(
        decode::<ConsciousnessState>(&with(&real_state(), "/arousal_level", Some(json!("high")))),
        "arousal_level",
    );
}

#[test]
fn state_enums_ignore_whitespace_and_word_separators() {
    for (pointer, sent, expected) in [
        (
            "/system_health",
            "emergency-shutdown",
            SystemHealth::EmergencyShutdown,
        ),
        (
            "/system_health",
            "Emergency Shutdown",
            SystemHealth::EmergencyShutdown,
        ),
        ("/system_health", " HEALTHY\n", SystemHealth::Healthy),
        (
            "/system_health",
            " Not-Ready ",
            SystemHealth::Other(" Not-Ready ".into()),
        ),
    ] {
        let state: ConsciousnessState = decode(&with(&real_state(), pointer, Some(json!(sent)))).unwrap();
        assert_eq!(state.system_health, expected, "{sent:?}");
    }
    let state: ConsciousnessState =
        decode(&with(&real_state(), "/system_health", Some(json!(" Not-Ready ")))).unwrap();
    assert_eq!(state.system_health.to_string(), " Not-Ready ");
    assert_eq!(state.system_health, "not_ready");
    let state: ConsciousnessState = decode(&with(
        &real_state(),
        "/arousal_classification",
        Some(json!(" Relaxed ")),
    ))
    .unwrap();
    assert_eq!(state.arousal_classification, ArousalClassification::Relaxed);
}

#[test]
fn state_reads_unix_times_in_milli_micro_and_nanoseconds() {
    for (pointer, sent) in [
        ("/timestamp", json!(1765040179043_u64)),
        ("/timestamp", json!(1765040179043.0)),
        ("/timestamp", json!("1765040179043")),
        ("/timestamp", json!(1765040179043000_u64)),
        ("/timestamp", json!(1765040179043000000_u64)),
        ("/tig_metrics/last_update", json!(1765040179043_u64)),
    ] {
        let state: ConsciousnessState = decode(&with(&real_state(), pointer, Some(sent.clone()))).unwrap();
        let got = match pointer {
            "/timestamp" => state.timestamp,
            _ => state.tig_metrics.last_update().unwrap(),
        };
        assert_eq!(got.to_string(), "2025-12-06T16:56:19.043Z", "{pointer} = {sent}");
    }
    let body = with(&real_state(), "/timestamp", Some(json!(1e300)));
    let error = decode::<ConsciousnessState>(&body).unwrap_err();
    assert_eq!(error.field(), Some("timestamp"), "{error}");
    assert!(error.to_string().contains("nanoseconds"), "{error}");
}

// ---- POST /query ----

fn real_answer() -> Value {
    json!({
        "final_response": "The anomaly is a misconfigured cron job.",
        "confidence_score": 0.87,
        "processing_time_seconds": 1.42,
        "timestamp": "2025-12-06T16:56:21.512301",
        "raw_reasoning_output": {
            "thought": "check the scheduler first",
            "steps": [{"action": "search_logs", "observation": "cron at 03:00"}]
        },
        "tool_execution_results": [
            {"tool_name": "search_logs", "status": "success", "result": {"hits": 3}}
        ],
        "reflection_notes": "The answer rests on one log source."
    })
}

#[test]
fn answer_of_the_real_service_decodes() {
    let answer: QueryResponse = decode(&real_answer()).unwrap();
    assert_eq!(
        answer.raw_reasoning_output.as_ref().unwrap()["thought"],
        "check the scheduler first"
    );
    assert_eq!(answer.tools_used().collect::<Vec<_>>(), ["search_logs"]);
    assert_eq!(
        answer.reflection_notes.as_deref(),
        Some("The answer rests on one log source.")
    );
    assert_eq!(answer.timestamp.to_string(), "2025-12-06T16:56:21.512301Z");
}

#[test]
fn answer_takes_any_json_as_reasoning_output() {
    for output in [json!("Thought: ..."), json!(["a", "b"]), json!(42), Value::Null] {
        let answer: QueryResponse = decode(&with(
            &real_answer(),
            "/raw_reasoning_output",
            Some(output.clone()),
        ))
        .unwrap();
        let expected = (!output.is_null()).then_some(output);
        assert_eq!(answer.raw_reasoning_output, expected);
    }
}

#[test]
fn answer_reads_missing_and_null_optional_fields_as_empty() {
    for value in [None, Some(Value::Null)] {
        let body = with(&real_answer(), "/raw_reasoning_output", value.clone());
        let body = with(&body, "/tool_execution_results", value.clone());
        let body = with(&body, "/reflection_notes", value);
        let answer: QueryResponse = decode(&body).unwrap();
        assert_eq!(answer.raw_reasoning_output, None);
        assert!(answer.tool_execution_results.is_empty());
        assert_eq!(answer.reflection_notes, None);
    }
}

#[test]
fn answer_renders_structured_reflection_notes_as_text() {
    for (sent, expected) in [
        (json!("One source."), Some("One source.")),
        (
            json!(["One source.", "No cross-check."]),
            Some("One source.\nNo cross-check."),
        ),
        (
            json!(["One source.", {"risk": "low"}]),
            Some("One source.\n{\"risk\":\"low\"}"),
        ),
        (
            json!({"critique": "one source", "score": 0.8}),
            Some("{\"critique\":\"one source\",\"score\":0.8}"),
        ),
        (json!([]), None),
        (json!(""), Some("")),
    ] {
        let answer: QueryResponse =
            decode(&with(&real_answer(), "/reflection_notes", Some(sent.clone()))).unwrap();
        assert_eq!(answer.reflection_notes.as_deref(), expected, "{sent}");
    }
    let object = json!({"critique": "one source", "steps": [1, 2]});
    let answer: QueryResponse =
        decode(&with(&real_answer(), "/reflection_notes", Some(object.clone()))).unwrap();
    let back: Value = serde_json::from_str(answer.reflection_notes.as_deref().unwrap()).unwrap();
    assert_eq!(back, object);
}

#[test]
fn answer_decode_errors_name_their_field() {
    let cases: [(&str, Option<Value>, &str); 7] = [
        ("/confidence_score", Some(json!(1.5)), "confidence_score"),
        (
            "/processing_time_seconds",
            Some(json!(-1.0)),
            "processing_time_seconds",
        ),
        ("/final_response", None, "final_response"),
        ("/timestamp", Some(json!(true)), "timestamp"),
        ("/reflection_notes", Some(json!(5)), "reflection_notes"),
        ("/reflection_notes", Some(json!(true)), "reflection_notes"),
        (
            "/tool_execution_results",
            Some(json!("none")),
            "tool_execution_results",
        ),
    ];
    for (pointer, value, field) in cases {
        assert_names(
            decode::<QueryResponse>(&with(&real_answer(), pointer, value)),
            field,
        );
    }
}

// ---- GET /health ----

#[test]
fn health_reads_components_as_strings_or_objects_and_unknown_statuses() {
    let body = json!({
        "status": "HEALTHY",
        "components": {"maximus_ai": "healthy", "tig_fabric": {"status": "degraded", "nodes": 16}}
    });
    let health: HealthResponse = decode(&body).unwrap();
    assert_eq!(health.status, HealthStatus::Healthy);
    assert_eq!(health.message, None);
    assert_eq!(health.component_status("maximus_ai"), Some("healthy"));
    assert_eq!(health.component_status("tig_fabric"), Some("degraded"));
    assert_eq!(health.component_status("absent"), None);
    let health: HealthResponse = decode(&json!({"status": "starting", "components": null})).unwrap();
    assert_eq!(health.status, HealthStatus::Other("starting".into()));
    assert_names(decode::<HealthResponse>(&json!({"message": "hi"})), "status");
}

#[test]
fn health_reads_components_sent_as_a_list() {
    let body = json!({
        "status": "healthy",
        "components": [
            {"name": "tig_fabric", "status": "degraded", "nodes": 16},
            {"component": "esgt", "status": "healthy"},
            {"id": "mmei", "status": "healthy", "name": null},
            "maximus_ai",
            {"status": "unknown"},
            42
        ]
    });
    let health: HealthResponse = decode(&body).unwrap();
    let components = health.components.as_ref().unwrap();
    let mut names: Vec<&str> = components.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["4", "5", "esgt", "maximus_ai", "mmei", "tig_fabric"]);
    for (name, status) in [
        ("tig_fabric", Some("degraded")),
        ("esgt", Some("healthy")),
        ("mmei", Some("healthy")),
        ("maximus_ai", None),
        ("4", Some("unknown")),
        ("5", None),
    ] {
        assert_eq!(health.component_status(name), status, "{name}");
    }
    assert_eq!(components["tig_fabric"]["nodes"], 16);
    assert_eq!(components["maximus_ai"], Value::Null);
    let health: HealthResponse = decode(&json!({"status": "healthy", "components": []})).unwrap();
    assert_eq!(health.components, Some(serde_json::Map::new()));
    assert_names(
        decode::<HealthResponse>(&json!({"status": "healthy", "components": "all good"})),
        "components",
    );
}

// ---- GET /api/consciousness/esgt/events ----

fn real_event() -> Value {
    json!({
        "event_id": "esgt-0042", "timestamp": "2025-12-06T16:56:10.000001",
        "success": true, "salience": {"novelty": 0.8, "relevance": 0.9, "urgency": 0.4},
        "coherence": 0.85, "duration_ms": 150.0, "nodes_participating": 12, "reason": null
    })
}

#[test]
fn events_decode_from_the_real_list_and_from_an_object() {
    let failed = json!({
        "event_id": "esgt-0043", "timestamp": 1765040170.5, "success": false,
        "salience": {"novelty": 0.2}, "coherence": null, "duration_ms": null,
        "nodes_participating": 0, "reason": "below threshold", "phase": "sync"
    });
    let events: EsgtEvents = decode(&json!([real_event(), failed])).unwrap();
    assert_eq!(events.events.len(), 2);
    assert_eq!(events.events[0].nodes_participating, Some(12));
    assert_eq!(events.events[1].coherence, None);
    assert_eq!(events.events[1].reason.as_deref(), Some("below threshold"));
    assert_eq!(events.events[1].details["phase"], "sync");
    let events: EsgtEvents = decode(&json!({"events": [real_event()]})).unwrap();
    assert_eq!(events.events[0].event_id, "esgt-0042");
    let older = with(&real_event(), "/participating_nodes", Some(json!(7)));
    let older = with(&older, "/nodes_participating", None);
    let events: EsgtEvents = decode(&json!([older])).unwrap();
    assert_eq!(events.events[0].nodes_participating, Some(7));
}

#[test]
fn events_read_from_an_object_under_any_list_key_by_precedence() {
    let other = with(&real_event(), "/event_id", Some(json!("esgt-0099")));
    for (body, expected) in [
        (
            json!({"items": [real_event()], "total": 1, "page": 1}),
            vec!["esgt-0042"],
        ),
        (json!({"data": [real_event()]}), vec!["esgt-0042"]),
        (json!({"esgt_events": [real_event()]}), vec!["esgt-0042"]),
        (
            json!({"data": [other.clone()], "events": [real_event()]}),
            vec!["esgt-0042"],
        ),
        (
            json!({"events": [real_event()], "items": [other]}),
            vec!["esgt-0042"],
        ),
        (json!({"events": null, "count": 0}), vec![]),
        (json!({"events": []}), vec![]),
    ] {
        let events: EsgtEvents = decode(&body).unwrap();
        let ids: Vec<&str> = events.events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, expected, "{body}");
    }
}

#[test]
fn events_object_without_a_list_names_the_keys_it_looked_for() {
    let error = decode::<EsgtEvents>(&json!({"total": 0, "limit": 20})).unwrap_err();
    assert!(error.is_decode(), "{error}");
    assert_eq!(error.field(), Some("events"), "{error}");
    let text = error.to_string();
    for key in EsgtEvents::LIST_KEYS.iter().chain(&["total", "limit"]) {
        assert!(text.contains(&format!("`{key}`")), "{key}: {text}");
    }
    let error = decode::<EsgtEvents>(&json!({})).unwrap_err();
    assert!(error.to_string().contains("no keys"), "{error}");
    assert_names(decode::<EsgtEvents>(&json!({"events": "none"})), "events");
}

#[test]
fn event_decode_errors_name_their_field() {
    let bad = with(&real_event(), "/coherence", Some(json!(2.0)));
    assert_names(decode::<EsgtEvents>(&json!([real_event(), bad])), "[1].coherence");
    let bad = with(&real_event(), "/timestamp", Some(json!("never")));
    let error = decode::<EsgtEvents>(&json!([bad])).unwrap_err();
    assert!(
        error.is_decode() && error.to_string().contains("timestamp"),
        "{error}"
    );
}

// ---- GET /api/consciousness/arousal ----

#[test]
fn arousal_reads_lower_case_levels_and_missing_contributions() {
    let arousal: ArousalState = decode(&json!({"arousal": 0.65, "level": "alert"})).unwrap();
    assert_eq!(arousal.level, ArousalClassification::Alert);
    assert_eq!((arousal.baseline, arousal.timestamp), (None, None));
    assert_names(
        decode::<ArousalState>(&json!({"arousal": 0.5, "level": "relaxed", "baseline": 7.0})),
        "baseline",
    );
}

// ---- governance ----

#[test]
fn decisions_read_naive_timestamps_and_enums_in_any_case() {
    let body = json!({"decisions": [{
        "decision_id": "d-1", "action_type": "block_ip", "description": "scanner",
        "risk_level": "CRITICAL", "timestamp": "2025-12-06T16:56:19", "requires_approval": true,
        "status": "Pending", "sla_seconds": 300
    }]});
    let pending: PendingDecisions = decode(&body).unwrap();
    let decision = &pending.decisions[0];
    assert_eq!(decision.risk_level, RiskLevel::Critical);
    assert_eq!(decision.status, Some(DecisionStatus::Pending));
    assert_eq!(decision.timestamp.to_string(), "2025-12-06T16:56:19Z");
}
