//! Carrying a trace across process boundaries in HTTP headers.
//!
//! W3C `traceparent`/`tracestate` and `baggage` by default; Jaeger's `uber-trace-id` (and
//! `uberctx-*` baggage) when `OTEL_PROPAGATORS` names `jaeger`. Malformed, truncated,
//! oversized or all-zero headers are ignored: the next span simply starts a new trace.

use std::sync::atomic::{AtomicU8, Ordering};

use http::HeaderMap;
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use crate::config::Propagators;

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
#[derive(Clone, Debug)]
pub struct RemoteParent {
    cx: Context,
    sc: SpanContext,
}

impl RemoteParent {
    /// True when the headers carried a well-formed trace context.
    pub fn is_valid(&self) -> bool {
        self.span_context().is_valid()
    }

    /// The remote trace id as 32 lowercase hex digits, if valid.
    pub fn trace_id(&self) -> Option<String> {
        self.is_valid()
            .then(|| self.span_context().trace_id().to_string())
    }

    /// The remote (parent) span id as 16 lowercase hex digits, if valid.
    pub fn span_id(&self) -> Option<String> {
        self.is_valid().then(|| self.span_context().span_id().to_string())
    }

    /// Whether the caller sampled the trace.
    pub fn is_sampled(&self) -> bool {
        self.span_context().is_sampled()
    }

    /// A baggage entry that came with the request.
    pub fn baggage(&self, key: &str) -> Option<String> {
        use opentelemetry::baggage::BaggageExt;
        self.cx.baggage().get(key).map(|v| v.to_string())
    }

    fn span_context(&self) -> &SpanContext {
        &self.sc
    }

    pub(crate) fn to_context(&self) -> Context {
        self.cx.clone()
    }
}

impl Default for RemoteParent {
    fn default() -> Self {
        RemoteParent {
            cx: Context::new(),
            sc: SpanContext::empty_context(),
        }
    }
}

/// Writes the current span's context (and baggage) into outgoing request headers.
pub fn inject(headers: &mut HeaderMap) {
    let cx = Context::current();
    inject_context(&cx, headers);
}

pub(crate) fn inject_context(cx: &Context, headers: &mut HeaderMap) {
    let mut injector = HeaderInjector(headers);
    if active(TRACE_CONTEXT) {
        TraceContextPropagator::new().inject_context(cx, &mut injector);
    }
    if active(BAGGAGE) {
        BaggagePropagator::new().inject_context(cx, &mut injector);
    }
    if active(JAEGER) {
        jaeger::inject(cx, headers);
    }
}

/// Reads the trace context of an incoming request. Never fails: bad headers give an
/// invalid [`RemoteParent`], under which spans start a new trace.
pub fn extract(headers: &HeaderMap) -> RemoteParent {
    let extractor = HeaderExtractor(headers);
    let mut cx = Context::new();
    if active(BAGGAGE) {
        cx = BaggagePropagator::new().extract_with_context(&cx, &extractor);
    }
    if active(TRACE_CONTEXT) && traceparent_is_well_formed(headers) {
        cx = TraceContextPropagator::new().extract_with_context(&cx, &extractor);
    }
    if !cx.span().span_context().is_valid() && active(JAEGER) {
        cx = jaeger::extract(&cx, headers);
    }
    let sc = cx.span().span_context().clone();
    RemoteParent { cx, sc }
}

/// The W3C shape check the SDK's parser skips (it accepts short, padded or signed fields):
/// `version-traceid-parentid-flags` as 2-32-16-2 lowercase hex digits, version not `ff`,
/// and for version `00` nothing after the flags.
fn traceparent_is_well_formed(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all("traceparent").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Ok(value) = value.to_str() else { return false };
    let value = value.trim();
    let fields: Vec<&str> = value.splitn(5, '-').collect();
    if fields.len() < 4 {
        return false;
    }
    let hex =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let shape = hex(fields[0], 2) && hex(fields[1], 32) && hex(fields[2], 16) && hex(fields[3], 2);
    let version_ok = match fields[0] {
        "ff" => false,
        "00" => fields.len() == 4,
        _ => true,
    };
    shape && version_ok
}

/// Jaeger's `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`. Written by hand:
/// `opentelemetry-jaeger-propagator` is deprecated, and the format is four hex fields.
mod jaeger {
    use super::*;

    const HEADER: &str = "uber-trace-id";
    /// Longer values are not a Jaeger header, whatever they hold.
    const MAX_LEN: usize = 256;

    pub(super) fn inject(cx: &Context, headers: &mut HeaderMap) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        let flags = if sc.is_sampled() { 1 } else { 0 };
        let value = format!("{}:{}:0:{flags}", sc.trace_id(), sc.span_id());
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            headers.insert(HEADER, v);
        }
    }

    pub(super) fn extract(cx: &Context, headers: &HeaderMap) -> Context {
        match headers.get(HEADER).and_then(|v| v.to_str().ok()).and_then(parse) {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx.clone(),
        }
    }

    pub(super) fn parse(raw: &str) -> Option<SpanContext> {
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
        let trace_id = TraceId::from_bytes(u128::from_str_radix(trace, 16).ok()?.to_be_bytes());
        let span_id = SpanId::from_bytes(u64::from_str_radix(span, 16).ok()?.to_be_bytes());
        let flags = u8::from_str_radix(flags, 16).ok()?;
        if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
            return None;
        }
        // Bit 1 is "sampled", bit 2 is "debug" (which implies sampled).
        let sampled = flags & 0b11 != 0;
        let trace_flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        Some(SpanContext::new(
            trace_id,
            span_id,
            trace_flags,
            true,
            TraceState::default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaeger_header_parses_short_and_long_ids() {
        let sc = jaeger::parse("abc:def:0:1").unwrap();
        assert_eq!(sc.trace_id().to_string(), format!("{:032x}", 0xabc));
        assert!(sc.is_sampled());
        let sc = jaeger::parse("4bf92f3577b34da6a3ce929d0e0e4736%3A00f067aa0ba902b7%3A0%3A0").unwrap();
        assert_eq!(sc.span_id().to_string(), "00f067aa0ba902b7");
        assert!(!sc.is_sampled());
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
