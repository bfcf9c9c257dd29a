//! No credential in any exported byte, log line or error message.

#[path = "../maximus-trace/tests/support/fake_agent.rs"]
mod fake_agent;
#[path = "../maximus-trace/tests/support/log_capture.rs"]
mod log_capture;
#[path = "../maximus-trace/tests/support/otlp_receiver.rs"]
mod otlp_receiver;
mod support;

use std::time::Duration;

use maximus_client::MaximusClient;
use maximus_mock::{Fault, Method, MockMaximus, StatusCode};
use maximus_trace::TracingManager;

const API_KEY: &str = "apikey-SECRET-1";
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.jwt-SECRET-2";
const PASSWORD: &str = "password-SECRET-3";
const OTLP_TOKEN: &str = "otlp-SECRET-4";
const SECRETS: [&str; 5] = [API_KEY, JWT, PASSWORD, OTLP_TOKEN, "SECRET"];

/// Calls that carry every kind of credential, succeed and fail, through a traced client.
async fn calls_with_credentials() -> Vec<String> {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(
        Method::GET,
        "/api/consciousness/arousal",
        Fault::status(StatusCode::UNAUTHORIZED),
    );
    let userinfo_url = mock.url().replace("http://", &format!("http://ada:{PASSWORD}@"));
    let key_client = MaximusClient::builder()
        .base_url(userinfo_url)
        .api_key(API_KEY)
        .environment(|_| None)
        .build()
        .unwrap();
    let jwt_client = MaximusClient::builder()
        .base_url(mock.url())
        .jwt_token(JWT)
        .environment(|_| None)
        .build()
        .unwrap();
    let refused = MaximusClient::builder()
        .base_url(format!(
            "http://ada:{PASSWORD}@127.0.0.1:{}",
            support::closed_port()
        ))
        .api_key(API_KEY)
        .environment(|_| None)
        .max_retries(1)
        .retry_backoff(Duration::from_millis(1))
        .build()
        .unwrap();
    let mut errors = Vec::new();
    key_client.health().await.unwrap();
    jwt_client.query("hello", None, 10).await.unwrap();
    errors.push(
        key_client
            .consciousness()
            .get_arousal()
            .await
            .unwrap_err()
            .to_string(),
    );
    errors.push(
        jwt_client
            .consciousness()
            .get_arousal()
            .await
            .unwrap_err()
            .to_string(),
    );
    let refused_error = refused.health().await.unwrap_err();
    errors.push(format!("{refused_error} {refused_error:?}"));
    errors.push(format!("{key_client:?} {jwt_client:?}"));
    errors
}

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} leaked into {what}:\n{text}");
    }
}

#[test]
fn no_credential_in_exported_otlp_bytes_logs_or_errors() {
    log_capture::install();
    let _lock = support::exclusive();
    let receiver = otlp_receiver::OtlpReceiver::start();
    let guard = TracingManager::builder()
        .service_name("security")
        .environment(|name| {
            (name == "OTEL_EXPORTER_OTLP_HEADERS").then(|| format!("authorization=Bearer%20{OTLP_TOKEN}"))
        })
        .otlp_endpoint(receiver.endpoint())
        .init()
        .unwrap();
    let errors = support::runtime().block_on(calls_with_credentials());
    guard.force_flush().unwrap();
    drop(guard);
    let requests = receiver.requests();
    assert!(!requests.is_empty());
    // The OTLP header did reach the collector, where it belongs...
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {OTLP_TOKEN}")))
    );
    // ...and no credential is in any exported byte, log line or error.
    for request in &requests {
        assert_clean("an OTLP export body", &String::from_utf8_lossy(&request.raw));
    }
    assert_clean("the log", &log_capture::all());
    assert_clean("the client's errors", &errors.join("\n"));
}

#[test]
fn no_credential_in_jaeger_datagrams() {
    let _lock = support::exclusive();
    let agent = fake_agent::FakeAgent::start();
    let guard = TracingManager::builder()
        .environment(|_| None)
        .jaeger_agent("127.0.0.1", agent.port)
        .init()
        .unwrap();
    support::runtime().block_on(calls_with_credentials());
    drop(guard);
    let batches = agent.wait_for_spans(5, Duration::from_secs(10));
    assert!(batches.iter().map(|b| b.spans.len()).sum::<usize>() >= 5);
    assert_clean("a Jaeger datagram", &format!("{batches:?}"));
}

#[test]
fn a_malformed_otlp_headers_variable_is_an_error_that_does_not_show_its_value() {
    let error = TracingManager::builder()
        .environment(|name| (name == "OTEL_EXPORTER_OTLP_HEADERS").then(|| format!("Bearer {OTLP_TOKEN}")))
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{error}");
    assert_clean("the configuration error", &error);
}

#[test]
fn turning_certificate_verification_off_logs_a_warning() {
    log_capture::install();
    let _client = MaximusClient::builder()
        .base_url("https://maximus.example:8443")
        .danger_accept_invalid_certs(true)
        .environment(|_| None)
        .build()
        .unwrap();
    let warnings = log_capture::lines_containing("certificate verification is OFF");
    assert!(
        warnings.iter().any(|(level, _)| *level == log::Level::Warn),
        "{warnings:?}"
    );
}
