//! A service for the W3C Trace Context validation harness (`w3c/trace-context`, `test/`):
//! `POST /test` takes a JSON list of `{"url", "arguments"}`, continues the incoming trace in
//! a server span and calls each `url` with its `arguments`, one client span per call, the
//! context injected. Wired only with the public API a service uses: `extract`,
//! `span_builder(..).parent(..)`, `child_of` and `inject`.
//!
//! ```text
//! cargo run --example w3c_trace_context -- 5000
//! python test.py http://127.0.0.1:5000/test       # in w3c/trace-context/test, with aiohttp
//! ```

use axum::Json;
use axum::http::HeaderMap;
use axum::routing::post;
use maximus_trace::{FutureExt, SpanKind, TracingManager};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Spans are not what the harness checks; keep them on this machine.
    let _guard = TracingManager::builder()
        .default_service_name("w3c-trace-context")
        .exporter(maximus_trace::Exporter::None)
        .init()?;
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(5000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://127.0.0.1:{port}/test");
    let app = axum::Router::new().route("/test", post(test));
    axum::serve(listener, app).await?;
    Ok(())
}

async fn test(headers: HeaderMap, Json(calls): Json<Vec<Value>>) -> &'static str {
    let tracing = maximus_trace::get_tracing();
    let remote = maximus_trace::extract(&headers);
    let server = tracing
        .span_builder("POST /test")
        .kind(SpanKind::Server)
        .parent(&remote)
        .start();
    let client = reqwest::Client::new();
    for call in calls {
        let Some(url) = call["url"].as_str() else { continue };
        let current = tracing
            .span_builder("POST")
            .kind(SpanKind::Client)
            .child_of(&server)
            .entered();
        let mut outgoing = http::HeaderMap::new();
        maximus_trace::inject(&mut outgoing);
        // The span covers the call, current while its future runs.
        let span = current.exit();
        let _ = client
            .post(url)
            .headers(outgoing)
            .json(&call["arguments"])
            .send()
            .in_span(span)
            .await;
    }
    "ok"
}
