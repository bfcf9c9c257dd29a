//! The bridge to the `opentelemetry` API's context: off by default (spans pay nothing for it),
//! both directions when on, and `otel_context()` for one call either way.

mod support;

use maximus_trace::span;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use support::{capture, capture_with, find};

const TRACE: u128 = 0x4bf92f3577b34da6a3ce929d0e0e4736;
const SPAN: u64 = 0x00f067aa0ba902b7;

/// An OpenTelemetry context whose current span is one another library started.
fn foreign_context() -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(TRACE),
        SpanId::from(SPAN),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

fn otel_current() -> SpanContext {
    Context::map_current(|cx| cx.span().span_context().clone())
}

#[test]
fn off_by_default_our_spans_ignore_the_otel_context_and_do_not_set_it() {
    let mut inside = None;
    let spans = capture(|| {
        let _foreign = foreign_context().attach();
        let _ours = span!("ours");
        inside = Some(otel_current());
    });
    let ours = find(&spans, "ours");
    assert_ne!(ours.span_context.trace_id(), TraceId::from(TRACE));
    assert_eq!(ours.parent_span_id, SpanId::INVALID);
    // The OpenTelemetry context still shows the foreign span, untouched.
    assert_eq!(inside.unwrap().span_id(), SpanId::from(SPAN));
}

#[test]
fn when_on_our_span_continues_the_trace_of_the_otel_current_span() {
    let spans = capture_with(
        |b| b.otel_context(true),
        || {
            let _foreign = foreign_context().attach();
            let _ours = span!("ours");
            let _child = span!("child");
        },
    );
    let ours = find(&spans, "ours");
    assert_eq!(ours.span_context.trace_id(), TraceId::from(TRACE));
    assert_eq!(ours.parent_span_id, SpanId::from(SPAN));
    assert!(support::is_child_of(find(&spans, "child"), ours));
}

#[test]
fn when_on_the_otel_context_holds_our_current_span_and_is_restored_after() {
    let mut seen = Vec::new();
    let spans = capture_with(
        |b| b.otel_context(true),
        || {
            seen.push(otel_current());
            {
                let _outer = span!("outer");
                seen.push(otel_current());
                {
                    let _inner = span!("inner");
                    seen.push(otel_current());
                }
                seen.push(otel_current());
            }
            seen.push(otel_current());
        },
    );
    let outer = find(&spans, "outer").span_context.clone();
    let inner = find(&spans, "inner").span_context.clone();
    let ids: Vec<(TraceId, SpanId)> = seen.iter().map(|s| (s.trace_id(), s.span_id())).collect();
    let none = (TraceId::INVALID, SpanId::INVALID);
    assert_eq!(
        ids,
        vec![
            none,
            (outer.trace_id(), outer.span_id()),
            (inner.trace_id(), inner.span_id()),
            (outer.trace_id(), outer.span_id()),
            none
        ]
    );
    assert!(seen[1].is_sampled());
}

#[test]
fn the_environment_variable_turns_the_bridge_on() {
    let spans = capture_with(
        |b| b.environment(support::vars(&[("MAXIMUS_TRACE_OTEL_CONTEXT", "true")])),
        || {
            let _foreign = foreign_context().attach();
            let _ours = span!("ours");
        },
    );
    assert_eq!(find(&spans, "ours").parent_span_id, SpanId::from(SPAN));
}

#[test]
fn a_malformed_environment_value_is_an_error_naming_the_variable() {
    let _lock = support::exclusive();
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let err = support::builder(&exporter)
        .environment(support::vars(&[("MAXIMUS_TRACE_OTEL_CONTEXT", "maybe")]))
        .init()
        .expect_err("an unreadable boolean must be rejected");
    let message = err.to_string();
    assert!(message.contains("MAXIMUS_TRACE_OTEL_CONTEXT"), "{message}");
    assert!(message.contains("maybe"), "{message}");
}

#[test]
fn otel_context_hands_our_current_span_to_one_call_without_the_bridge() {
    let mut handed = None;
    let spans = capture(|| {
        let _ours = span!("ours");
        let cx = maximus_trace::otel_context();
        handed = Some(cx.span().span_context().clone());
        // Outside our span there is nothing to hand.
        drop(_ours);
        assert!(!maximus_trace::otel_context().span().span_context().is_valid());
    });
    let ours = &find(&spans, "ours").span_context;
    let handed = handed.unwrap();
    assert_eq!(
        (handed.trace_id(), handed.span_id()),
        (ours.trace_id(), ours.span_id())
    );
    assert!(handed.is_sampled());
}

#[test]
fn an_otel_api_span_started_in_our_context_is_our_child() {
    use opentelemetry::trace::{Tracer, TracerProvider as _};
    // Another library's tracer, through the OpenTelemetry SDK, exporting elsewhere.
    let foreign_exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(foreign_exporter.clone())
        .build();
    let tracer = provider.tracer("another-library");
    let spans = capture_with(
        |b| b.otel_context(true),
        || {
            let _ours = span!("ours");
            let mut theirs = tracer.start("theirs");
            opentelemetry::trace::Span::set_attribute(&mut theirs, KeyValue::new("k", 1));
            opentelemetry::trace::Span::end(&mut theirs);
        },
    );
    let theirs = foreign_exporter.get_finished_spans().unwrap();
    let ours = find(&spans, "ours");
    assert_eq!(theirs.len(), 1);
    assert!(support::is_child_of(&theirs[0], ours));
}

#[test]
fn when_on_log_ids_and_injected_headers_name_the_otel_current_span_alike() {
    let mut seen = None;
    let _ = capture_with(
        |b| b.otel_context(true),
        || {
            let _foreign = foreign_context().attach();
            let mut headers = http::HeaderMap::new();
            maximus_trace::inject(&mut headers);
            seen = Some((
                maximus_trace::current_trace_id(),
                maximus_trace::current_span_id(),
                maximus_trace::TraceIds::current().to_string(),
                headers["traceparent"].to_str().unwrap().to_owned(),
            ));
        },
    );
    let (trace, span, log_ids, header) = seen.unwrap();
    let trace_hex = format!("{TRACE:032x}");
    let span_hex = format!("{SPAN:016x}");
    assert_eq!(trace.as_deref(), Some(trace_hex.as_str()));
    assert_eq!(span.as_deref(), Some(span_hex.as_str()));
    assert_eq!(log_ids, format!("trace_id={trace_hex} span_id={span_hex}"));
    assert_eq!(header, format!("00-{trace_hex}-{span_hex}-01"));
}
