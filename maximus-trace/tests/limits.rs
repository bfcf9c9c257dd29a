//! Attributes and events beyond the configured limits: cut or dropped, and counted.

mod support;

use maximus_trace::span;
use opentelemetry::Value as V;
use support::{attr, capture_with, find, vars};

#[test]
fn string_values_longer_than_the_limit_are_truncated_on_a_char_boundary() {
    let spans = capture_with(
        |b| b.environment(vars(&[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "5")])),
        || {
            let s = span!(
                "long",
                text = "héllo wörld",
                tags = vec!["abcdefgh", "ok"],
                n = 123456789
            );
            s.set_attribute("later", "0123456789");
        },
    );
    let s = find(&spans, "long");
    assert_eq!(attr(s, "text"), Some(&V::from("héllo")));
    assert_eq!(attr(s, "later"), Some(&V::from("01234")));
    assert_eq!(attr(s, "n"), Some(&V::I64(123456789)), "numbers are never cut");
    let tags = attr(s, "tags").unwrap().to_string();
    assert!(tags.contains("abcde") && !tags.contains("abcdef"), "{tags}");
}

#[test]
fn attributes_beyond_the_count_limit_are_dropped_and_counted() {
    let spans = capture_with(
        |b| b.environment(vars(&[("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3")])),
        || {
            let s = span!("crowded");
            for i in 0..10 {
                s.set_attribute(format!("k{i}"), i);
            }
        },
    );
    let s = find(&spans, "crowded");
    assert_eq!(s.attributes.len(), 3);
    assert_eq!(s.dropped_attributes_count, 7);
}

#[test]
fn events_beyond_the_limit_are_dropped_and_counted() {
    let spans = capture_with(
        |b| b.environment(vars(&[("OTEL_SPAN_EVENT_COUNT_LIMIT", "2")])),
        || {
            let _s = span!("chatty");
            for i in 0..5 {
                maximus_trace::add_event("tick", [("i", i)]);
            }
        },
    );
    let s = find(&spans, "chatty");
    assert_eq!(s.events.len(), 2);
    assert_eq!(s.events.dropped_count, 3);
}

#[test]
fn attributes_given_at_the_start_beyond_the_count_limit_are_dropped_and_counted() {
    let spans = capture_with(
        |b| b.environment(vars(&[("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2")])),
        || {
            // The three ways a span starts: on this thread's stack (`span!`), owned under a
            // parent (`start_span`), and owned as a root through the sampler.
            let _macro = span!("macro", a = 1, b = 2, c = 3, d = 4);
            let tracing = maximus_trace::get_tracing();
            tracing.start_span("owned", [("a", 1), ("b", 2), ("c", 3)]).end();
            tracing
                .span_builder("root")
                .root()
                .attributes([("a", 1), ("b", 2), ("c", 3)])
                .start()
                .end();
        },
    );
    for (name, dropped) in [("macro", 2), ("owned", 1), ("root", 1)] {
        let s = find(&spans, name);
        assert_eq!(s.attributes.len(), 2, "{name}");
        assert_eq!(s.dropped_attributes_count, dropped, "{name}");
    }
}
