//! Carrying a trace across process boundaries: HTTP headers, or any carrier through
//! OpenTelemetry's `Injector`/`Extractor` (message headers, gRPC metadata, maps).
//!
//! W3C `traceparent`/`tracestate` and `baggage` by default; Jaeger's `uber-trace-id` (and
//! `uberctx-*` baggage) when `OTEL_PROPAGATORS` names `jaeger`. Malformed, truncated,
//! oversized or all-zero headers are ignored: the next span simply starts a new trace.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::BaggagePropagator;

use crate::config::Propagators;
use crate::engine::{Inherited, Parent, SpanId, SpanIds, TraceId, local};
use crate::tracestate::TraceState;

/// A field of the trace context: its name as text (for any carrier) and as a header name
/// built once (a `&str` name would be parsed on every insert into a header map).
struct Field {
    name: &'static str,
    header: HeaderName,
}

impl Field {
    const fn new(name: &'static str) -> Field {
        Field {
            name,
            header: HeaderName::from_static(name),
        }
    }
}

const TRACEPARENT: Field = Field::new("traceparent");
const TRACESTATE: Field = Field::new("tracestate");

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
    write(&current, headers);
}

/// Writes the current span's context (and baggage) into any carrier: Kafka record headers,
/// tonic's `MetadataMap`, a `HashMap<String, String>`, through an OpenTelemetry
/// [`Injector`]. The same fields as [`inject`], by the same configured propagators.
pub fn inject_into(carrier: &mut dyn Injector) {
    let Some(current) = local::parent() else { return };
    write(&current, carrier);
}

/// Writes `span`'s own context (not the current span's) into request headers: what a
/// client middleware sends under the client span it started.
#[cfg(any(feature = "tower", feature = "reqwest"))]
/// Takes the engine's handle, not a `Span`: `span.rs` imports this module, and this module
/// importing it back would make the two one cycle.
pub(crate) fn inject_span(span: Option<&crate::engine::Handle>, headers: &mut HeaderMap) {
    if let Some(handle) = span {
        write(&handle.as_parent(), headers);
    }
}

/// Where trace context is written: a header map (typed names and values), or any
/// OpenTelemetry [`Injector`] (text).
trait Outgoing {
    /// Sets `field` to `value`, replacing what was there; `value` is ASCII.
    fn put(&mut self, field: &Field, value: &str);
    /// Writes the baggage of `cx`.
    fn put_baggage(&mut self, cx: &Context);
}

impl Outgoing for HeaderMap {
    fn put(&mut self, field: &Field, value: &str) {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.insert(field.header.clone(), value);
        }
    }

    fn put_baggage(&mut self, cx: &Context) {
        BaggagePropagator::new().inject_context(cx, &mut HeaderInjector(self));
    }
}

impl Outgoing for dyn Injector + '_ {
    fn put(&mut self, field: &Field, value: &str) {
        self.set(field.name, value.to_owned());
    }

    fn put_baggage(&mut self, cx: &Context) {
        BaggagePropagator::new().inject_context(cx, self);
    }
}

