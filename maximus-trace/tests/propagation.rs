//! `inject`/`extract` on `http::HeaderMap`: W3C trace context and baggage, Jaeger's
//! `uber-trace-id` when configured, and headers that must be ignored, through a real pipeline
//! exporting to memory.

mod support;

use http::{HeaderMap, HeaderValue};
use maximus_trace::{Exporter, RemoteParent, TracingManager, extract, get_tracing, inject, span};
use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use support::{capture, find, is_child_of};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

fn valid_traceparent() -> String {
    format!("00-{TRACE}-{SPAN}-01")
}

/// Headers holding `value` under `name`; the bytes go in as they are (non-ASCII included).
fn headers(name: &'static str, value: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(name, HeaderValue::from_bytes(value).expect("a header value"));
    headers
}

fn server_span(remote: &RemoteParent) {
    get_tracing().span_builder("server").parent(remote).start().end();
}

/// Every value must extract as invalid and leave the next span a new root, in a new trace.
fn assert_each_starts_a_new_trace(values: &[String]) {
    let mut accepted = Vec::new();
    let spans = capture(|| {
        for value in values {
            let remote = extract(&headers("traceparent", value.as_bytes()));
            if remote.is_valid() {
                accepted.push(value.clone());
            }
            server_span(&remote);
        }
    });
    assert!(accepted.is_empty(), "accepted as valid: {accepted:#?}");
    assert_eq!(spans.len(), values.len());
    for span in &spans {
        assert_eq!(span.parent_span_id, SpanId::INVALID);
        assert!(!span.parent_span_is_remote);
        assert_ne!(span.span_context.trace_id().to_string(), TRACE);
    }
}

// ---------------------------------------------------------------------------------------------
// W3C trace context
// ---------------------------------------------------------------------------------------------

#[test]
fn inject_writes_a_w3c_traceparent_for_the_current_span() {
    let _ = capture(|| {
        let client = span!("client");
        let mut headers = HeaderMap::new();
        inject(&mut headers);
        let expected = format!(
            "00-{}-{}-01",
            client.trace_id().unwrap(),
            client.span_id().unwrap()
        );
        assert_eq!(headers["traceparent"], expected.as_str());
    });
}

#[test]
fn inject_outside_a_span_writes_no_traceparent() {
    let _ = capture(|| {
        let mut headers = HeaderMap::new();
        inject(&mut headers);
        assert!(headers.get("traceparent").is_none());
    });
}

#[test]
fn extracted_traceparent_makes_the_injecting_span_the_parent() {
    let spans = capture(|| {
        let mut headers = HeaderMap::new();
        {
            let _client = span!("client");
            inject(&mut headers);
        }
        let remote = extract(&headers);
        assert!(remote.is_valid());
        server_span(&remote);
    });
    let server = find(&spans, "server");
    assert!(is_child_of(server, find(&spans, "client")));
    assert!(server.parent_span_is_remote);
}

#[test]
fn tracestate_split_over_several_headers_is_read_as_one_list() {
    let mut incoming = headers("traceparent", valid_traceparent().as_bytes());
    incoming.append("tracestate", HeaderValue::from_static("vendor=a"));
    incoming.append("tracestate", HeaderValue::from_static(""));
    incoming.append("tracestate", HeaderValue::from_static("other=b,third=c"));
    let mut outgoing = HeaderMap::new();
    let spans = capture(|| {
        let remote = extract(&incoming);
        let _server = get_tracing().span_builder("server").parent(&remote).entered();
        inject(&mut outgoing);
    });
    assert_eq!(outgoing["tracestate"], "vendor=a,other=b,third=c");
    let server = find(&spans, "server");
    assert_eq!(
        server.span_context.trace_state().header(),
        "vendor=a,other=b,third=c"
    );
}

#[test]
fn remote_parent_reports_the_callers_ids_and_sampling() {
    let _ = capture(|| {
        let remote = extract(&headers("traceparent", valid_traceparent().as_bytes()));
        assert_eq!(remote.trace_id().as_deref(), Some(TRACE));
        assert_eq!(remote.span_id().as_deref(), Some(SPAN));
        assert!(remote.is_sampled());
    });
}

#[test]
fn malformed_traceparent_starts_a_new_trace() {
    let t = TRACE;
    let s = SPAN;
    assert_each_starts_a_new_trace(&[
        String::new(),
        "garbage".to_owned(),
        format!("00_{t}_{s}_01"),
        format!("00-{t}-{s}-01-extra"),
        format!("00-{}-{s}-01", t.to_uppercase()),
        format!("00-{}-{s}-01", t.replace('4', "g")),
        format!("0x-{t}-{s}-01"),
        format!("00--{s}-01"),
        format!("00-{t}--01"),
        format!("00-+{}-{s}-01", &t[1..]),
        format!("00-{t}-+{}-01", &s[1..]),
        format!("00-{t}-{s}-+1"),
    ]);
}

