//! How the client and its spans behave when the server fails: statuses, retries,
//! connection failures, timeouts, bodies that do not decode.

mod support;

use std::time::Duration;

use maximus_client::MaximusClient;
use maximus_mock::{Fault, Method, MockMaximus, StatusCode};
use opentelemetry::Value as V;
use opentelemetry_sdk::trace::SpanData;
use support::{attr, children, is_error, one, traced};

fn client(url: &str) -> MaximusClient {
    support::client_builder(url)
        .retry_backoff(Duration::from_millis(5))
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

fn request_span<'a>(spans: &'a [SpanData], endpoint: &str) -> &'a SpanData {
    children(spans, one(spans, endpoint))[0]
}

fn retry_events(span: &SpanData) -> Vec<&opentelemetry::trace::Event> {
    span.events.iter().filter(|e| e.name == "retry").collect()
}

fn event_attr<'a>(event: &'a opentelemetry::trace::Event, key: &str) -> Option<&'a V> {
    event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

#[test]
fn server_error_500_is_an_api_error_marked_on_both_spans_without_retry() {
    let ((result, received), spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        mock.inject(
            Method::GET,
            "/health",
            Fault::status(StatusCode::INTERNAL_SERVER_ERROR),
        );
        let result = client(&mock.url()).health().await;
        (result, mock.requests().len())
    });
    let error = result.unwrap_err();
    assert!(error.is_api());
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(received, 1, "500 is not retried");
    let request = request_span(&spans, "health");
    assert!(is_error(request) && is_error(one(&spans, "health")));
    assert_eq!(attr(request, "http.status_code"), Some(&V::I64(500)));
    assert!(request.events.iter().any(|e| e.name == "exception"));
}

#[test]
fn not_found_404_is_an_api_error_with_its_body() {
    let (result, spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        client(&mock.url())
            .governance()
            .get_decision("no-such-decision")
            .await
    });
    let error = result.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
    assert!(error.body().unwrap().contains("not found"), "{:?}", error.body());
    assert_eq!(
        attr(request_span(&spans, "get_decision"), "http.status_code"),
        Some(&V::I64(404))
    );
}

#[test]
fn get_429_with_retry_after_is_retried_after_the_asked_delay() {
    let ((result, received), spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        let fault = Fault::status(StatusCode::TOO_MANY_REQUESTS).with_retry_after(1);
        mock.inject_times(Method::GET, "/api/consciousness/arousal", fault, 1);
        let result = client(&mock.url()).consciousness().get_arousal().await;
        (result, mock.requests().len())
    });
    assert!(result.is_ok());
    assert_eq!(received, 2);
    let request = request_span(&spans, "get_arousal");
    let retries = retry_events(request);
    assert_eq!(retries.len(), 1);
    assert_eq!(event_attr(retries[0], "retry.backoff_ms"), Some(&V::F64(1000.0)));
    assert_eq!(
        event_attr(retries[0], "retry.reason"),
        Some(&V::from("HTTP 429 Too Many Requests"))
    );
    assert_eq!(attr(request, "retry.attempt"), Some(&V::I64(2)));
    assert_eq!(attr(request, "http.status_code"), Some(&V::I64(200)));
    assert!(!is_error(request));
}

#[test]
fn get_503_retries_stop_after_max_retries() {
    let ((result, received), spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        mock.inject(
            Method::GET,
            "/health",
            Fault::status(StatusCode::SERVICE_UNAVAILABLE),
        );
        let result = client(&mock.url()).health().await;
        (result, mock.requests().len())
    });
    assert_eq!(
        result.unwrap_err().status(),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(received, 4, "one attempt and three retries");
    let request = request_span(&spans, "health");
    assert_eq!(retry_events(request).len(), 3);
    assert_eq!(attr(request, "retry.attempt"), Some(&V::I64(4)));
    assert!(is_error(request));
}

#[test]
fn post_503_is_never_retried() {
    let ((result, received), _spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        mock.inject(
            Method::POST,
            "/query",
            Fault::status(StatusCode::SERVICE_UNAVAILABLE),
        );
        let result = client(&mock.url()).query("hi", None, 10).await;
        (result, mock.requests().len())
    });
    assert_eq!(
        result.unwrap_err().status(),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(received, 1);
}

#[test]
fn post_dropped_connection_is_not_retried() {
    let ((result, received), _spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        mock.inject(Method::POST, "/query", Fault::DropConnection);
        let result = client(&mock.url()).query("hi", None, 10).await;
        (result, mock.requests().len())
    });
    assert!(result.is_err());
    assert_eq!(received, 1, "the request may have reached the server");
}

#[test]
fn connection_refused_is_retried_then_a_connect_error_for_every_method() {
    let url = format!("http://127.0.0.1:{}", support::closed_port());
    let ((get, post), spans) = traced(|| async {
        let c = client(&url);
        (c.health().await, c.query("hi", None, 10).await)
    });
    for (result, endpoint) in [(get.map(|_| ()), "health"), (post.map(|_| ()), "query")] {
        let error = result.unwrap_err();
        assert!(error.is_connect(), "{error}");
        let request = request_span(&spans, endpoint);
        assert_eq!(retry_events(request).len(), 3, "{endpoint}");
        assert!(is_error(request) && is_error(one(&spans, endpoint)));
        assert_eq!(attr(request, "http.status_code"), None);
    }
}

#[test]
fn slow_server_is_a_timeout_error() {
    let (result, spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        mock.inject(Method::GET, "/health", Fault::Latency(Duration::from_secs(3)));
        let c = support::client_builder(mock.url())
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        c.health().await
    });
    let error = result.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert!(is_error(request_span(&spans, "health")));
}

#[test]
fn malformed_json_is_a_decode_error() {
    let (result, spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        mock.inject(Method::GET, "/api/consciousness/state", Fault::MalformedBody);
        client(&mock.url()).consciousness().get_state().await
    });
    let error = result.unwrap_err();
    assert!(error.is_decode(), "{error}");
    assert!(is_error(request_span(&spans, "get_state")));
}

#[test]
fn out_of_range_value_is_a_decode_error_naming_the_field() {
    let (result, _spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        mock.inject(Method::GET, "/api/consciousness/state", Fault::OutOfRange);
        client(&mock.url()).consciousness().get_state().await
    });
    let error = result.unwrap_err();
    assert!(error.is_decode());
    assert_eq!(error.field(), Some("arousal_level"));
    assert!(error.to_string().contains("arousal_level"), "{error}");
}

#[test]
fn huge_body_is_refused_past_the_limit() {
    let (result, _spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        mock.inject(
            Method::GET,
            "/health",
            Fault::HugeBody {
                bytes: 4 * 1024 * 1024,
            },
        );
        let c = support::client_builder(mock.url())
            .max_response_bytes(1024 * 1024)
            .build()
            .unwrap();
        c.health().await
    });
    let error = result.unwrap_err();
    assert!(
        error.is_decode() && error.to_string().contains("limit"),
        "{error}"
    );
}

#[test]
fn slow_drip_body_ends_at_the_timeout() {
    let (result, _spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        mock.inject(
            Method::GET,
            "/health",
            Fault::SlowDrip {
                chunk_interval: Duration::from_millis(200),
            },
        );
        let c = support::client_builder(mock.url())
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        c.health().await
    });
    assert!(result.unwrap_err().is_timeout());
}
