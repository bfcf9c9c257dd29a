//! Each fault kind, as a plain HTTP client sees it.

mod common;

use std::time::Duration;

use common::{get, get_json, post};
use maximus_mock::{Fault, Method, MockMaximus, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn status_fault_answers_its_code_body_and_retry_after() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(
        Method::GET,
        "/health",
        Fault::Status {
            code: StatusCode::SERVICE_UNAVAILABLE,
            body: r#"{"detail":"maintenance"}"#.to_owned(),
            retry_after: Some(7),
        },
    );
    let response = get(&mock, "/health").await;

    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"detail": "maintenance"})
    );
}

#[tokio::test]
async fn fault_for_two_requests_is_followed_by_normal_answers() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject_times(
        Method::GET,
        "/health",
        Fault::status(StatusCode::SERVICE_UNAVAILABLE),
        2,
    );

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get(&mock, "/health").await.status().as_u16());
    }
    assert_eq!(statuses, [503, 503, 200]);
}

#[tokio::test]
async fn faults_apply_only_to_their_method_and_path() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(Method::POST, "/health", Fault::status(StatusCode::BAD_GATEWAY));
    mock.inject(
        Method::GET,
        "/api/consciousness/metrics",
        Fault::status(StatusCode::BAD_GATEWAY),
    );

    assert_eq!(get(&mock, "/health").await.status(), 200);
    assert_eq!(get(&mock, "/api/consciousness/arousal").await.status(), 200);
}

#[tokio::test]
async fn faults_match_the_path_whatever_the_query() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(
        Method::GET,
        "/api/consciousness/esgt/events",
        Fault::status(StatusCode::BAD_GATEWAY),
    );

    assert_eq!(
        get(&mock, "/api/consciousness/esgt/events?limit=3")
            .await
            .status(),
        502
    );
}

#[tokio::test]
async fn cleared_faults_no_longer_apply() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(
        Method::GET,
        "/health",
        Fault::status(StatusCode::SERVICE_UNAVAILABLE),
    );
    mock.clear_faults();

    assert_eq!(get(&mock, "/health").await.status(), 200);
}

#[tokio::test]
async fn latency_fault_lets_a_later_request_finish_first() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(Method::GET, "/health", Fault::Latency(Duration::from_secs(1)));
    let slow = get(&mock, "/health");
    let fast = get(&mock, "/api/consciousness/safety/status");
    tokio::pin!(slow, fast);

    let first = tokio::select! {
        biased;
        _ = &mut slow => "delayed",
        _ = &mut fast => "undelayed",
    };
    assert_eq!(first, "undelayed");
    let delayed = slow.await;
    assert_eq!(delayed.status(), 200);
    assert_eq!(delayed.json::<Value>().await.unwrap()["status"], "healthy");
}

#[tokio::test]
async fn dropped_connection_is_a_connection_error_not_a_response() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(Method::GET, "/health", Fault::DropConnection);
    let error = reqwest::Client::new()
        .get(format!("{}/health", mock.url()))
        .send()
        .await
        .expect_err("no response arrives");

    assert!(error.status().is_none(), "{error:?}");
    assert!(error.is_request(), "{error:?}");
}

#[tokio::test]
async fn dropped_connection_once_is_followed_by_normal_answers() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject_times(Method::GET, "/health", Fault::DropConnection, 1);
    let client = reqwest::Client::new();
    let url = format!("{}/health", mock.url());

    assert!(client.get(&url).send().await.is_err());
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn malformed_body_is_200_with_invalid_json() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(Method::POST, "/query", Fault::MalformedBody);
    let response = post(&mock, "/query", &json!({"query": "hello"})).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
}

#[tokio::test]
async fn out_of_range_breaks_documented_ranges_in_valid_json() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(Method::GET, "/api/consciousness/state", Fault::OutOfRange);
    let state = get_json(&mock, "/api/consciousness/state").await;

    assert_eq!(state["arousal_level"], 3.0);
    assert_eq!(state["tig_metrics"]["density"], 3.0);
    assert_eq!(state["tig_metrics"]["avg_latency_us"], -1.0);
    assert!(
        state["tig_metrics"]["node_count"].as_u64().is_some(),
        "integer counts stay valid"
    );
    assert_eq!(state["system_health"], "HEALTHY");
}

#[tokio::test]
async fn slow_drip_sends_headers_then_the_body_one_byte_at_a_time() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(
        Method::GET,
        "/api/consciousness/safety/status",
        Fault::SlowDrip {
            chunk_interval: Duration::from_millis(2),
        },
    );
    let mut response = get(&mock, "/api/consciousness/safety/status").await;
    assert_eq!(response.status(), 200);

    let mut body = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        assert_eq!(chunk.len(), 1);
        body.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(chunks > 10);
    let safety: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(safety["enabled"], true);
}

#[tokio::test]
async fn huge_body_streams_exactly_the_requested_bytes() {
    let mock = MockMaximus::start().await.unwrap();
    let size = 5 * 1024 * 1024 + 3;
    mock.inject(
        Method::GET,
        "/api/consciousness/metrics",
        Fault::HugeBody { bytes: size },
    );
    let response = get(&mock, "/api/consciousness/metrics").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), None);
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), size);
    assert!(serde_json::from_slice::<Value>(&body).is_ok());
}

#[tokio::test]
async fn admin_route_injects_faults_over_http() {
    let mock = MockMaximus::start().await.unwrap();
    let injected = post(
        &mock,
        "/__mock/faults",
        &json!({
            "method": "GET",
            "path": "/health",
            "times": 1,
            "fault": {"kind": "status", "code": 429, "retry_after": 2},
        }),
    )
    .await;
    assert_eq!(injected.status(), 204);

    let limited = get(&mock, "/health").await;
    assert_eq!(
        (
            limited.status().as_u16(),
            limited.headers()["retry-after"].to_str().unwrap()
        ),
        (429, "2")
    );
    assert_eq!(get(&mock, "/health").await.status(), 200);
}