/// Writes `parent`'s context in every active format.
fn write<C: Outgoing + ?Sized>(parent: &Parent, carrier: &mut C) {
    let ids = parent.ids;
    if active(TRACE_CONTEXT) {
        let traceparent = traceparent(ids);
        carrier.put(
            &TRACEPARENT,
            std::str::from_utf8(&traceparent).expect("hex digits and dashes"),
        );
        if let Some(state) = Inherited::trace_state(&parent.inherited) {
            // Valid by the W3C grammar (checked when received), so a valid header value.
            carrier.put(&TRACESTATE, state.header());
        }
    }
    if active(BAGGAGE) {
        if let Some(baggage) = parent.inherited.as_ref().and_then(|i| i.baggage.as_ref()) {
            let cx = Context::new().with_baggage(crate::engine::frame::copy_baggage(baggage));
            carrier.put_baggage(&cx);
        }
    }
    if active(JAEGER) {
        carrier.put(&jaeger::HEADER, &jaeger::format(ids));
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
fn traceparent(ids: SpanIds) -> [u8; 55] {
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
    out
}

/// Reads the trace context of an incoming request. Never fails: bad headers give an
/// invalid [`RemoteParent`], under which spans start a new trace.
pub fn extract(headers: &HeaderMap) -> RemoteParent {
    read(headers)
}

/// Reads the trace context from any carrier (Kafka record headers, tonic's `MetadataMap`, a
/// map) through an OpenTelemetry [`Extractor`], by the rules of [`extract`]. A carrier that
/// can hold a field twice should implement [`Extractor::get_all`]: two `traceparent`s are
/// ignored, and every `tracestate` is read in order.
pub fn extract_from(carrier: &dyn Extractor) -> RemoteParent {
    read(carrier)
}

/// Where trace context is read from: a header map, or any OpenTelemetry [`Extractor`].
trait Incoming {
    /// Every value of `field`, in order.
    fn values<'a>(&'a self, field: &Field) -> impl Iterator<Item = &'a [u8]>;
    /// The baggage, when the carrier has any.
    fn baggage(&self) -> Option<Context>;
}

impl Incoming for HeaderMap {
    fn values<'a>(&'a self, field: &Field) -> impl Iterator<Item = &'a [u8]> {
        self.get_all(&field.header).into_iter().map(HeaderValue::as_bytes)
    }

    fn baggage(&self) -> Option<Context> {
        self.contains_key("baggage")
            .then(|| BaggagePropagator::new().extract_with_context(&Context::new(), &HeaderExtractor(self)))
    }
}

impl Incoming for dyn Extractor + '_ {
    fn values<'a>(&'a self, field: &Field) -> impl Iterator<Item = &'a [u8]> {
        self.get_all(field.name)
            .unwrap_or_default()
            .into_iter()
            .map(str::as_bytes)
    }

    fn baggage(&self) -> Option<Context> {
        self.get("baggage")
            .is_some()
            .then(|| BaggagePropagator::new().extract_with_context(&Context::new(), self))
    }
}

/// The trace context `carrier` holds, in the active formats.
fn read<C: Incoming + ?Sized>(carrier: &C) -> RemoteParent {
    let baggage = if active(BAGGAGE) {
        carrier
            .baggage()
            .map(|cx| crate::engine::frame::copy_baggage(cx.baggage()))
    } else {
        None
    };
    let mut trace_state = None;
    let mut ids = None;
    if active(TRACE_CONTEXT) {
        if let Some(parsed) = traceparent_ids(carrier.values(&TRACEPARENT)) {
            ids = Some(parsed);
            // Every `tracestate` value, in order (W3C, RFC 9110 list combination); an
            // invalid list is discarded whole, the `traceparent` kept.
            trace_state = TraceState::parse(carrier.values(&TRACESTATE));
        }
    }
    if ids.is_none() && active(JAEGER) {
        ids = carrier
            .values(&jaeger::HEADER)
            .next()
            .and_then(visible_ascii)
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
fn traceparent_ids<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> Option<SpanIds> {
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let mut fields = visible_ascii(value)?.trim().splitn(5, '-');
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

/// The value as text when it is visible ASCII (tabs and spaces allowed), as header values
/// are read as text; anything else is not a trace context.
fn visible_ascii(value: &[u8]) -> Option<&str> {
    value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
        .then(|| std::str::from_utf8(value).ok())
        .flatten()
}

/// Jaeger's `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`. Written by hand:
/// `opentelemetry-jaeger-propagator` is deprecated, and the format is four hex fields.
mod jaeger {
    use super::*;

    pub(super) const HEADER: Field = Field::new("uber-trace-id");
    /// Longer values are not a Jaeger header, whatever they hold.
    const MAX_LEN: usize = 256;

    pub(super) fn format(ids: SpanIds) -> String {
        let flags = if ids.sampled { 1 } else { 0 };
        format!("{}:{}:0:{flags}", ids.trace_id, ids.span_id)
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
            &traceparent(ids),
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        let ids = SpanIds {
            sampled: false,
            ..ids
        };
        assert_eq!(
            &traceparent(ids),
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
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
