//! Property tests over the header parsers: whatever arrives in `traceparent`, `tracestate`,
//! `baggage` or `uber-trace-id`, extraction never panics, and anything that is not a
//! well-formed W3C or Jaeger context is ignored.

mod support;

use http::{HeaderMap, HeaderValue};
use maximus_trace::{TracingManager, extract};
use proptest::prelude::*;

fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        // Bytes HTTP itself refuses never reach us; everything else does.
        if let Ok(value) = HeaderValue::from_bytes(value) {
            map.insert(*name, value);
        }
    }
    map
}

/// With every propagator on, for the duration of `body`.
fn with_all_propagators(body: impl FnOnce()) {
    let _lock = support::exclusive();
    let guard = TracingManager::builder()
        .environment(|name| (name == "OTEL_PROPAGATORS").then(|| "tracecontext,baggage,jaeger".into()))
        .exporter(maximus_trace::Exporter::None)
        .init()
        .expect("init");
    body();
    drop(guard);
    // Back to the defaults for other tests in this binary.
    let defaults = TracingManager::builder()
        .environment(|_| None)
        .exporter(maximus_trace::Exporter::None);
    drop(defaults.init().expect("init"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_in_every_header_never_panic(
        traceparent in proptest::collection::vec(any::<u8>(), 0..120),
        tracestate in proptest::collection::vec(any::<u8>(), 0..600),
        baggage in proptest::collection::vec(any::<u8>(), 0..600),
        uber in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let map = headers(&[
            ("traceparent", &traceparent),
            ("tracestate", &tracestate),
            ("baggage", &baggage),
            ("uber-trace-id", &uber),
        ]);
        let _ = extract(&map);
    }

    #[test]
    fn near_valid_traceparents_are_accepted_only_when_exactly_well_formed(
        version in "[0-9a-fA-F+]{1,3}",
        trace in "[0-9a-f]{30,34}|[0-9A-F]{32}",
        span in "[0-9a-f]{14,18}",
        flags in "[0-9a-f+]{1,3}",
    ) {
        let value = format!("{version}-{trace}-{span}-{flags}");
        let parent = extract(&headers(&[("traceparent", value.as_bytes())]));
        let well_formed = version.len() == 2
            && version.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            && version != "ff"
            && trace.len() == 32 && trace.chars().all(|c| !c.is_ascii_uppercase())
            && trace.chars().any(|c| c != '0')
            && span.len() == 16 && span.chars().any(|c| c != '0')
            && flags.len() == 2 && flags.chars().all(|c| c.is_ascii_hexdigit());
        prop_assert_eq!(parent.is_valid(), well_formed, "{}", value);
    }
}

#[test]
fn random_jaeger_headers_never_panic_with_the_jaeger_propagator_on() {
    with_all_propagators(|| {
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(2_000));
        runner
            .run(&"[0-9a-fA-F:%+-]{0,80}", |value| {
                let _ = extract(&headers(&[("uber-trace-id", value.as_bytes())]));
                Ok(())
            })
            .expect("no panic");
    });
}
