//! Carrying a trace across process boundaries in HTTP headers.
//!
//! W3C `traceparent`/`tracestate` and `baggage` by default; Jaeger's `uber-trace-id` (and
//! `uberctx-*` baggage) when `OTEL_PROPAGATORS` names `jaeger`. Malformed, truncated,
//! oversized or all-zero headers are ignored: the next span simply starts a new trace.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::BaggagePropagator;

use crate::config::Propagators;
use crate::engine::{Inherited, Parent, SpanId, SpanIds, TraceId, local};
use crate::tracestate::TraceState;

/// Header names, built once (a `&str` name is parsed on every insert).
const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
const TRACESTATE: http::HeaderName = http::HeaderName::from_static("tracestate");

const TRACE_CONTEXT: u8 = 1;
const BAGGAGE: u8 = 2;
const JAEGER: u8 = 4;

/// Which formats are active; set by `init()` from the configuration.
static ACTIVE: AtomicU8 = AtomicU8::new(TRACE_CONTEXT | BAGGAGE);

pub(crate) fn configure(p: Propagators) {
    let bits =
        (p.trace_context as u8 * TRACE_CONTEXT) | (p.baggage as u8 * BAGGAGE) | (p.jaeger as u8 * JAEGER);
    ACTIVE.store(bits, Ordering::Relaxed);
}

fn active(flag: u8) -> bool {
    ACTIVE.load(Ordering::Relaxed) & flag != 0
}

/// The trace context that arrived with a request: pass it to
/// [`crate::SpanBuilder::parent`] to continue that trace.
#[derive(Clone, Debug, Default)]
pub struct RemoteParent {
    /// The caller's span, when the headers carried a well-formed one.
    ids: Option<SpanIds>,
    /// Its `tracestate` and the request's baggage (baggage may come without a trace).
    inherited: Option<Arc<Inherited>>,
}

impl RemoteParent {
    /// True when the headers carried a well-formed trace context.
    pub fn is_valid(&self) -> bool {
        self.ids.is_some()
    }

    /// The remote trace id as 32 lowercase hex digits, if valid.
    pub fn trace_id(&self) -> Option<String> {
        self.ids.map(|ids| ids.trace_id.to_string())
    }

    /// The remote (parent) span id as 16 lowercase hex digits, if valid.
    pub fn span_id(&self) -> Option<String> {
        self.ids.map(|ids| ids.span_id.to_string())
    }

    /// Whether the caller sampled the trace.
    pub fn is_sampled(&self) -> bool {
        self.ids.is_some_and(|ids| ids.sampled)
    }

    /// A baggage entry that came with the request.
    pub fn baggage(&self, key: &str) -> Option<String> {
        let baggage = self.inherited.as_ref()?.baggage.as_ref()?;
        baggage.get(key).map(|v| v.to_string())
    }

    /// The parent a span continuing this request hangs under, or (no valid trace context)
    /// what a new root inherits.
    pub(crate) fn into_parent(self) -> (Option<Parent>, Option<Arc<Inherited>>) {
        match self.ids {
            Some(ids) => (
                Some(Parent {
                    ids,
                    inherited: self.inherited,
                }),
                None,
            ),
            None => (None, self.inherited),
        }
    }
}

/// Writes the current span's context (and baggage) into outgoing request headers.
pub fn inject(headers: &mut HeaderMap) {
    let Some(current) = local::parent() else { return };
    inject_parent(&current, headers);
}

fn inject_parent(parent: &Parent, headers: &mut HeaderMap) {
    let ids = parent.ids;
    if active(TRACE_CONTEXT) {
        headers.insert(TRACEPARENT, traceparent(ids));
        if let Some(state) = Inherited::trace_state(&parent.inherited) {
            // Valid by the W3C grammar (checked when received), so a valid header value.
            if let Ok(value) = HeaderValue::from_str(state.header()) {
                headers.insert(TRACESTATE, value);
            }
        }
    }
    if active(BAGGAGE) {
        if let Some(baggage) = parent.inherited.as_ref().and_then(|i| i.baggage.as_ref()) {
            let cx = Context::new().with_baggage(crate::engine::frame::copy_baggage(baggage));
            BaggagePropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
        }
    }
    if active(JAEGER) {
        jaeger::inject(ids, headers);
    }
}

/// The two lowercase hex digits of every byte: a byte per lookup, not a digit.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut i = 0;
    while i < 256 {
        pairs[i] = [HEX[i >> 4], HEX[i & 0xf]];
        i += 1;
    }
    pairs
};

/// `00-{trace id}-{span id}-{flags}`.
fn traceparent(ids: SpanIds) -> HeaderValue {
    let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
    let mut put = |at: usize, value: u64| {
        for (i, byte) in value.to_be_bytes().into_iter().enumerate() {
            out[at + 2 * i..at + 2 * i + 2].copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
        }
    };
    put(3, ids.trace_id.hi);
    put(19, ids.trace_id.lo);
    put(36, ids.span_id.0);
    if ids.sampled {
        out[54] = b'1';
    }
    HeaderValue::from_bytes(&out).expect("lowercase hex digits and dashes are a header value")
}

