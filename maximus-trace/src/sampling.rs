//! Which traces are kept: parent-based, with OpenTelemetry's `TraceIdRatioBased` for roots,
//! so every service using OpenTelemetry makes the same decision for the same trace id.

use opentelemetry_sdk::trace::Sampler;

use crate::config::SamplerSetting;

pub(crate) fn sampler(setting: SamplerSetting) -> Sampler {
    match setting {
        SamplerSetting::AlwaysOn => Sampler::AlwaysOn,
        SamplerSetting::AlwaysOff => Sampler::AlwaysOff,
        SamplerSetting::Ratio(r) => Sampler::TraceIdRatioBased(r),
        SamplerSetting::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerSetting::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerSetting::ParentBasedRatio(r) => Sampler::ParentBased(Box::new(ratio(r))),
    }
}

/// The root sampler for a ratio: exact "always" and "never" at the ends, so 1.0 keeps
/// every trace whatever its id.
fn ratio(r: f64) -> Sampler {
    if r >= 1.0 {
        Sampler::AlwaysOn
    } else if r <= 0.0 {
        Sampler::AlwaysOff
    } else {
        Sampler::TraceIdRatioBased(r)
    }
}