#[test]
fn truncated_traceparent_starts_a_new_trace() {
    let valid = valid_traceparent();
    let mut values: Vec<String> = (0..valid.len()).map(|n| valid[..n].to_owned()).collect();
    values.push(format!("00-{}-{SPAN}-01", &TRACE[..31]));
    values.push(format!("00-{TRACE}-{}-01", &SPAN[..15]));
    assert_each_starts_a_new_trace(&values);
}

#[test]
fn oversized_traceparent_starts_a_new_trace() {
    let valid = valid_traceparent();
    assert_each_starts_a_new_trace(&[
        format!("{valid}{}", "0".repeat(8_000)),
        format!("{valid}-{}", "a".repeat(8_000)),
        format!("00-{}{TRACE}-{SPAN}-01", "0".repeat(32)),
        format!("00-{TRACE}-0000{SPAN}-01"),
        format!("00-{TRACE}-{SPAN}-001"),
    ]);
}

#[test]
fn all_zero_ids_in_traceparent_start_a_new_trace() {
    let (zero_trace, zero_span) = ("0".repeat(32), "0".repeat(16));
    assert_each_starts_a_new_trace(&[
        format!("00-{zero_trace}-{SPAN}-01"),
        format!("00-{TRACE}-{zero_span}-01"),
        format!("00-{zero_trace}-{zero_span}-00"),
    ]);
}

#[test]
fn traceparent_version_ff_starts_a_new_trace() {
    assert_each_starts_a_new_trace(&[format!("ff-{TRACE}-{SPAN}-01")]);
}

