//! Which traces are kept: parent-based, with OpenTelemetry's `TraceIdRatioBased` for roots,
//! so every service using OpenTelemetry makes the same decision for the same trace id.
//!
//! The built-in samplers decide in a few instructions on the span's own thread; a custom
//! `ShouldSample` (given to the builder) is asked with the OpenTelemetry types it expects.

use opentelemetry::trace::Link;
use opentelemetry_sdk::trace::{SamplingResult, ShouldSample};

use super::{Parent, SpanIds, TraceId};

/// How a root (a span without a parent) is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Root {
    Always,
    Never,
    /// Kept when the trace id's low 64 bits, shifted right by one, are below this bound.
    Below(u64),
}

#[derive(Debug)]
pub(crate) enum Sampler {
    Builtin { parent_based: bool, root: Root },
    Custom(Box<dyn ShouldSample>),
}

impl Sampler {
    /// A built-in sampler: roots kept as `root` says; children following their parent
    /// when `parent_based`, else decided as roots are.
    pub(crate) fn builtin(parent_based: bool, root: Root) -> Self {
        Sampler::Builtin { parent_based, root }
    }

    pub(crate) fn custom(sampler: Box<dyn ShouldSample>) -> Self {
        Sampler::Custom(sampler)
    }

    /// The decision of a built-in sampler, or the custom sampler to ask ([`ask`]).
    #[inline]
    pub(crate) fn fast(
        &self,
        parent: Option<&SpanIds>,
        trace_id: TraceId,
    ) -> Result<bool, &dyn ShouldSample> {
        let (parent_based, root) = match self {
            Sampler::Builtin { parent_based, root } => (parent_based, root),
            Sampler::Custom(custom) => return Err(&**custom),
        };
        if let (true, Some(parent)) = (*parent_based, parent) {
            return Ok(parent.sampled);
        }
        Ok(match root {
            Root::Always => true,
            Root::Never => false,
            // OpenTelemetry's `TraceIdRatioBased`: the low 8 bytes of the id, shifted right.
            Root::Below(bound) => (trace_id.lo >> 1) < *bound,
        })
    }

    /// A built-in parent-based sampler: every span follows its parent's decision.
    pub(crate) fn is_parent_based(&self) -> bool {
        matches!(
            self,
            Sampler::Builtin {
                parent_based: true,
                ..
            }
        )
    }

    /// Whether a span under a span that is not sampled is never sampled either (so it can
    /// share its parent's frame): parent-based, or never sampling.
    pub(crate) fn children_follow_parent(&self) -> bool {
        matches!(
            self,
            Sampler::Builtin {
                parent_based: true,
                ..
            } | Sampler::Builtin {
                root: Root::Never,
                ..
            }
        )
    }
}

/// Asks a custom sampler (the slow path: OpenTelemetry types are built for it).
pub(crate) fn ask(
    sampler: &dyn ShouldSample,
    parent: Option<&Parent>,
    trace_id: TraceId,
    name: &str,
    kind: crate::model::SpanKind,
    attributes: &[opentelemetry::KeyValue],
    links: &[Link],
) -> SamplingResult {
    let parent_cx = parent.map(|p| super::bridge::context_of(p.ids, &p.inherited));
    sampler.should_sample(
        parent_cx.as_ref(),
        trace_id.to_otel(),
        name,
        &kind.into_otel(),
        attributes,
        links,
    )
}

impl Root {
    /// The root sampler for a ratio: exact "always" and "never" at the ends, so 1.0 keeps
    /// every trace whatever its id.
    pub(crate) fn ratio(r: f64) -> Root {
        if r >= 1.0 {
            Root::Always
        } else if r <= 0.0 {
            Root::Never
        } else {
            Root::Below((r * (1u64 << 63) as f64) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_sdk::trace::{Sampler as SdkSampler, SamplingDecision};

    fn ids(trace: u128, sampled: bool) -> SpanIds {
        SpanIds {
            trace_id: TraceId::from_u128(trace),
            span_id: crate::engine::SpanId(1),
            sampled,
            remote: false,
        }
    }

    #[test]
    fn ratio_decisions_match_the_sdk_for_every_trace_id() {
        let mut ids = crate::engine::ids::IdGenerator::new();
        for ratio in [0.001, 0.1, 0.25, 0.5, 0.9, 0.999] {
            let ours = Sampler::builtin(false, Root::ratio(ratio));
            let sdk = SdkSampler::TraceIdRatioBased(ratio);
            for _ in 0..2_000 {
                let trace_id = ids.trace_id();
                let theirs = sdk
                    .should_sample(
                        None,
                        trace_id.to_otel(),
                        "s",
                        &opentelemetry::trace::SpanKind::Internal,
                        &[],
                        &[],
                    )
                    .decision;
                let expected = theirs == SamplingDecision::RecordAndSample;
                assert_eq!(
                    ours.fast(None, trace_id).ok(),
                    Some(expected),
                    "ratio {ratio}, id {trace_id}"
                );
            }
        }
    }

    #[test]
    fn parent_based_follows_the_parent_and_plain_samplers_ignore_it() {
        let parent_based = Sampler::builtin(true, Root::ratio(0.0));
        assert_eq!(
            parent_based.fast(Some(&ids(5, true)), TraceId::from_u128(5)).ok(),
            Some(true)
        );
        assert_eq!(
            parent_based
                .fast(Some(&ids(5, false)), TraceId::from_u128(5))
                .ok(),
            Some(false)
        );
        assert_eq!(parent_based.fast(None, TraceId::from_u128(5)).ok(), Some(false));
        let always = Sampler::builtin(false, Root::Always);
        assert_eq!(
            always.fast(Some(&ids(5, false)), TraceId::from_u128(5)).ok(),
            Some(true)
        );
    }

    #[test]
    fn ratio_one_keeps_even_the_largest_id() {
        let s = Sampler::builtin(true, Root::ratio(1.0));
        assert_eq!(s.fast(None, TraceId::from_u128(u128::MAX)).ok(), Some(true));
    }
}
