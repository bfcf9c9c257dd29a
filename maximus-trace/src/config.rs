//! What a pipeline is made of, and the error a bad setting produces.

use std::fmt;
use std::time::Duration;

use crate::engine::sampling::{Root, Sampler};

/// Where finished spans go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exporter {
    /// OTLP over HTTP/protobuf (Jaeger v2 listens on port 4318). The default.
    Otlp,
    /// OTLP over gRPC (port 4317); needs the `grpc` feature and a tokio runtime at `init()`.
    OtlpGrpc,
    /// The Jaeger agent's Thrift compact protocol over UDP (port 6831).
    JaegerAgent,
    /// Zipkin v2 JSON over HTTP; needs the `zipkin` feature.
    Zipkin,
    /// Prints each finished trace to standard output as an indented tree.
    Console,
    /// Spans are created and propagated but not exported.
    None,
}

impl Exporter {
    /// The name used in `MAXIMUS_TRACE_EXPORTER` and in log lines.
    pub fn name(self) -> &'static str {
        match self {
            Exporter::Otlp => "otlp",
            Exporter::OtlpGrpc => "otlp-grpc",
            Exporter::JaegerAgent => "jaeger",
            Exporter::Zipkin => "zipkin",
            Exporter::Console => "console",
            Exporter::None => "none",
        }
    }

    /// Parses the names accepted by `MAXIMUS_TRACE_EXPORTER`.
    pub fn from_name(name: &str) -> Option<Exporter> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "otlp" | "otlp-http" => Exporter::Otlp,
            "otlp-grpc" | "grpc" => Exporter::OtlpGrpc,
            "jaeger" | "jaeger-agent" => Exporter::JaegerAgent,
            "zipkin" => Exporter::Zipkin,
            "console" | "stdout" => Exporter::Console,
            "none" => Exporter::None,
            _ => return None,
        })
    }
}

