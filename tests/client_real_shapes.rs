//! The client against bodies exactly as the real MAXIMUS core service sends them (from its
//! public source), served over HTTP: what a user meets against a real backend, beyond the
//! mock's own answers.

mod support;

use maximus_client::models::{ArousalClassification, SystemHealth};
use maximus_mock::{Fault, Method, MockMaximus, StatusCode};
use support::runtime;

/// Starts a mock that answers `method path` once with `body`, and returns the client's
/// result of `call` on it.
fn replay<T>(
    method: Method,
    path: &str,
    body: &str,
    call: impl AsyncFnOnce(&maximus_client::MaximusClient) -> maximus_client::Result<T>,
) -> maximus_client::Result<T> {
    runtime().block_on(async {
        let mock = MockMaximus::start().await.expect("mock");
        mock.inject_times(method, path, Fault::respond(StatusCode::OK, body), 1);
        let client = support::client_builder(mock.url()).build().expect("client");
        call(&client).await
    })
}

const STATE: &str = r#"{"timestamp": "2025-12-06T16:56:19.043975", "esgt_active": true,
  "arousal_level": 0.55, "arousal_classification": "relaxed",
  "tig_metrics": {"node_count": 16, "edge_count": 48, "density": 0.4, "avg_clustering_coefficient": 0.75,
    "avg_path_length": 1.6, "algebraic_connectivity": 2.1, "effective_connectivity_index": 0.86,
    "has_feed_forward_bottlenecks": false, "bottleneck_locations": [], "min_path_redundancy": 3,
    "avg_latency_us": 12.5, "max_latency_us": 40.2, "total_bandwidth_gbps": 10.0,
    "last_update": 1765040179.043975, "phi_proxy": 0.91},
  "recent_events_count": 3, "system_health": "HEALTHY", "kill_switch": {"armed": false}}"#;

const ANSWER: &str = r#"{"final_response": "The anomaly is a misconfigured cron job.",
  "confidence_score": 0.87, "processing_time_seconds": 1.42, "timestamp": "2025-12-06T16:56:21.512301",
  "raw_reasoning_output": {"thought": "check the scheduler first", "steps": [{"action": "search_logs"}]},
  "tool_execution_results": [{"tool_name": "search_logs", "status": "success", "result": {"hits": 3}}],
  "reflection_notes": null}"#;

const EVENTS: &str = r#"[{"event_id": "esgt-0042", "timestamp": "2025-12-06T16:56:10.000001", "success": true,
  "salience": {"novelty": 0.8, "relevance": 0.9, "urgency": 0.4}, "coherence": 0.85, "duration_ms": 150.0,
  "nodes_participating": 12, "reason": null}]"#;

#[test]
fn consciousness_state_of_the_real_service_decodes() {
    let state = replay(Method::GET, "/api/consciousness/state", STATE, async |c| {
        c.consciousness().get_state().await
    })
    .expect("decodes");
    assert_eq!(state.arousal_classification, ArousalClassification::Relaxed);
    assert_eq!(state.system_health, SystemHealth::Healthy);
    assert_eq!(state.tig_metrics.node_count(), Some(16));
    assert!(state.tig_metrics.last_update().is_some());
    assert_eq!(state.timestamp.to_string(), "2025-12-06T16:56:19.043975Z");
}

#[test]
fn query_answer_of_the_real_service_decodes() {
    let answer = replay(Method::POST, "/query", ANSWER, async |c| {
        c.query("why did the job fail?", None, 100).await
    })
    .expect("decodes");
    assert_eq!(
        answer.raw_reasoning_output.unwrap()["thought"],
        "check the scheduler first"
    );
    assert_eq!(answer.reflection_notes, None);
}

#[test]
fn esgt_events_of_the_real_service_decode() {
    let events = replay(Method::GET, "/api/consciousness/esgt/events", EVENTS, async |c| {
        c.consciousness().get_esgt_events(20).await
    })
    .expect("decodes");
    assert_eq!(events.events[0].nodes_participating, Some(12));
}

#[test]
fn an_out_of_range_value_is_still_a_decode_error_naming_the_field() {
    let body = STATE.replace("\"arousal_level\": 0.55", "\"arousal_level\": 3.0");
    let error = replay(Method::GET, "/api/consciousness/state", &body, async |c| {
        c.consciousness().get_state().await
    })
    .expect_err("out of range");
    assert!(error.is_decode());
    assert_eq!(error.field(), Some("arousal_level"));
}
