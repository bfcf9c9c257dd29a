//! Helpers shared by the integration tests: a plain HTTP client against a mock.

#![allow(dead_code)] // each test binary uses its own subset

use maximus_mock::MockMaximus;
use serde_json::Value;

pub async fn get(mock: &MockMaximus, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", mock.url()))
        .send()
        .await
        .expect("request reaches the mock")
}

pub async fn post(mock: &MockMaximus, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", mock.url()))
        .json(body)
        .send()
        .await
        .expect("request reaches the mock")
}

/// GETs `path`, expecting 200 and a JSON body.
pub async fn get_json(mock: &MockMaximus, path: &str) -> Value {
    let response = get(mock, path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.expect("JSON body")
}

/// POSTs `body` to `path`, expecting 200 and a JSON body.
pub async fn post_json(mock: &MockMaximus, path: &str, body: &Value) -> Value {
    let response = post(mock, path, body).await;
    assert_eq!(response.status(), 200, "POST {path}");
    response.json().await.expect("JSON body")
}

pub fn assert_unit_interval(value: &Value, field: &str) {
    let number = value[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is a number in {value}"));
    assert!((0.0..=1.0).contains(&number), "{field} = {number}");
}

/// RFC 3339 in UTC as the mock writes it: `2024-05-01T12:00:00.123456Z`.
/// A timestamp as Python's `datetime.now().isoformat()` writes it: microseconds, no offset.
pub fn assert_isoformat(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("{value} is a string"));
    let bytes = text.as_bytes();
    assert!(
        text.len() == 26
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes[10] == b'T'
            && bytes[13] == b':'
            && bytes[16] == b':'
            && bytes[19] == b'.'
            && text[20..].bytes().all(|b| b.is_ascii_digit()),
        "{text} is isoformat() without an offset"
    );
}

/// Unix seconds (`time.time()`) within a day of now.
pub fn assert_unix_seconds(value: &Value) {
    let seconds = value.as_f64().unwrap_or_else(|| panic!("{value} is a number"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((seconds - now).abs() < 86_400.0, "{seconds} is about now ({now})");
}

pub fn assert_rfc3339(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("{value} is a string"));
    let bytes = text.as_bytes();
    assert!(
        text.len() == 27
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes[10] == b'T'
            && bytes[13] == b':'
            && bytes[16] == b':'
            && bytes[19] == b'.'
            && text.ends_with('Z'),
        "{text} is RFC 3339"
    );
}
