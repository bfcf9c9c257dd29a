//! Shared test plumbing: one global pipeline at a time, exporting to memory.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};

use maximus_trace::{TracingBuilder, TracingGuard, TracingManager};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

static GLOBAL_PIPELINE: Mutex<()> = Mutex::new(());

/// Serialises tests that install the global pipeline (one guard may live at a time).
pub fn exclusive() -> MutexGuard<'static, ()> {
    GLOBAL_PIPELINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A builder that ignores the process environment, exporting to `exporter`.
pub fn builder(exporter: &InMemorySpanExporter) -> TracingBuilder {
    TracingManager::builder()
        .service_name("test-service")
        .environment(|_| None)
        .span_exporter(exporter.clone())
}

/// Runs `body` with a fresh global pipeline and returns every span it ended.
pub fn capture(body: impl FnOnce()) -> Vec<SpanData> {
    capture_with(|b| b, body)
}

pub fn capture_with(
    configure: impl FnOnce(TracingBuilder) -> TracingBuilder,
    body: impl FnOnce(),
) -> Vec<SpanData> {
    let _lock = exclusive();
    let exporter = InMemorySpanExporter::default();
    let guard: TracingGuard = configure(builder(&exporter)).init().expect("init");
    body();
    finish(guard, &exporter)
}

/// Flushes, reads the spans (the in-memory exporter forgets them at shutdown), shuts down.
pub fn finish(guard: TracingGuard, exporter: &InMemorySpanExporter) -> Vec<SpanData> {
    guard.force_flush().expect("flush");
    let spans = exporter.get_finished_spans().expect("spans");
    drop(guard);
    spans
}

pub fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!(
            "no span named {name}; have {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    })
}

pub fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a opentelemetry::Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

pub fn is_child_of(child: &SpanData, parent: &SpanData) -> bool {
    child.parent_span_id == parent.span_context.span_id()
        && child.span_context.trace_id() == parent.span_context.trace_id()
}

/// A two-worker tokio runtime, as the tests' async code runs on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// An environment holding only `vars`, for `TracingBuilder::environment`.
pub fn vars(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// Forwards exports to an in-memory exporter but not the shutdown, so its spans can be read
/// after the pipeline shut down (the in-memory exporter forgets them at shutdown).
#[derive(Debug)]
pub struct KeepOnShutdown(pub InMemorySpanExporter);

impl opentelemetry_sdk::trace::SpanExporter for KeepOnShutdown {
    async fn export(&self, batch: Vec<SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.export(batch).await
    }
}