impl fmt::Display for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A configuration mistake, naming the variable or setting and the value at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable holds a value of the wrong type, range or syntax.
    #[error("environment variable {variable}={value:?} is invalid: {reason}")]
    InvalidVariable {
        /// The variable's name.
        variable: &'static str,
        /// The value found (secrets are replaced by a placeholder).
        value: String,
        /// What a valid value looks like.
        reason: String,
    },
    /// A builder argument is out of range or malformed.
    #[error("invalid {setting} {value:?}: {reason}")]
    InvalidSetting {
        /// The builder method or constructor argument.
        setting: &'static str,
        /// The value given.
        value: String,
        /// What a valid value looks like.
        reason: String,
    },
    /// `init()` was called while the guard of an earlier pipeline is still alive.
    #[error(
        "tracing is already initialized: drop the TracingGuard of the running pipeline before calling init() again"
    )]
    AlreadyInitialized,
    /// The exporter could not be built (for example a feature is not compiled in).
    #[error("cannot build the {exporter} exporter: {reason}")]
    Exporter {
        /// Which exporter.
        exporter: Exporter,
        /// Why.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn variable(variable: &'static str, value: &str, reason: impl Into<String>) -> Self {
        ConfigError::InvalidVariable {
            variable,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn setting(
        setting: &'static str,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        ConfigError::InvalidSetting {
            setting,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// How root spans are sampled; children follow their parent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SamplerSetting {
    AlwaysOn,
    AlwaysOff,
    /// OpenTelemetry `TraceIdRatioBased`, so services agree on the same trace.
    Ratio(f64),
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedRatio(f64),
}

impl SamplerSetting {
    /// The engine's sampler for this setting.
    pub(crate) fn sampler(self) -> Sampler {
        match self {
            SamplerSetting::AlwaysOn => Sampler::builtin(false, Root::Always),
            SamplerSetting::AlwaysOff => Sampler::builtin(false, Root::Never),
            SamplerSetting::Ratio(r) => Sampler::builtin(false, Root::ratio(r)),
            SamplerSetting::ParentBasedAlwaysOn => Sampler::builtin(true, Root::Always),
            SamplerSetting::ParentBasedAlwaysOff => Sampler::builtin(true, Root::Never),
            SamplerSetting::ParentBasedRatio(r) => Sampler::builtin(true, Root::ratio(r)),
        }
    }

    /// The `OTEL_TRACES_SAMPLER` spelling, with the ratio where there is one.
    pub(crate) fn describe(self) -> String {
        match self {
            SamplerSetting::AlwaysOn => "always_on".to_owned(),
            SamplerSetting::AlwaysOff => "always_off".to_owned(),
            SamplerSetting::Ratio(r) => format!("traceidratio ({r:?})"),
            SamplerSetting::ParentBasedAlwaysOn => "parentbased_always_on".to_owned(),
            SamplerSetting::ParentBasedAlwaysOff => "parentbased_always_off".to_owned(),
            SamplerSetting::ParentBasedRatio(r) => format!("parentbased_traceidratio ({r:?})"),
        }
    }

    /// The fraction of new (root) traces kept.
    pub(crate) fn root_ratio(self) -> f64 {
        match self {
            SamplerSetting::AlwaysOn | SamplerSetting::ParentBasedAlwaysOn => 1.0,
            SamplerSetting::AlwaysOff | SamplerSetting::ParentBasedAlwaysOff => 0.0,
            SamplerSetting::Ratio(r) | SamplerSetting::ParentBasedRatio(r) => r,
        }
    }
}

/// Batch export tuning (`OTEL_BSP_*`, `MAXIMUS_TRACE_MAX_QUEUE_BYTES`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BatchSettings {
    pub schedule_delay: Duration,
    pub export_timeout: Duration,
    /// A cap on the spans waiting or being exported, when one is set
    /// (`OTEL_BSP_MAX_QUEUE_SIZE`); else only `max_queue_bytes` bounds them.
    pub max_queue_size: Option<usize>,
    /// The memory the spans waiting for export (and being exported) may hold.
    pub max_queue_bytes: usize,
    pub max_export_batch_size: usize,
}

/// 64 MiB: about 270,000 spans with three attributes, so a burst from a batch job, a test
/// suite or a service starting is kept whole; yet small beside any service's memory.
pub(crate) const DEFAULT_MAX_QUEUE_BYTES: usize = 64 << 20;

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            // Shorter than the spec's 5 s so traces show up in Jaeger while one watches.
            schedule_delay: Duration::from_millis(1_000),
            export_timeout: Duration::from_secs(10),
            // Memory, not a count, bounds the queue by default: a count sized for a steady
            // state (the spec's 2,048, or 16,384) sheds spans of a burst that one export
            // thread cannot drain as fast as a loop makes them, with memory to spare.
            max_queue_size: None,
            max_queue_bytes: DEFAULT_MAX_QUEUE_BYTES,
            max_export_batch_size: 512,
        }
    }
}

/// The spec's default for every `OTEL_*_COUNT_LIMIT`.
pub(crate) const DEFAULT_COUNT_LIMIT: u32 = crate::engine::limits::DEFAULT_COUNT_LIMIT as u32;

/// Span limits (`OTEL_SPAN_*_COUNT_LIMIT`, `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Limits {
    pub attribute_count: u32,
    pub event_count: u32,
    pub link_count: u32,
    pub attribute_value_length: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            attribute_count: DEFAULT_COUNT_LIMIT,
            event_count: DEFAULT_COUNT_LIMIT,
            link_count: DEFAULT_COUNT_LIMIT,
            attribute_value_length: None,
        }
    }
}

impl From<&Limits> for crate::engine::limits::Limits {
    fn from(configured: &Limits) -> Self {
        crate::engine::limits::Limits {
            attribute_count: configured.attribute_count as usize,
            event_count: configured.event_count as usize,
            link_count: configured.link_count as usize,
            value_length: configured.attribute_value_length,
            ..crate::engine::limits::Limits::default()
        }
    }
}

/// Which propagation formats `inject`/`extract` speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Propagators {
    pub trace_context: bool,
    pub baggage: bool,
    pub jaeger: bool,
}

impl Default for Propagators {
    fn default() -> Self {
        Propagators {
            trace_context: true,
            baggage: true,
            jaeger: false,
        }
    }
}