/// Reads the trace context of an incoming request. Never fails: bad headers give an
/// invalid [`RemoteParent`], under which spans start a new trace.
pub fn extract(headers: &HeaderMap) -> RemoteParent {
    let baggage = if active(BAGGAGE) && headers.contains_key("baggage") {
        let cx = BaggagePropagator::new().extract_with_context(&Context::new(), &HeaderExtractor(headers));
        Some(crate::engine::frame::copy_baggage(cx.baggage()))
    } else {
        None
    };
    let mut trace_state = None;
    let mut ids = None;
    if active(TRACE_CONTEXT) {
        if let Some(parsed) = traceparent_ids(headers) {
            ids = Some(parsed);
            // Every `tracestate` header, in order (W3C, RFC 9110 list combination); an
            // invalid list is discarded whole, the `traceparent` kept.
            trace_state = TraceState::parse(headers.get_all(TRACESTATE).iter().map(HeaderValue::as_bytes));
        }
    }
    if ids.is_none() && active(JAEGER) {
        ids = headers
            .get(jaeger::HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(jaeger::parse);
    }
    RemoteParent {
        ids,
        inherited: Inherited::shared(trace_state, baggage),
    }
}

/// The ids of a well-formed `traceparent` (exactly one header), remote, with the sampled bit.
/// Checked by hand for the W3C shape the SDK's parser skips (it accepts short, padded or
/// signed fields): `version-traceid-parentid-flags` as 2-32-16-2 lowercase hex digits,
/// version not `ff`, and for version `00` nothing after the flags.
fn traceparent_ids(headers: &HeaderMap) -> Option<SpanIds> {
    let mut values = headers.get_all("traceparent").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let mut fields = value.to_str().ok()?.trim().splitn(5, '-');
    let (version, trace, span, flags) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    let hex =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !(hex(version, 2) && hex(trace, 32) && hex(span, 16) && hex(flags, 2)) {
        return None;
    }
    match (version, fields.next()) {
        ("ff", _) | ("00", Some(_)) => return None,
        _ => {}
    }
    let ids = SpanIds {
        trace_id: TraceId::from_u128(u128::from_str_radix(trace, 16).ok()?),
        span_id: SpanId(u64::from_str_radix(span, 16).ok()?),
        sampled: u8::from_str_radix(flags, 16).ok()? & 1 == 1,
        remote: true,
    };
    ids.is_valid().then_some(ids)
}

/// Jaeger's `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`. Written by hand:
/// `opentelemetry-jaeger-propagator` is deprecated, and the format is four hex fields.
mod jaeger {
    use super::*;

    pub(super) const HEADER: &str = "uber-trace-id";
    /// Longer values are not a Jaeger header, whatever they hold.
    const MAX_LEN: usize = 256;

    pub(super) fn inject(ids: SpanIds, headers: &mut HeaderMap) {
        let flags = if ids.sampled { 1 } else { 0 };
        let value = format!("{}:{}:0:{flags}", ids.trace_id, ids.span_id);
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HEADER, v);
        }
    }

    pub(super) fn parse(raw: &str) -> Option<SpanIds> {
        if raw.len() > MAX_LEN {
            return None;
        }
        let decoded = raw.replace("%3A", ":").replace("%3a", ":");
        let mut parts = decoded.split(':');
        let (trace, span, _parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex =
            |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_hexdigit());
        if parts.next().is_some() || !hex(trace, 32) || !hex(span, 16) || !hex(flags, 2) {
            return None;
        }
        let ids = SpanIds {
            trace_id: TraceId::from_u128(u128::from_str_radix(trace, 16).ok()?),
            span_id: SpanId(u64::from_str_radix(span, 16).ok()?),
            // Bit 1 is "sampled", bit 2 is "debug" (which implies sampled).
            sampled: u8::from_str_radix(flags, 16).ok()? & 0b11 != 0,
            remote: true,
        };
        ids.is_valid().then_some(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_formatted_as_w3c_lowercase_hex() {
        let ids = SpanIds {
            trace_id: TraceId::from_u128(0x4bf92f3577b34da6a3ce929d0e0e4736),
            span_id: SpanId(0x00f067aa0ba902b7),
            sampled: true,
            remote: false,
        };
        assert_eq!(
            traceparent(ids),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        let ids = SpanIds {
            sampled: false,
            ..ids
        };
        assert_eq!(
            traceparent(ids),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
        );
    }

    #[test]
    fn jaeger_header_parses_short_and_long_ids() {
        let ids = jaeger::parse("abc:def:0:1").unwrap();
        assert_eq!(ids.trace_id.to_string(), format!("{:032x}", 0xabc));
        assert!(ids.sampled);
        let ids = jaeger::parse("4bf92f3577b34da6a3ce929d0e0e4736%3A00f067aa0ba902b7%3A0%3A0").unwrap();
        assert_eq!(ids.span_id.to_string(), "00f067aa0ba902b7");
        assert!(!ids.sampled);
    }

    #[test]
    fn jaeger_header_rejects_malformed_values() {
        for bad in [
            "",
            "1:2:3",
            "0:1:0:1",
            "1:0:0:1",
            "zz:1:0:1",
            "1:2:0:1:5",
            "é:1:0:1",
            &"1".repeat(300),
        ] {
            assert!(jaeger::parse(bad).is_none(), "{bad:?} should be rejected");
        }
    }
}
