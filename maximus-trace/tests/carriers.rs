//! `inject_into`/`extract_from`: the trace context in carriers other than `http::HeaderMap`
//! (message headers, gRPC metadata, maps), by the same rules as `inject`/`extract`.

mod support;

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue};
use maximus_trace::{extract, extract_from, get_tracing, inject, inject_into, span};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry_http::HeaderExtractor;
use support::{capture, capture_with, find, is_child_of, vars};

/// Message headers as a Kafka record holds them: ordered, repeatable, byte values.
#[derive(Default)]
struct RecordHeaders(Vec<(String, Vec<u8>)>);

impl Injector for RecordHeaders {
    fn set(&mut self, key: &str, value: String) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.into_bytes()));
    }
}

impl Extractor for RecordHeaders {
    fn get(&self, key: &str) -> Option<&str> {
        self.get_all(key)?.into_iter().next()
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .iter()
            .filter(|(k, _)| k == key)
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn traceparent(span: &str) -> String {
    format!("00-{TRACE}-{span}-01")
}

#[test]
fn a_producer_and_a_consumer_share_a_trace_through_message_headers() {
    let spans = capture(|| {
        let mut headers = RecordHeaders::default();
        {
            let _produce = span!("produce");
            inject_into(&mut headers);
        }
        let remote = extract_from(&headers);
        assert!(remote.is_valid());
        get_tracing()
            .span_builder("consume")
            .parent(&remote)
            .start()
            .end();
    });
    assert!(is_child_of(find(&spans, "consume"), find(&spans, "produce")));
}

#[test]
fn inject_into_writes_what_inject_writes() {
    let _ = capture(|| {
        let _span = span!("client");
        let mut map = HashMap::new();
        inject_into(&mut map);
        let mut headers = HeaderMap::new();
        inject(&mut headers);
        assert_eq!(map.len(), headers.len());
        for (name, value) in &headers {
            assert_eq!(map[name.as_str()], value.to_str().unwrap(), "{name}");
        }
    });
}

#[test]
fn outside_a_span_nothing_is_injected() {
    let _ = capture(|| {
        let mut map: HashMap<String, String> = HashMap::new();
        inject_into(&mut map);
        assert!(map.is_empty(), "{map:?}");
    });
}

#[test]
fn extract_from_reads_what_extract_reads() {
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![("traceparent", traceparent("00f067aa0ba902b7"))],
        vec![
            ("traceparent", traceparent("00f067aa0ba902b7")),
            ("tracestate", "vendor=a,other=b".to_owned()),
            ("baggage", "user.id=42".to_owned()),
        ],
        // Two traceparents: neither is believed.
        vec![
            ("traceparent", traceparent("00f067aa0ba902b7")),
            ("traceparent", traceparent("00f067aa0ba902b8")),
        ],
        vec![("traceparent", "00-not-a-trace-01".to_owned())],
        vec![("traceparent", format!(" {} ", traceparent("00f067aa0ba902b7")))],
        vec![("baggage", "tenant=acme".to_owned())],
    ];
    let _ = capture(|| {
        for case in &cases {
            let mut headers = HeaderMap::new();
            let mut record = RecordHeaders::default();
            for (name, value) in case {
                headers.append(*name, HeaderValue::from_str(value).unwrap());
                record.0.push(((*name).to_owned(), value.clone().into_bytes()));
            }
            let (from_map, from_record, from_adapter) = (
                extract(&headers),
                extract_from(&record),
                extract_from(&HeaderExtractor(&headers)),
            );
            for other in [&from_record, &from_adapter] {
                assert_eq!(other.is_valid(), from_map.is_valid(), "{case:?}");
                assert_eq!(other.trace_id(), from_map.trace_id(), "{case:?}");
                assert_eq!(other.span_id(), from_map.span_id(), "{case:?}");
                assert_eq!(other.baggage("user.id"), from_map.baggage("user.id"), "{case:?}");
                assert_eq!(other.baggage("tenant"), from_map.baggage("tenant"), "{case:?}");
            }
        }
    });
}

#[test]
fn every_tracestate_value_of_a_carrier_is_read_in_order() {
    let spans = capture(|| {
        let mut record = RecordHeaders::default();
        record
            .0
            .push(("traceparent".into(), traceparent("00f067aa0ba902b7").into_bytes()));
        record.0.push(("tracestate".into(), b"first=1".to_vec()));
        record.0.push(("tracestate".into(), b"second=2".to_vec()));
        let remote = extract_from(&record);
        let _server = get_tracing().span_builder("server").parent(&remote).entered();
        let mut out = HashMap::new();
        inject_into(&mut out);
        assert_eq!(out["tracestate"], "first=1,second=2");
    });
    assert_eq!(
        find(&spans, "server").parent_span_id.to_string(),
        "00f067aa0ba902b7"
    );
}

#[test]
fn the_jaeger_header_goes_into_any_carrier_when_configured() {
    let _ = capture_with(
        |b| b.environment(vars(&[("OTEL_PROPAGATORS", "jaeger")])),
        || {
            let span = span!("client");
            let mut map = HashMap::new();
            inject_into(&mut map);
            let expected = format!("{}:{}:0:1", span.trace_id().unwrap(), span.span_id().unwrap());
            assert_eq!(map.get("uber-trace-id"), Some(&expected), "{map:?}");
            assert!(!map.contains_key("traceparent"));
            let remote = extract_from(&map);
            assert_eq!(remote.span_id(), span.span_id());
        },
    );
}
