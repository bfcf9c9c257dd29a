//! Shared plumbing of the workspace tests: one global pipeline at a time, spans in memory,
//! a `maximus-mock` on loopback.
#![allow(dead_code)]

use std::future::Future;

// The runtime crate's test plumbing (the pipeline lock, span lookups), shared, not copied.
#[path = "../../maximus-trace/tests/support/mod.rs"]
mod runtime_support;

#[allow(unused_imports)] // each test binary uses a different part
pub use runtime_support::{attr, exclusive, is_child_of, runtime};

use maximus_trace::{TracingGuard, TracingManager};
use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

/// A client of `base_url` that ignores the process environment (`MAXIMUS_*`, `JWT_TOKEN`).
pub fn client_builder(base_url: impl Into<String>) -> maximus_client::ClientBuilder {
    maximus_client::MaximusClient::builder()
        .base_url(base_url)
        .environment(|_| None)
}

/// Runs `body` on a runtime with a fresh global in-memory pipeline; returns its result and
/// every span ended meanwhile (client and mock server spans alike).
pub fn traced<T, F>(body: impl FnOnce() -> F) -> (T, Vec<SpanData>)
where
    F: Future<Output = T>,
{
    let _lock = exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard: TracingGuard = TracingManager::builder()
        .service_name("client-tests")
        .environment(|_| None)
        .span_exporter(exporter.clone())
        .init()
        .expect("init");
    let result = runtime().block_on(body());
    guard.force_flush().expect("flush");
    let spans = exporter.get_finished_spans().expect("spans");
    drop(guard);
    (result, spans)
}

pub fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

pub fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found = named(spans, name);
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name}; have {:?}",
        spans.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>()
    );
    found[0]
}

pub fn children<'a>(spans: &'a [SpanData], parent: &SpanData) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| is_child_of(s, parent)).collect()
}

pub fn is_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID
}

pub fn is_error(span: &SpanData) -> bool {
    matches!(span.status, opentelemetry::trace::Status::Error { .. })
}

/// Every string a span carries: name, attribute values, event names and attributes.
pub fn all_text(spans: &[SpanData]) -> String {
    let mut out = String::new();
    for s in spans {
        out.push_str(&s.name);
        for kv in &s.attributes {
            out.push_str(&format!(" {}={}", kv.key, kv.value));
        }
        if let opentelemetry::trace::Status::Error { description } = &s.status {
            out.push_str(description);
        }
        for e in s.events.iter() {
            out.push_str(&e.name);
            for kv in &e.attributes {
                out.push_str(&format!(" {}={}", kv.key, kv.value));
            }
        }
        out.push('\n');
    }
    out
}

/// A loopback port with nothing listening.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The path of example `name` of this package, built (or found up to date) by cargo: tests
/// that run an example as a user runs it. Cargo holds no lock while tests run.
pub fn example(name: &str) -> std::path::PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--message-format=json-render-diagnostics",
            "--example",
            name,
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "cargo build --example {name} failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|m| m["target"]["name"] == name && m["executable"].is_string())
        .map(|m| std::path::PathBuf::from(m["executable"].as_str().unwrap_or_default()))
        .unwrap_or_else(|| panic!("cargo built no example {name}"))
}
