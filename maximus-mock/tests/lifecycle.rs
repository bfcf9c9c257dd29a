//! Starting and stopping mocks, and the request record.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{get, post};
use maximus_mock::{Fault, Method, MockMaximus, StatusCode};
use serde_json::json;

#[tokio::test]
async fn url_is_http_on_loopback_with_the_bound_port() {
    let mock = MockMaximus::start().await.unwrap();

    assert!(mock.addr().ip().is_loopback());
    assert_ne!(mock.addr().port(), 0);
    assert_eq!(mock.url(), format!("http://127.0.0.1:{}", mock.addr().port()));
}

#[tokio::test]
async fn record_holds_method_path_query_headers_and_body() {
    let mock = MockMaximus::start().await.unwrap();
    reqwest::Client::new()
        .post(format!("{}/query?debug=1", mock.url()))
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .json(&json!({"query": "hi"}))
        .send()
        .await
        .unwrap();

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/query");
    assert_eq!(request.query.as_deref(), Some("debug=1"));
    assert_eq!(
        request.header("traceparent"),
        Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    );
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.body_str(), Some(r#"{"query":"hi"}"#));
}

#[tokio::test]
async fn faulted_requests_are_recorded_too() {
    let mock = MockMaximus::start().await.unwrap();
    mock.inject(
        Method::GET,
        "/health",
        Fault::status(StatusCode::SERVICE_UNAVAILABLE),
    );
    get(&mock, "/health").await;
    get(&mock, "/health").await;

    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn cleared_record_is_empty() {
    let mock = MockMaximus::start().await.unwrap();
    get(&mock, "/health").await;
    mock.clear_requests();

    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn admin_requests_are_not_recorded() {
    let mock = MockMaximus::start().await.unwrap();
    post(&mock, "/__mock/stream", &json!({"events": 1})).await;
    get(&mock, "/__mock/requests").await;

    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let mock = MockMaximus::start().await.unwrap();
    get(&mock, "/health").await;
    let addr = mock.addr();
    mock.shutdown().await;

    assert!(TcpStream::connect(addr).is_err());
}

/// One HTTP/1.1 exchange over a std socket: no async runtime anywhere.
fn blocking_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn blocking_mock_serves_synchronous_callers() {
    let mock = MockMaximus::start_blocking().unwrap();
    let response = blocking_get(mock.addr(), "/health");

    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains(r#""status":"healthy""#), "{response}");
    assert_eq!(mock.requests().len(), 1);
}

#[test]
fn dropping_a_blocking_mock_stops_its_server() {
    let mock = MockMaximus::start_blocking().unwrap();
    let addr = mock.addr();
    blocking_get(addr, "/health");
    drop(mock);

    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn dropping_a_blocking_mock_ends_streams_still_open() {
    let mock = MockMaximus::start_blocking().unwrap();
    mock.inject(
        Method::GET,
        "/health",
        Fault::SlowDrip {
            chunk_interval: std::time::Duration::from_millis(200),
        },
    );
    let addr = mock.addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).unwrap();
    drop(mock);

    // The drip would take many seconds; the connection ends instead.
    let mut rest = Vec::new();
    let ended = stream.read_to_end(&mut rest);
    assert!(ended.is_err() || !String::from_utf8_lossy(&rest).contains(r#""components""#));
}
