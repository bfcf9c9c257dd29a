//! The `tracing` integration (feature `tracing`): lines written by `tracing_subscriber::fmt`
//! carry the ids of the current span, and events can become span events.
#![cfg(feature = "tracing")]

mod support;

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use maximus_trace::span;
use maximus_trace::tracing_layer::{SpanEventLayer, TraceIdFormat, fmt_layer};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

/// A `MakeWriter` collecting everything written into one buffer.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl Output {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl io::Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Output {
    type Writer = Output;

    fn make_writer(&'a self) -> Output {
        self.clone()
    }
}

#[test]
fn fmt_lines_carry_the_ids_of_the_current_span() {
    let output = Output::default();
    let subscriber = tracing_subscriber::registry().with(fmt_layer().with_writer(output.clone()));
    let mut ids = (String::new(), String::new());
    support::capture(|| {
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside any span");
            let _span = span!("checkout");
            ids = (
                maximus_trace::current_trace_id().unwrap(),
                maximus_trace::current_span_id().unwrap(),
            );
            tracing::warn!(items = 3, "stock is low");
        });
    });
    let text = output.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(!lines[0].contains("trace_id="), "{}", lines[0]);
    let expected = format!("trace_id={} span_id={} ", ids.0, ids.1);
    assert!(lines[1].starts_with(&expected), "{}", lines[1]);
    assert!(
        lines[1].contains("stock is low") && lines[1].contains("items=3"),
        "{}",
        lines[1]
    );
}

#[test]
fn any_inner_format_can_be_wrapped() {
    let output = Output::default();
    let layer = tracing_subscriber::fmt::layer()
        .event_format(TraceIdFormat::new(
            tracing_subscriber::fmt::format().compact().without_time(),
        ))
        .with_writer(output.clone());
    let subscriber = tracing_subscriber::registry().with(layer);
    let mut trace_id = String::new();
    support::capture(|| {
        tracing::subscriber::with_default(subscriber, || {
            let _span = span!("compact");
            trace_id = maximus_trace::current_trace_id().unwrap();
            tracing::info!("hello");
        });
    });
    let text = output.text();
    assert!(text.starts_with(&format!("trace_id={trace_id} ")), "{text}");
    assert!(text.contains("hello"), "{text}");
}

#[test]
fn span_event_layer_records_warnings_as_events_of_the_current_span() {
    let subscriber = tracing_subscriber::registry().with(SpanEventLayer::new(tracing::Level::WARN));
    let spans = support::capture(|| {
        tracing::subscriber::with_default(subscriber, || {
            let _span = span!("reserve_stock");
            tracing::info!("not an event");
            tracing::warn!(item = 42, "stock is low");
        });
    });
    let span = support::find(&spans, "reserve_stock");
    let names: Vec<&str> = span.events.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["stock is low"]);
    let item = span.events.events[0]
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "item")
        .map(|kv| kv.value.clone());
    assert_eq!(item, Some(opentelemetry::Value::I64(42)));
}
