//! `tracestate` as W3C Trace Context Level 2 (section 3.3) says, through the public API a
//! service uses (`extract`, a server span under the remote parent, `inject` on its calls):
//! what is forwarded, what is discarded whole, and that what we send is always valid.
//!
//! The checker here is independent of the library's parser: written from the grammar,
//! character classes spelled out.

mod support;

use http::{HeaderMap, HeaderValue};
use maximus_trace::{extract, get_tracing, inject};
use proptest::prelude::*;
use support::capture;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// What a server forwards on its own calls given these incoming `tracestate` headers:
/// `Some(header)`, or `None` when it sends none. Also checks the `traceparent` survives.
fn forwarded(tracestates: &[&[u8]]) -> Option<String> {
    let mut incoming = HeaderMap::new();
    incoming.insert("traceparent", HeaderValue::from_static(TRACEPARENT));
    for value in tracestates {
        incoming.append(
            "tracestate",
            HeaderValue::from_bytes(value).expect("a header value"),
        );
    }
    let mut outgoing = HeaderMap::new();
    let _ = capture(|| {
        let remote = extract(&incoming);
        assert!(
            remote.is_valid(),
            "the traceparent is used whatever the tracestate"
        );
        let _server = get_tracing().span_builder("server").parent(&remote).entered();
        inject(&mut outgoing);
    });
    assert!(
        outgoing["traceparent"]
            .to_str()
            .unwrap()
            .contains("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    let mut values = outgoing.get_all("tracestate").iter();
    let first = values.next().map(|v| v.to_str().expect("ASCII").to_owned());
    assert!(values.next().is_none(), "one tracestate header at most");
    if let Some(header) = &first {
        assert!(
            strictly_valid(header),
            "we sent an invalid tracestate: {header:?}"
        );
    }
    first
}

fn one(value: &str) -> Option<String> {
    forwarded(&[value.as_bytes()])
}

/// The W3C Level 2 grammar, checked strictly (no empty members, no whitespace: what we send).
fn strictly_valid(header: &str) -> bool {
    let members: Vec<&str> = header.split(',').collect();
    let key_char = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-' | '*' | '/' | '@');
    let value_char = |c: char| matches!(c, ' '..='+' | '-'..='<' | '>'..='~');
    let mut keys = std::collections::HashSet::new();
    members.len() <= 32
        && members.iter().all(|member| {
            let Some((key, value)) = member.split_once('=') else {
                return false;
            };
            let key_ok = matches!(key.chars().next(), Some('a'..='z' | '0'..='9'))
                && key.len() <= 256
                && key.chars().all(key_char);
            let value_ok = !value.is_empty()
                && value.len() <= 256
                && value.chars().all(value_char)
                && !value.ends_with(' ');
            key_ok && value_ok && keys.insert(key)
        })
}

// ---- the cases a W3C validation service tried ----

#[test]
fn an_empty_value_discards_the_whole_tracestate() {
    assert_eq!(one("foo=,bar=3"), None);
}

#[test]
fn an_equals_sign_in_a_value_discards_the_whole_tracestate() {
    assert_eq!(one("foo=bar=baz"), None);
}

#[test]
fn thirty_three_members_discard_the_whole_tracestate_and_thirty_two_are_kept() {
    let list = |n: usize| (0..n).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(",");
    assert_eq!(one(&list(33)), None);
    assert_eq!(one(&list(32)), Some(list(32)));
}

#[test]
fn level_2_keys_with_at_signs_are_kept() {
    assert_eq!(one("foo@@bar=1,bar=2").as_deref(), Some("foo@@bar=1,bar=2"));
    assert_eq!(one("foo@=1,bar=2").as_deref(), Some("foo@=1,bar=2"));
}

#[test]
fn a_key_starting_with_an_at_sign_discards_the_whole_tracestate() {
    assert_eq!(one("@foo=1,bar=2"), None);
}

#[test]
fn keys_of_256_characters_are_kept_and_of_257_discarded() {
    let long = "k".repeat(256);
    assert_eq!(one(&format!("{long}=1,foo=1")), Some(format!("{long}=1,foo=1")));
    assert_eq!(one(&format!("{}=1,foo=1", "k".repeat(257))), None);
    let with_at = format!("{}@{}", "t".repeat(241), "v".repeat(14));
    assert_eq!(one(&format!("{with_at}=1")), Some(format!("{with_at}=1")));
}

#[test]
fn values_of_256_characters_are_kept_and_of_257_discarded() {
    assert_eq!(
        one(&format!("foo={}", "v".repeat(256))),
        Some(format!("foo={}", "v".repeat(256)))
    );
    assert_eq!(one(&format!("foo={}", "v".repeat(257))), None);
}

// ---- the rest of the list grammar ----

#[test]
fn spaces_tabs_and_empty_members_around_members_are_dropped() {
    assert_eq!(one(" foo=1 ,\tbar=2\t,, ,").as_deref(), Some("foo=1,bar=2"));
}

#[test]
fn several_headers_join_in_order_and_one_bad_header_discards_all() {
    assert_eq!(forwarded(&[b"foo=1", b"bar=2"]).as_deref(), Some("foo=1,bar=2"));
    assert_eq!(forwarded(&[b"foo=1", b"Bar=2"]), None);
}

#[test]
fn a_duplicated_key_keeps_its_first_occurrence() {
    assert_eq!(one("foo=1,bar=2,foo=3").as_deref(), Some("foo=1,bar=2"));
}

#[test]
fn upper_case_keys_and_non_ascii_discard_the_whole_tracestate() {
    assert_eq!(one("Foo=1"), None);
    assert_eq!(forwarded(&["foo=é".as_bytes()]), None);
}

#[test]
fn no_tracestate_sends_none() {
    assert_eq!(forwarded(&[]), None);
    assert_eq!(one(""), None);
}

// ---- through OpenTelemetry's types (custom samplers, the context bridge) ----

/// A Level 2 list that OpenTelemetry's `TraceState` cannot hold whole (a key with two `@`).
const LEVEL_2_ONLY: &str = "foo@@bar=1,bar=2";

fn incoming(trace_state: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", HeaderValue::from_static(TRACEPARENT));
    headers.insert("tracestate", HeaderValue::from_str(trace_state).unwrap());
    headers
}

#[test]
fn a_custom_sampler_does_not_cost_the_list_members_opentelemetry_refuses() {
    let mut outgoing = HeaderMap::new();
    let sampler =
        opentelemetry_sdk::trace::Sampler::ParentBased(Box::new(opentelemetry_sdk::trace::Sampler::AlwaysOn));
    let _ = support::capture_with(
        |b| b.sampler(sampler),
        || {
            let remote = extract(&incoming(LEVEL_2_ONLY));
            let _server = get_tracing().span_builder("server").parent(&remote).entered();
            let _client = maximus_trace::span!("client");
            inject(&mut outgoing);
        },
    );
    assert_eq!(outgoing["tracestate"], LEVEL_2_ONLY);
}

#[test]
fn a_context_handed_through_opentelemetry_keeps_the_whole_list() {
    let mut outgoing = HeaderMap::new();
    let _ = support::capture_with(
        |b| b.otel_context(true),
        || {
            let remote = extract(&incoming(LEVEL_2_ONLY));
            let _server = get_tracing().span_builder("server").parent(&remote).entered();
            let cx = maximus_trace::otel_context();
            outgoing = std::thread::scope(|s| {
                s.spawn(move || {
                    let _attached = cx.attach();
                    let _worker = maximus_trace::span!("on_another_thread");
                    let mut headers = HeaderMap::new();
                    inject(&mut headers);
                    headers
                })
                .join()
                .unwrap()
            });
        },
    );
    assert_eq!(outgoing["tracestate"], LEVEL_2_ONLY);
}

// ---- properties ----

fn key() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_*/@-]{0,20}"
}

fn value() -> impl Strategy<Value = String> {
    // Printable ASCII without `,` and `=`, not ending in a space.
    "[ -+--<>-~]{0,12}[!-+--<>-~]"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Any valid list is forwarded as received (members in order, first of a duplicated key).
    #[test]
    fn a_valid_list_is_forwarded_unchanged(members in proptest::collection::vec((key(), value()), 1..32)) {
        let sent = members.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" , ");
        let mut seen = std::collections::HashSet::new();
        let expected: Vec<String> = members
            .iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        prop_assert_eq!(one(&sent), Some(expected.join(",")));
    }

    /// Whatever arrives, what we send is valid by the grammar (or nothing).
    #[test]
    fn what_we_send_is_always_valid(
        raw in proptest::collection::vec(proptest::sample::select(b"ab@=, \t-_*/z09AZ~\x7f".to_vec()), 0..80)
    ) {
        if let Ok(value) = HeaderValue::from_bytes(&raw) {
            // `forwarded` asserts validity of anything sent.
            let _ = forwarded(&[value.as_bytes()]);
        }
    }
}
