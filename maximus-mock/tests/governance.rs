//! The governance endpoints and their event stream, over real HTTP.

mod common;

use std::time::Duration;

use common::{assert_rfc3339, get, get_json, post, post_json};
use maximus_mock::MockMaximus;
use serde_json::{Value, json};

async fn first_pending_id(mock: &MockMaximus) -> String {
    let pending = get_json(mock, "/api/v1/governance/pending").await;
    pending["decisions"][0]["decision_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn pending_decisions_have_the_documented_fields() {
    let mock = MockMaximus::start().await.unwrap();
    let pending = get_json(&mock, "/api/v1/governance/pending").await;

    let decisions = pending["decisions"].as_array().unwrap();
    assert!(!decisions.is_empty());
    for decision in decisions {
        assert!(decision["decision_id"].is_string());
        assert!(decision["action_type"].is_string());
        assert!(decision["description"].is_string());
        let risk = decision["risk_level"].as_str().unwrap();
        assert!(["low", "medium", "high", "critical"].contains(&risk), "{risk}");
        assert_rfc3339(&decision["timestamp"]);
        assert_eq!(decision["requires_approval"], true);
    }
}

#[tokio::test]
async fn pending_for_an_operator_leaves_out_other_operators_decisions() {
    let mock = MockMaximus::start().await.unwrap();
    let all = get_json(&mock, "/api/v1/governance/pending").await;
    let mine = get_json(&mock, "/api/v1/governance/pending?operator_id=someone-else").await;

    let assigned = |v: &Value| {
        v["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["operator_id"].is_string())
            .count()
    };
    assert!(assigned(&all) > 0);
    assert_eq!(assigned(&mine), 0);
    assert!(!mine["decisions"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn decision_is_found_by_id() {
    let mock = MockMaximus::start().await.unwrap();
    let id = first_pending_id(&mock).await;
    let decision = get_json(&mock, &format!("/api/v1/governance/decision/{id}")).await;

    assert_eq!(decision["decision_id"], id.as_str());
    assert_eq!(decision["status"], "pending");
}

#[tokio::test]
async fn unknown_decision_is_404_with_json_detail() {
    let mock = MockMaximus::start().await.unwrap();
    let response = get(&mock, "/api/v1/governance/decision/no-such-id").await;

    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("no-such-id"));
}

#[tokio::test]
async fn approved_decision_leaves_the_pending_list() {
    let mock = MockMaximus::start().await.unwrap();
    let id = first_pending_id(&mock).await;
    let resolution = post_json(
        &mock,
        &format!("/api/v1/governance/decision/{id}/approve"),
        &json!({"operator_id": "op-7", "reason": "verified"}),
    )
    .await;

    assert_eq!(resolution["decision_id"], id.as_str());
    assert_eq!(resolution["status"], "approved");
    assert_eq!(resolution["operator_id"], "op-7");
    assert_rfc3339(&resolution["timestamp"]);
    let pending = get_json(&mock, "/api/v1/governance/pending").await;
    assert!(
        pending["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["decision_id"] != id.as_str())
    );
}

#[tokio::test]
async fn verdicts_are_counted_in_operator_stats() {
    let mock = MockMaximus::start().await.unwrap();
    for action in ["approve", "reject", "escalate"] {
        let id = first_pending_id(&mock).await;
        let path = format!("/api/v1/governance/decision/{id}/{action}");
        post_json(&mock, &path, &json!({"operator_id": "op-7", "reason": "test"})).await;
    }
    let stats = get_json(&mock, "/api/v1/governance/session/op-7/stats").await;

    assert_eq!(stats["operator_id"], "op-7");
    assert_eq!(stats["total_decisions"], 3);
    assert_eq!(
        (
            stats["approved"].clone(),
            stats["rejected"].clone(),
            stats["escalated"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    assert!(stats["avg_response_time"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn resolving_a_decision_twice_is_409() {
    let mock = MockMaximus::start().await.unwrap();
    let id = first_pending_id(&mock).await;
    let path = format!("/api/v1/governance/decision/{id}/reject");
    post_json(&mock, &path, &json!({"operator_id": "op-1", "reason": "no"})).await;
    let again = post(&mock, &path, &json!({"operator_id": "op-1", "reason": "no"})).await;

    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn session_expires_after_it_is_created() {
    let mock = MockMaximus::start().await.unwrap();
    let session = post_json(
        &mock,
        "/api/v1/governance/session/create",
        &json!({"operator_id": "op-7", "operator_name": "Ada", "role": "soc_operator"}),
    )
    .await;

    assert!(session["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(session["operator_id"], "op-7");
    assert_rfc3339(&session["created_at"]);
    assert_rfc3339(&session["expires_at"]);
    assert!(session["expires_at"].as_str() > session["created_at"].as_str());
}

#[tokio::test]
async fn stream_sends_the_configured_number_of_events_then_ends() {
    let mock = MockMaximus::start().await.unwrap();
    mock.set_stream_events(4);
    mock.set_stream_interval(Duration::from_millis(10));
    let session = post_json(
        &mock,
        "/api/v1/governance/session/create",
        &json!({"operator_id": "op-7"}),
    )
    .await;
    let path = format!(
        "/api/v1/governance/stream/op-7?session_id={}",
        session["session_id"].as_str().unwrap()
    );
    let response = get(&mock, &path).await;

    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    let events: Vec<Value> = text
        .split("\n\n")
        .filter(|frame| !frame.is_empty())
        .map(|frame| serde_json::from_str(frame.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(events.len(), 4);
    assert!(
        events
            .iter()
            .all(|e| e["type"] == "decision_pending" && e["decision"]["operator_id"] == "op-7")
    );
}

#[tokio::test]
async fn streamed_decisions_become_pending() {
    let mock = MockMaximus::start().await.unwrap();
    mock.set_stream_events(1);
    let text = get(&mock, "/api/v1/governance/stream/op-9")
        .await
        .text()
        .await
        .unwrap();
    let event: Value = serde_json::from_str(text.trim().strip_prefix("data: ").unwrap()).unwrap();
    let id = event["decision"]["decision_id"].as_str().unwrap();

    let pending = get_json(&mock, "/api/v1/governance/pending?operator_id=op-9").await;
    assert!(
        pending["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["decision_id"] == id)
    );
}

#[tokio::test]
async fn stream_with_unknown_session_is_404() {
    let mock = MockMaximus::start().await.unwrap();
    let response = get(&mock, "/api/v1/governance/stream/op-7?session_id=nope").await;

    assert_eq!(response.status(), 404);
}
