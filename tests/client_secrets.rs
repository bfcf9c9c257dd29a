//! No credential reaches a span, an event, or an error message.

mod support;

use std::time::Duration;

use maximus_client::MaximusClient;
use maximus_mock::{Fault, Method, MockMaximus, StatusCode};
use support::{all_text, traced};

const API_KEY: &str = "key-7f3a9c-SECRET";
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.SIGNATURE-SECRET";
const PASSWORD: &str = "hunter2-SECRET";
const QUERY_TOKEN: &str = "tok-SECRET-991";

#[test]
fn api_key_jwt_userinfo_and_secret_query_parameters_never_reach_spans_or_errors() {
    let ((received, errors), spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        mock.inject(
            Method::GET,
            "/api/consciousness/arousal",
            Fault::status(StatusCode::BAD_GATEWAY),
        );
        let base = mock.url().replace("http://", &format!("http://ada:{PASSWORD}@"));
        let with_key = MaximusClient::builder()
            .base_url(format!("{base}/?access_token={QUERY_TOKEN}"))
            .api_key(API_KEY)
            .environment(|_| None)
            .retry_backoff(Duration::from_millis(1))
            .build()
            .unwrap();
        let with_jwt = MaximusClient::builder()
            .base_url(mock.url())
            .jwt_token(JWT)
            .environment(|_| None)
            .max_retries(0)
            .build()
            .unwrap();
        let mut errors = Vec::new();
        with_key.health().await.unwrap();
        errors.push(
            with_key
                .consciousness()
                .get_arousal()
                .await
                .unwrap_err()
                .to_string(),
        );
        with_jwt.health().await.unwrap();
        errors.push(
            with_jwt
                .consciousness()
                .get_arousal()
                .await
                .unwrap_err()
                .to_string(),
        );
        errors.push(format!("{with_key:?} {with_jwt:?}"));
        (mock.requests(), errors)
    });
    // The credentials did reach the server, where they belong...
    assert!(received.iter().any(|r| r.header("x-api-key") == Some(API_KEY)));
    assert!(
        received
            .iter()
            .any(|r| r.header("authorization") == Some(&format!("Bearer {JWT}")))
    );
    // ...and nowhere else.
    let recorded = all_text(&spans) + &errors.join("\n");
    for secret in [API_KEY, JWT, PASSWORD, QUERY_TOKEN, "SECRET"] {
        assert!(!recorded.contains(secret), "{secret} leaked into:\n{recorded}");
    }
    assert!(recorded.contains("REDACTED"), "the URL is recorded, redacted");
}

#[test]
fn traceparent_of_every_request_names_the_api_request_span() {
    let (received, spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        let client = support::client_builder(mock.url()).build().unwrap();
        client.health().await.unwrap();
        mock.requests()
    });
    let request = spans.iter().find(|s| s.name == "api_request").unwrap();
    let traceparent = received[0].header("traceparent").expect("traceparent sent");
    let expected = format!(
        "00-{}-{}-01",
        request.span_context.trace_id(),
        request.span_context.span_id()
    );
    assert_eq!(traceparent, expected);
}
