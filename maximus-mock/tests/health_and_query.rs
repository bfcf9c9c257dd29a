//! `/health`, `/query` and the JSON 404, over real HTTP.

mod common;

use common::{assert_isoformat, assert_unit_interval, get, get_json, post, post_json};
use maximus_mock::MockMaximus;
use serde_json::{Value, json};

#[tokio::test]
async fn health_is_healthy_with_a_status_per_component() {
    let mock = MockMaximus::start().await.unwrap();
    let health = get_json(&mock, "/health").await;

    assert_eq!(health["status"], "healthy");
    assert!(health["message"].is_string());
    let components = health["components"].as_object().unwrap();
    assert!(!components.is_empty());
    assert!(components.values().all(|status| status == "healthy"));
}

#[tokio::test]
async fn query_answers_with_documented_fields_and_ranges() {
    let mock = MockMaximus::start().await.unwrap();
    let answer = post_json(
        &mock,
        "/query",
        &json!({"query": "Is host WS-0142 compromised?", "context": {"host": "WS-0142"}, "max_tokens": 500}),
    )
    .await;

    assert!(answer["final_response"].as_str().unwrap().contains("WS-0142"));
    assert_unit_interval(&answer, "confidence_score");
    assert!(answer["processing_time_seconds"].as_f64().unwrap() > 0.0);
    assert_isoformat(&answer["timestamp"]);
    // The reasoning engine's output is any JSON; the service sends an object.
    assert!(answer["raw_reasoning_output"].is_object());
    let tools = answer["tool_execution_results"].as_array().unwrap();
    assert!(
        tools
            .iter()
            .all(|t| t["tool_name"].is_string() && t["status"] == "success")
    );
    assert!(!answer["reflection_notes"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn query_keeps_final_response_within_max_tokens() {
    let mock = MockMaximus::start().await.unwrap();
    let answer = post_json(&mock, "/query", &json!({"query": "status?", "max_tokens": 5})).await;

    let words = answer["final_response"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .count();
    assert_eq!(words, 5);
}

#[tokio::test]
async fn query_without_query_field_is_422_with_json_detail() {
    let mock = MockMaximus::start().await.unwrap();
    let response = post(&mock, "/query", &json!({"context": {}})).await;

    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("query"));
}

#[tokio::test]
async fn query_with_blank_query_is_422() {
    let mock = MockMaximus::start().await.unwrap();
    let response = post(&mock, "/query", &json!({"query": "   "})).await;

    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn unknown_path_is_404_with_json_detail() {
    let mock = MockMaximus::start().await.unwrap();
    let response = get(&mock, "/api/v2/nothing-here").await;

    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"detail": "Not Found"}));
}
