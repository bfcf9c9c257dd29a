//! The consciousness endpoints, over real HTTP.

mod common;

use common::{
    assert_isoformat, assert_rfc3339, assert_unit_interval, assert_unix_seconds, get, get_json, post,
    post_json,
};
use maximus_mock::MockMaximus;
use serde_json::json;

#[tokio::test]
async fn state_reports_arousal_and_tig_metrics_in_range() {
    let mock = MockMaximus::start().await.unwrap();
    let state = get_json(&mock, "/api/consciousness/state").await;

    // The real service's shapes: a naive isoformat() timestamp, a lower-case
    // classification, `time.time()` seconds inside the TIG metrics.
    assert_isoformat(&state["timestamp"]);
    assert_eq!(state["esgt_active"], true);
    assert_unit_interval(&state, "arousal_level");
    let classification = state["arousal_classification"].as_str().unwrap();
    assert_eq!(classification, classification.to_lowercase());
    assert!(state["recent_events_count"].as_u64().unwrap() > 0);
    assert_eq!(state["system_health"], "HEALTHY");
    let tig = &state["tig_metrics"];
    let nodes = tig["node_count"].as_f64().unwrap();
    let edges = tig["edge_count"].as_f64().unwrap();
    let density = tig["density"].as_f64().unwrap();
    assert!((density - edges / (nodes * (nodes - 1.0) / 2.0)).abs() < 1e-3);
    for field in [
        "avg_clustering_coefficient",
        "algebraic_connectivity",
        "effective_connectivity_index",
    ] {
        assert_unit_interval(tig, field);
    }
    for field in [
        "avg_path_length",
        "min_path_redundancy",
        "avg_latency_us",
        "max_latency_us",
        "total_bandwidth_gbps",
    ] {
        assert!(tig[field].as_f64().unwrap() > 0.0, "{field}");
    }
    assert_eq!(tig["has_feed_forward_bottlenecks"], false);
    assert!(tig["bottleneck_locations"].as_array().unwrap().is_empty());
    assert_unix_seconds(&tig["last_update"]);
}

#[tokio::test]
async fn arousal_is_the_sum_of_baseline_and_contributions() {
    let mock = MockMaximus::start().await.unwrap();
    let arousal = get_json(&mock, "/api/consciousness/arousal").await;

    assert_unit_interval(&arousal, "arousal");
    assert_unit_interval(&arousal, "baseline");
    let sum = ["baseline", "need_contribution", "temporal_contribution"]
        .iter()
        .map(|f| arousal[f].as_f64().unwrap())
        .sum::<f64>();
    assert!((arousal["arousal"].as_f64().unwrap() - sum).abs() < 1e-3);
    assert_eq!(arousal["level"], "alert");
    assert_isoformat(&arousal["timestamp"]);
}

#[tokio::test]
async fn adjusting_arousal_moves_the_level_everywhere() {
    let mock = MockMaximus::start().await.unwrap();
    let adjusted = post_json(
        &mock,
        "/api/consciousness/arousal/adjust",
        &json!({"target_level": 0.3}),
    )
    .await;

    assert_eq!(adjusted["arousal"], 0.3);
    assert_eq!(adjusted["level"], "drowsy");
    let state = get_json(&mock, "/api/consciousness/state").await;
    assert_eq!(state["arousal_level"], 0.3);
    assert_eq!(state["arousal_classification"], "drowsy");
}

#[tokio::test]
async fn adjusting_arousal_outside_zero_to_one_is_422() {
    let mock = MockMaximus::start().await.unwrap();
    let response = post(
        &mock,
        "/api/consciousness/arousal/adjust",
        &json!({"target_level": 1.5}),
    )
    .await;

    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("target_level"));
}

#[tokio::test]
async fn safety_status_is_enabled_without_violations() {
    let mock = MockMaximus::start().await.unwrap();
    let safety = get_json(&mock, "/api/consciousness/safety/status").await;

    assert_eq!(
        safety,
        json!({"enabled": true, "violations_count": 0, "emergency_shutdown_available": true})
    );
}

#[tokio::test]
async fn triggered_esgt_event_is_listed_first_among_events() {
    let mock = MockMaximus::start().await.unwrap();
    let event = post_json(
        &mock,
        "/api/consciousness/esgt/trigger",
        &json!({"event_type": "threat_detected", "data": {"source": "test"}}),
    )
    .await;

    assert_eq!(event["event_type"], "threat_detected");
    assert_eq!(event["success"], true);
    assert!(event["event_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_isoformat(&event["timestamp"]);
    let listed = get_json(&mock, "/api/consciousness/esgt/events?limit=10").await;
    assert_eq!(listed[0]["event_id"], event["event_id"]);
}

#[tokio::test]
async fn esgt_events_are_limited_to_limit() {
    let mock = MockMaximus::start().await.unwrap();
    for _ in 0..3 {
        post_json(
            &mock,
            "/api/consciousness/esgt/trigger",
            &json!({"event_type": "attention_shift", "data": {}}),
        )
        .await;
    }
    let listed = get_json(&mock, "/api/consciousness/esgt/events?limit=2").await;

    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn esgt_events_with_non_numeric_limit_is_422() {
    let mock = MockMaximus::start().await.unwrap();
    let response = get(&mock, "/api/consciousness/esgt/events?limit=many").await;

    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn metrics_is_an_object_counting_triggered_events() {
    let mock = MockMaximus::start().await.unwrap();
    let before = get_json(&mock, "/api/consciousness/metrics").await;
    post_json(
        &mock,
        "/api/consciousness/esgt/trigger",
        &json!({"event_type": "x", "data": {}}),
    )
    .await;
    let after = get_json(&mock, "/api/consciousness/metrics").await;

    assert!(after.is_object());
    assert_eq!(
        after["esgt_events_total"].as_u64().unwrap(),
        before["esgt_events_total"].as_u64().unwrap() + 1
    );
    assert_unit_interval(&after, "esgt_success_rate");
}

#[tokio::test]
async fn emergency_shutdown_is_reflected_in_health_and_safety() {
    let mock = MockMaximus::start().await.unwrap();
    let record = post_json(
        &mock,
        "/api/consciousness/safety/emergency-shutdown",
        &json!({"reason": "operator drill"}),
    )
    .await;

    assert_eq!(record["status"], "shutdown_initiated");
    assert_eq!(record["reason"], "operator drill");
    assert_rfc3339(&record["timestamp"]);
    assert_eq!(get_json(&mock, "/health").await["status"], "degraded");
    let safety = get_json(&mock, "/api/consciousness/safety/status").await;
    assert_eq!(safety["emergency_shutdown_available"], false);
}