/// Everything a pipeline needs, resolved from the builder and the environment.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub enabled: bool,
    pub service_name: String,
    pub exporter: Exporter,
    pub jaeger_host: String,
    pub jaeger_port: u16,
    /// The full URL spans are posted (or sent over gRPC) to.
    pub otlp_endpoint: String,
    pub otlp_headers: Vec<(String, String)>,
    pub otlp_timeout: Duration,
    pub zipkin_endpoint: String,
    pub sampler: SamplerSetting,
    pub batch: BatchSettings,
    pub limits: Limits,
    pub propagators: Propagators,
    pub resource: Vec<(String, String)>,
    pub shutdown_timeout: Duration,
    /// Bridge the `opentelemetry` API's context (`engine/bridge.rs`).
    pub otel_context: bool,
}

impl Settings {
    /// Where spans go, for the `Tracing initialized` line; never includes credentials.
    pub fn endpoint_description(&self) -> String {
        match self.exporter {
            Exporter::Otlp | Exporter::OtlpGrpc => crate::redact::url(&self.otlp_endpoint),
            Exporter::JaegerAgent => format!("udp://{}:{}", self.jaeger_host, self.jaeger_port),
            Exporter::Zipkin => crate::redact::url(&self.zipkin_endpoint),
            Exporter::Console => "stdout".to_owned(),
            Exporter::None => "nowhere".to_owned(),
        }
    }
}

/// What a [`crate::TracingBuilder`] resolves to, from code and environment, without starting
/// anything: for diagnostics such as `maximus-trace doctor`. See
/// [`crate::TracingBuilder::describe`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ResolvedConfig {
    /// Whether spans would be recorded at all.
    pub enabled: bool,
    /// The `service.name`.
    pub service_name: String,
    /// The exporter.
    pub exporter: Exporter,
    /// Where spans go (`http://...` for OTLP and Zipkin, `udp://host:port` for the Jaeger
    /// agent), with credentials redacted.
    pub endpoint: String,
    /// The host spans are sent to; `None` for the console and `none` exporters.
    pub host: Option<String>,
    /// The port spans are sent to (the scheme's default when the URL names none).
    pub port: Option<u16>,
    /// The sampler, in `OTEL_TRACES_SAMPLER` terms (`parentbased_traceidratio (0.25)`).
    pub sampler: String,
    /// The fraction of new traces the sampler keeps; `None` for a custom sampler.
    pub sample_ratio: Option<f64>,
    /// Whether span metrics are computed.
    pub span_metrics: bool,
    /// The `host:port` serving `GET /metrics`, when set.
    pub prometheus_listener: Option<String>,
}

impl ResolvedConfig {
    pub(crate) fn new(
        settings: &Settings,
        custom_sampler: bool,
        span_metrics: bool,
        prometheus_listener: Option<String>,
    ) -> Self {
        let (host, port) = match settings.exporter {
            Exporter::JaegerAgent => (Some(settings.jaeger_host.clone()), Some(settings.jaeger_port)),
            Exporter::Otlp | Exporter::OtlpGrpc => url_target(&settings.otlp_endpoint),
            Exporter::Zipkin => url_target(&settings.zipkin_endpoint),
            Exporter::Console | Exporter::None => (None, None),
        };
        ResolvedConfig {
            enabled: settings.enabled,
            service_name: settings.service_name.clone(),
            exporter: settings.exporter,
            endpoint: settings.endpoint_description(),
            host,
            port,
            sampler: if custom_sampler {
                "custom sampler (set in code)".to_owned()
            } else {
                settings.sampler.describe()
            },
            sample_ratio: (!custom_sampler).then(|| settings.sampler.root_ratio()),
            span_metrics,
            prometheus_listener,
        }
    }
}

/// The host (IPv6 without brackets) and port of an `http(s)://` URL.
fn url_target(raw: &str) -> (Option<String>, Option<u16>) {
    let Ok(url) = url::Url::parse(raw) else {
        return (None, None);
    };
    let host = url.host().map(|h| match h {
        url::Host::Domain(d) => d.to_owned(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    });
    (host, url.port_or_known_default())
}

/// `host:port` with a non-empty host and a numeric port (`[::1]:9464` for IPv6).
pub(crate) fn is_listen_addr(addr: &str) -> bool {
    let addr = addr.trim();
    if addr.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    match addr.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains(|c: char| c.is_whitespace() || c == '/' || c == ':')
                && port.parse::<u16>().is_ok()
        }
        None => false,
    }
}
