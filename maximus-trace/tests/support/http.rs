//! Plumbing for the middleware tests: a global pipeline read back as spans arrive, and
//! servers on loopback.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use maximus_trace::TracingGuard;
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

/// The global pipeline of one test, exporting to memory.
pub struct Recorder {
    exporter: InMemorySpanExporter,
    guard: Option<TracingGuard>,
    _lock: MutexGuard<'static, ()>,
}

impl Recorder {
    pub fn start() -> Self {
        let lock = crate::support::exclusive();
        let exporter = InMemorySpanExporter::default();
        let guard = crate::support::builder(&exporter).init().expect("init");
        Recorder {
            exporter,
            guard: Some(guard),
            _lock: lock,
        }
    }

    /// Flushes until `enough` holds for the spans ended so far (a server ends its span when
    /// the response body is sent, a moment after the client has it), or 5 s passed.
    pub fn spans_until(&self, enough: impl Fn(&[SpanData]) -> bool) -> Vec<SpanData> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            self.guard
                .as_ref()
                .expect("running")
                .force_flush()
                .expect("flush");
            let spans = self.exporter.get_finished_spans().expect("spans");
            if enough(&spans) || Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Once `count` spans have ended.
    pub fn spans(&self, count: usize) -> Vec<SpanData> {
        self.spans_until(|spans| spans.len() >= count)
    }
}

/// A span's attribute as text, for assertions on strings.
pub fn text(span: &SpanData, key: &str) -> Option<String> {
    crate::support::attr(span, key).map(Value::to_string)
}

/// The one span named `name`.
pub fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    crate::support::find(spans, name)
}

/// True when no attribute, event attribute or status of any span contains `secret`.
pub fn nowhere(spans: &[SpanData], secret: &str) -> bool {
    spans.iter().all(|span| {
        let attributes = span.attributes.iter();
        let events = span.events.iter().flat_map(|e| e.attributes.iter());
        attributes
            .chain(events)
            .all(|kv| !kv.value.to_string().contains(secret))
            && !format!("{:?}", span.status).contains(secret)
    })
}

/// Serves `router` on a loopback port until the runtime stops.
pub async fn serve_axum(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    addr
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}