#[test]
fn non_ascii_traceparent_starts_a_new_trace() {
    assert_each_starts_a_new_trace(&[
        format!("00-{TRACE}-{SPAN}-0é"),
        format!("00-{}é-{SPAN}-01", &TRACE[..31]),
        format!("００-{TRACE}-{SPAN}-01"),
        format!("00-{TRACE}-{SPAN}-01\u{a0}"),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Baggage
// ---------------------------------------------------------------------------------------------

#[test]
fn extract_reads_baggage_entries() {
    let _ = capture(|| {
        let remote = extract(&headers("baggage", b"user.id=42,tenant=acme"));
        assert_eq!(remote.baggage("user.id").as_deref(), Some("42"));
        assert_eq!(remote.baggage("tenant").as_deref(), Some("acme"));
        assert_eq!(remote.baggage("missing"), None);
    });
}

#[test]
fn baggage_from_an_incoming_request_is_forwarded_on_outgoing_requests() {
    let _ = capture(|| {
        let mut incoming = headers("baggage", b"user.id=42,tenant=acme");
        incoming.insert("traceparent", valid_traceparent().parse().unwrap());
        let remote = extract(&incoming);
        let _server = get_tracing().span_builder("server").parent(&remote).entered();
        let mut outgoing = HeaderMap::new();
        inject(&mut outgoing);
        let forwarded = extract(&outgoing);
        assert_eq!(forwarded.baggage("user.id").as_deref(), Some("42"));
        assert_eq!(forwarded.baggage("tenant").as_deref(), Some("acme"));
    });
}

// ---------------------------------------------------------------------------------------------
// Jaeger's uber-trace-id
// ---------------------------------------------------------------------------------------------

fn uber_trace_id() -> HeaderMap {
    headers("uber-trace-id", format!("{TRACE}:{SPAN}:0:1").as_bytes())
}

/// Propagator choice is process-wide once a pipeline starts: this puts the defaults back, even
/// when the test fails, by starting (and stopping) a pipeline with the default settings.
struct RestoreDefaultPropagators;

impl Drop for RestoreDefaultPropagators {
    fn drop(&mut self) {
        let defaults = TracingManager::builder()
            .environment(|_| None)
            .exporter(Exporter::None)
            .init();
        drop(defaults);
    }
}

/// Like `support::capture`, with `OTEL_PROPAGATORS=tracecontext,baggage,jaeger`.
fn capture_with_jaeger_propagation(body: impl FnOnce()) -> Vec<SpanData> {
    let _lock = support::exclusive();
    // Declared before the guard, so it runs after the guard has dropped.
    let _restore = RestoreDefaultPropagators;
    let exporter = InMemorySpanExporter::default();
    let guard = support::builder(&exporter)
        .environment(|k| (k == "OTEL_PROPAGATORS").then(|| "tracecontext,baggage,jaeger".into()))
        .init()
        .expect("init");
    body();
    support::finish(guard, &exporter)
}

#[test]
fn uber_trace_id_is_ignored_by_default() {
    let _ = capture(|| {
        assert!(!extract(&uber_trace_id()).is_valid());
    });
}

#[test]
fn uber_trace_id_is_honoured_when_otel_propagators_names_jaeger() {
    let spans = capture_with_jaeger_propagation(|| {
        let remote = extract(&uber_trace_id());
        assert_eq!(remote.trace_id().as_deref(), Some(TRACE));
        server_span(&remote);
    });
    let server = find(&spans, "server");
    assert_eq!(server.span_context.trace_id().to_string(), TRACE);
    assert_eq!(server.parent_span_id.to_string(), SPAN);
}

#[test]
fn malformed_uber_trace_id_starts_a_new_trace() {
    let values = [
        String::new(),
        format!("{TRACE}:{SPAN}:0"),
        format!("{TRACE}:{SPAN}:0:1:0"),
        format!("{TRACE}0:{SPAN}:0:1"),
        format!("{TRACE}:{SPAN}0:0:1"),
        format!("{}:{SPAN}:0:1", TRACE.replace('4', "g")),
        format!("{TRACE}::0:1"),
        format!("+{}:{SPAN}:0:1", &TRACE[1..]),
        format!("{TRACE}:+{}:0:1", &SPAN[1..]),
        format!("{TRACE}:{SPAN}:0:+1"),
    ];
    let mut accepted = Vec::new();
    let spans = capture_with_jaeger_propagation(|| {
        for value in &values {
            let remote = extract(&headers("uber-trace-id", value.as_bytes()));
            if remote.is_valid() {
                accepted.push(value.clone());
            }
            server_span(&remote);
        }
    });
    assert!(accepted.is_empty(), "accepted as valid: {accepted:#?}");
    assert!(spans.iter().all(|s| s.parent_span_id == SpanId::INVALID));
}

#[test]
fn inject_writes_uber_trace_id_when_otel_propagators_names_jaeger() {
    let _ = capture_with_jaeger_propagation(|| {
        let client = span!("client");
        let mut headers = HeaderMap::new();
        inject(&mut headers);
        let expected = format!("{}:{}:0:1", client.trace_id().unwrap(), client.span_id().unwrap());
        assert_eq!(headers["uber-trace-id"], expected.as_str());
    });
}

// ---------------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------------

/// xorshift64*: a tiny deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Bytes a header value may hold (visible ASCII, space, tab, obs-text), biased towards the
    /// characters these formats are made of, and sometimes a mutated valid value.
    fn header_value(&mut self, valid: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"0123456789abcdefABCDEF-:,;=%+ \t.";
        if self.below(4) == 0 {
            let mut bytes = valid.as_bytes().to_vec();
            for _ in 0..=self.below(3) {
                let at = self.below(bytes.len());
                bytes[at] = ALPHABET[self.below(ALPHABET.len())];
            }
            bytes.truncate(self.below(bytes.len() + 1).max(bytes.len() / 2));
            return bytes;
        }
        let len = if self.below(20) == 0 {
            self.below(4_096)
        } else {
            self.below(80)
        };
        (0..len)
            .map(|_| {
                loop {
                    let b = if self.below(2) == 0 {
                        ALPHABET[self.below(ALPHABET.len())]
                    } else {
                        self.next() as u8
                    };
                    if b == b'\t' || (b >= 0x20 && b != 0x7f) {
                        break b;
                    }
                }
            })
            .collect()
    }
}

#[test]
fn random_header_values_never_panic() {
    let valid = [
        ("traceparent", valid_traceparent()),
        ("tracestate", "vendor=opaque,other=1".to_owned()),
        ("baggage", "user.id=42,tenant=acme;prop=1".to_owned()),
        ("uber-trace-id", format!("{TRACE}:{SPAN}:0:1")),
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let _ = capture_with_jaeger_propagation(|| {
        for round in 0..10_000 {
            let mut incoming = HeaderMap::new();
            for (name, example) in &valid {
                // Every other round keeps a valid parent, so tracestate is read alongside it.
                let value = if *name == "traceparent" && round % 2 == 1 {
                    example.as_bytes().to_vec()
                } else {
                    rng.header_value(example)
                };
                incoming.insert(*name, HeaderValue::from_bytes(&value).unwrap());
            }
            let remote = extract(&incoming);
            let _ = (remote.trace_id(), remote.span_id(), remote.baggage("user.id"));
            let _server = get_tracing().span_builder("fuzz").parent(&remote).entered();
            let mut outgoing = HeaderMap::new();
            inject(&mut outgoing);
            let _ = extract(&outgoing).is_valid();
        }
    });
}

#[test]
fn a_later_version_may_carry_more_fields_after_the_flags() {
    let later = extract(&headers(
        "traceparent",
        format!("01-{TRACE}-{SPAN}-01-what-comes-next").as_bytes(),
    ));
    assert!(later.is_valid());
    assert_eq!(later.trace_id().as_deref(), Some(TRACE));
    assert!(later.is_sampled());
    // Version 00 has nothing after the flags, and flags are two digits in every version.
    assert_each_starts_a_new_trace(&[
        format!("00-{TRACE}-{SPAN}-01-extra"),
        format!("01-{TRACE}-{SPAN}-01x"),
    ]);
}
