//! Reading settings from environment variables.
//!
//! Each function reads one concern and fails with a [`ConfigError`] naming the variable. The
//! builder calls only the readers for settings that code left unset, so an explicit builder call
//! always wins over (and never trips on) a bad variable.

use std::time::Duration;

use crate::config::{BatchSettings, ConfigError, Exporter, Limits, Propagators, SamplerSetting};

/// Looks a variable up by name.
pub(crate) type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Where variables come from: the process environment, or a map in tests.
pub(crate) struct Env<'a> {
    lookup: Box<Lookup<'a>>,
}

type Result<T> = std::result::Result<T, ConfigError>;

impl<'a> Env<'a> {
    pub fn process() -> Env<'static> {
        Env {
            lookup: Box::new(|name| std::env::var(name).ok()),
        }
    }

    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Env {
            lookup: Box::new(lookup),
        }
    }

    /// The variable's value, with empty values treated as unset (as the OpenTelemetry
    /// specification asks).
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    fn parse<T>(
        &self,
        name: &'static str,
        reason: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => parse(raw.trim())
                .map(Some)
                .ok_or_else(|| ConfigError::variable(name, &raw, reason)),
        }
    }

    fn bool(&self, name: &'static str) -> Result<Option<bool>> {
        self.parse(name, "expected true, false, 1 or 0", parse_bool)
    }

    fn millis(&self, name: &'static str) -> Result<Option<Duration>> {
        self.parse(name, "expected a whole number of milliseconds", |v| {
            v.parse::<u64>().ok().map(Duration::from_millis)
        })
    }

    fn positive(&self, name: &'static str) -> Result<Option<usize>> {
        self.parse(name, "expected a positive whole number", |v| {
            v.parse::<usize>().ok().filter(|n| *n > 0)
        })
    }

    /// `MAXIMUS_TRACING_ENABLED` and `OTEL_SDK_DISABLED`: either can switch tracing off.
    pub fn enabled(&self) -> Result<Option<bool>> {
        let enabled = self.bool("MAXIMUS_TRACING_ENABLED")?;
        let sdk_disabled = self.bool("OTEL_SDK_DISABLED")?;
        Ok(match (enabled, sdk_disabled) {
            (_, Some(true)) => Some(false),
            (enabled, _) => enabled,
        })
    }

    pub fn service_name(&self) -> Option<String> {
        self.get("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned())
    }

    /// `MAXIMUS_TRACE_EXPORTER`, else `jaeger` when a `JAEGER_AGENT_*` variable is set, else
    /// gRPC when `OTEL_EXPORTER_OTLP_PROTOCOL` asks for it.
    pub fn exporter(&self) -> Result<Option<Exporter>> {
        let named = self.parse(
            "MAXIMUS_TRACE_EXPORTER",
            "expected otlp, otlp-grpc, jaeger, zipkin, console or none",
            Exporter::from_name,
        )?;
        if named.is_some() {
            return Ok(named);
        }
        if self.get("JAEGER_AGENT_HOST").is_some() || self.get("JAEGER_AGENT_PORT").is_some() {
            return Ok(Some(Exporter::JaegerAgent));
        }
        Ok(match self.otlp_protocol()? {
            Some(OtlpProtocol::Grpc) => Some(Exporter::OtlpGrpc),
            _ => None,
        })
    }

    pub fn jaeger_host(&self) -> Option<String> {
        self.get("JAEGER_AGENT_HOST").map(|s| s.trim().to_owned())
    }

    pub fn jaeger_port(&self) -> Result<Option<u16>> {
        self.parse(
            "JAEGER_AGENT_PORT",
            "expected a UDP port between 1 and 65535",
            |v| v.parse::<u16>().ok().filter(|p| *p != 0),
        )
    }

    fn otlp_protocol(&self) -> Result<Option<OtlpProtocol>> {
        let name = if self.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").is_some() {
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
        } else {
            "OTEL_EXPORTER_OTLP_PROTOCOL"
        };
        self.parse(
            name,
            "expected http/protobuf or grpc (http/json is not supported)",
            |v| match v {
                "http/protobuf" => Some(OtlpProtocol::HttpProtobuf),
                "grpc" => Some(OtlpProtocol::Grpc),
                _ => None,
            },
        )
    }

    /// The URL to send OTLP spans to. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as is;
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base to which HTTP appends `/v1/traces`.
    pub fn otlp_endpoint(&self, grpc: bool) -> Result<Option<String>> {
        let check = |name: &'static str| -> Result<Option<String>> {
            self.parse(name, "expected an http:// or https:// URL", |v| {
                crate::redact::is_http_url(v).then(|| v.to_owned())
            })
        };
        if let Some(url) = check("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")? {
            return Ok(Some(url));
        }
        Ok(check("OTEL_EXPORTER_OTLP_ENDPOINT")?.map(|base| {
            if grpc {
                base
            } else {
                format!("{}/v1/traces", base.trim_end_matches('/'))
            }
        }))
    }

    /// `OTEL_EXPORTER_OTLP_HEADERS` (and the `_TRACES_` form): `k=v,k2=v2`, percent-decoded.
    /// The error names the entry, never the value: headers usually carry credentials.
    pub fn otlp_headers(&self) -> Result<Vec<(String, String)>> {
        let mut headers = Vec::new();
        for name in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] {
            if let Some(raw) = self.get(name) {
                headers.extend(
                    parse_key_values(&raw).map_err(|entry| ConfigError::InvalidVariable {
                        variable: name,
                        value: "<redacted>".to_owned(),
                        reason: format!("entry {entry} is not of the form key=value"),
                    })?,
                );
            }
        }
        Ok(headers)
    }

    pub fn otlp_timeout(&self) -> Result<Option<Duration>> {
        match self.millis("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")? {
            Some(t) => Ok(Some(t)),
            None => self.millis("OTEL_EXPORTER_OTLP_TIMEOUT"),
        }
    }

    pub fn zipkin_endpoint(&self) -> Result<Option<String>> {
        self.parse(
            "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
            "expected an http:// or https:// URL",
            |v| crate::redact::is_http_url(v).then(|| v.to_owned()),
        )
    }

    /// `OTEL_TRACES_SAMPLER` with `OTEL_TRACES_SAMPLER_ARG` (the ratio, 0.0 to 1.0).
    pub fn sampler(&self) -> Result<Option<SamplerSetting>> {
        let ratio = self.parse(
            "OTEL_TRACES_SAMPLER_ARG",
            "expected a sampling ratio between 0.0 and 1.0",
            |v| v.parse::<f64>().ok().filter(|r| (0.0..=1.0).contains(r)),
        )?;
        let ratio = ratio.unwrap_or(1.0);
        self.parse(
            "OTEL_TRACES_SAMPLER",
            "expected always_on, always_off, traceidratio, parentbased_always_on, \
             parentbased_always_off or parentbased_traceidratio",
            |v| match v {
                "always_on" => Some(SamplerSetting::AlwaysOn),
                "always_off" => Some(SamplerSetting::AlwaysOff),
                "traceidratio" => Some(SamplerSetting::Ratio(ratio)),
                "parentbased_always_on" => Some(SamplerSetting::ParentBasedAlwaysOn),
                "parentbased_always_off" => Some(SamplerSetting::ParentBasedAlwaysOff),
                "parentbased_traceidratio" => Some(SamplerSetting::ParentBasedRatio(ratio)),
                _ => None,
            },
        )
    }

    pub fn batch(&self, mut batch: BatchSettings) -> Result<BatchSettings> {
        if let Some(d) = self.millis("OTEL_BSP_SCHEDULE_DELAY")? {
            batch.schedule_delay = d;
        }
        if let Some(d) = self.millis("OTEL_BSP_EXPORT_TIMEOUT")? {
            batch.export_timeout = d;
        }
        if let Some(n) = self.positive("OTEL_BSP_MAX_QUEUE_SIZE")? {
            batch.max_queue_size = Some(n);
        }
        if let Some(bytes) = self.parse(
            "MAXIMUS_TRACE_MAX_QUEUE_BYTES",
            "expected a size in bytes, e.g. 67108864 or 64MiB",
            parse_bytes,
        )? {
            batch.max_queue_bytes = bytes;
        }
        if let Some(n) = self.positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")? {
            if let Some(queue) = batch.max_queue_size.filter(|queue| n > *queue) {
                return Err(ConfigError::variable(
                    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                    &n.to_string(),
                    format!("must not exceed the queue size ({queue})"),
                ));
            }
            batch.max_export_batch_size = n;
        }
        Ok(batch)
    }

    pub fn limits(&self, mut limits: Limits) -> Result<Limits> {
        let count =
            |name: &'static str| self.parse(name, "expected a whole number", |v| v.parse::<u32>().ok());
        if let Some(n) = count("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT")? {
            limits.attribute_count = n;
        }
        if let Some(n) = count("OTEL_SPAN_EVENT_COUNT_LIMIT")? {
            limits.event_count = n;
        }
        if let Some(n) = count("OTEL_SPAN_LINK_COUNT_LIMIT")? {
            limits.link_count = n;
        }
        let value_len = self.parse(
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            "expected a whole number",
            |v| v.parse::<usize>().ok(),
        )?;
        if value_len.is_some() {
            limits.attribute_value_length = value_len;
        }
        Ok(limits)
    }

    /// `OTEL_PROPAGATORS`: a comma-separated list of `tracecontext`, `baggage`, `jaeger`, `none`.
    pub fn propagators(&self) -> Result<Option<Propagators>> {
        let Some(raw) = self.get("OTEL_PROPAGATORS") else {
            return Ok(None);
        };
        let mut p = Propagators {
            trace_context: false,
            baggage: false,
            jaeger: false,
        };
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "tracecontext" => p.trace_context = true,
                "baggage" => p.baggage = true,
                "jaeger" => p.jaeger = true,
                "none" => {}
                other => {
                    return Err(ConfigError::variable(
                        "OTEL_PROPAGATORS",
                        &raw,
                        format!(
                            "unsupported propagator {other:?}; expected tracecontext, baggage, jaeger or none"
                        ),
                    ));
                }
            }
        }
        Ok(Some(p))
    }

    /// `OTEL_RESOURCE_ATTRIBUTES`: `k=v,k2=v2`, percent-decoded.
    pub fn resource_attributes(&self) -> Result<Vec<(String, String)>> {
        match self.get("OTEL_RESOURCE_ATTRIBUTES") {
            None => Ok(Vec::new()),
            Some(raw) => parse_key_values(&raw).map_err(|entry| {
                ConfigError::variable(
                    "OTEL_RESOURCE_ATTRIBUTES",
                    &raw,
                    format!("entry {entry} is not of the form key=value"),
                )
            }),
        }
    }

    pub fn shutdown_timeout(&self) -> Result<Option<Duration>> {
        self.millis("MAXIMUS_TRACE_SHUTDOWN_TIMEOUT_MS")
    }

    /// `MAXIMUS_TRACE_OTEL_CONTEXT`: bridge the `opentelemetry` API's context.
    pub fn otel_context(&self) -> Result<Option<bool>> {
        self.bool("MAXIMUS_TRACE_OTEL_CONTEXT")
    }

    /// `MAXIMUS_SPAN_METRICS`: compute span metrics (RED) from ended spans.
    pub fn span_metrics(&self) -> Result<Option<bool>> {
        self.bool("MAXIMUS_SPAN_METRICS")
    }

    /// `OTEL_METRIC_EXPORT_INTERVAL`: milliseconds between pushes of the span metrics.
    pub fn metric_export_interval(&self) -> Result<Option<Duration>> {
        self.parse(
            "OTEL_METRIC_EXPORT_INTERVAL",
            "expected a positive whole number of milliseconds",
            |v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .map(Duration::from_millis)
            },
        )
    }

    /// `MAXIMUS_PROMETHEUS_ADDR`: the `host:port` that serves `GET /metrics`.
    pub fn prometheus_addr(&self) -> Result<Option<String>> {
        self.parse(
            "MAXIMUS_PROMETHEUS_ADDR",
            "expected host:port, for example 127.0.0.1:9464",
            |v| crate::config::is_listen_addr(v).then(|| v.to_owned()),
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OtlpProtocol {
    HttpProtobuf,
    Grpc,
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Parses the W3C-baggage-like `key=value,key=value` lists of the OpenTelemetry variables.
/// On error returns the 1-based position of the bad entry (not its text, which may be secret).
fn parse_key_values(raw: &str) -> std::result::Result<Vec<(String, String)>, usize> {
    raw.split(',')
        .enumerate()
        .filter(|(_, entry)| !entry.trim().is_empty())
        .map(|(i, entry)| {
            let (k, v) = entry.split_once('=').ok_or(i + 1)?;
            let key = percent_decode(k.trim()).ok_or(i + 1)?;
            let value = percent_decode(v.trim()).ok_or(i + 1)?;
            if key.is_empty() {
                return Err(i + 1);
            }
            Ok((key, value))
        })
        .collect()
}

// Hand-written: a dozen lines, and the only percent-decoding this crate needs.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A size: a positive number of bytes, or of `KiB`, `MiB`, `GiB` (any case, a space
/// allowed before the unit). Written here: the format is three suffixes.
fn parse_bytes(text: &str) -> Option<usize> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let number: usize = text[..digits].parse().ok()?;
    let unit = text[digits..].trim().to_ascii_lowercase();
    let shift = match unit.as_str() {
        "" | "b" => 0,
        "kib" => 10,
        "mib" => 20,
        "gib" => 30,
        _ => return None,
    };
    number.checked_mul(1 << shift).filter(|bytes| *bytes > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Env<'static> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Env::from_fn(move |name| map.get(name).cloned())
    }

    fn names_variable<T: std::fmt::Debug>(result: Result<T>, variable: &str, value: &str) {
        let err = result.expect_err("expected a ConfigError");
        let text = err.to_string();
        assert!(text.contains(variable), "{text} should name {variable}");
        assert!(text.contains(value), "{text} should show {value}");
    }

    #[test]
    fn enabled_accepts_bool_spellings_case_insensitively() {
        for (raw, want) in [("TRUE", true), ("1", true), ("False", false), ("0", false)] {
            assert_eq!(
                env(&[("MAXIMUS_TRACING_ENABLED", raw)]).enabled().unwrap(),
                Some(want)
            );
        }
    }

    #[test]
    fn enabled_maybe_is_an_error_naming_the_variable() {
        names_variable(
            env(&[("MAXIMUS_TRACING_ENABLED", "maybe")]).enabled(),
            "MAXIMUS_TRACING_ENABLED",
            "maybe",
        );
    }

    #[test]
    fn sdk_disabled_switches_tracing_off() {
        let e = env(&[("MAXIMUS_TRACING_ENABLED", "true"), ("OTEL_SDK_DISABLED", "true")]);
        assert_eq!(e.enabled().unwrap(), Some(false));
    }

    #[test]
    fn jaeger_port_out_of_range_is_an_error() {
        names_variable(
            env(&[("JAEGER_AGENT_PORT", "70000")]).jaeger_port(),
            "JAEGER_AGENT_PORT",
            "70000",
        );
        names_variable(
            env(&[("JAEGER_AGENT_PORT", "udp")]).jaeger_port(),
            "JAEGER_AGENT_PORT",
            "udp",
        );
    }

    #[test]
    fn jaeger_variables_select_the_agent_exporter() {
        assert_eq!(
            env(&[("JAEGER_AGENT_HOST", "agent")]).exporter().unwrap(),
            Some(Exporter::JaegerAgent)
        );
        let explicit = env(&[
            ("JAEGER_AGENT_HOST", "agent"),
            ("MAXIMUS_TRACE_EXPORTER", "console"),
        ]);
        assert_eq!(explicit.exporter().unwrap(), Some(Exporter::Console));
    }

    #[test]
    fn unknown_exporter_is_an_error() {
        names_variable(
            env(&[("MAXIMUS_TRACE_EXPORTER", "kafka")]).exporter(),
            "MAXIMUS_TRACE_EXPORTER",
            "kafka",
        );
    }

    #[test]
    fn grpc_protocol_selects_grpc_exporter() {
        let e = env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
        assert_eq!(e.exporter().unwrap(), Some(Exporter::OtlpGrpc));
        names_variable(
            env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")]).exporter(),
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "carrier-pigeon",
        );
    }

    #[test]
    fn sampler_ratio_outside_unit_interval_or_nan_is_an_error() {
        for bad in ["1.5", "NaN", "-0.1", "half"] {
            let e = env(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", bad),
            ]);
            names_variable(e.sampler(), "OTEL_TRACES_SAMPLER_ARG", bad);
        }
    }

    #[test]
    fn sampler_names_follow_the_specification() {
        let e = env(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        assert_eq!(e.sampler().unwrap(), Some(SamplerSetting::ParentBasedRatio(0.25)));
        names_variable(
            env(&[("OTEL_TRACES_SAMPLER", "sometimes")]).sampler(),
            "OTEL_TRACES_SAMPLER",
            "sometimes",
        );
    }

    #[test]
    fn endpoint_that_is_not_a_url_is_an_error() {
        names_variable(
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")]).otlp_endpoint(false),
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "localhost:4318",
        );
    }

    #[test]
    fn base_endpoint_gets_the_traces_path_but_signal_endpoint_is_used_as_is() {
        let base = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]);
        assert_eq!(
            base.otlp_endpoint(false).unwrap().as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        let signal = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://other:9999/custom"),
        ]);
        assert_eq!(
            signal.otlp_endpoint(false).unwrap().as_deref(),
            Some("http://other:9999/custom")
        );
    }

    #[test]
    fn headers_are_percent_decoded_and_errors_hide_the_value() {
        let e = env(&[("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret,x-tenant=acme")]);
        assert_eq!(
            e.otlp_headers().unwrap(),
            vec![
                ("api-key".into(), "s=cret".into()),
                ("x-tenant".into(), "acme".into())
            ]
        );
        let err = env(&[("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer abc,oops")])
            .otlp_headers()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("OTEL_EXPORTER_OTLP_HEADERS") && err.contains("entry 2"),
            "{err}"
        );
        assert!(!err.contains("abc"), "the error leaked a header value: {err}");
    }

    #[test]
    fn resource_attributes_parse_and_reject_bad_entries() {
        let e = env(&[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=prod,team=core%20ai",
        )]);
        assert_eq!(
            e.resource_attributes().unwrap(),
            vec![
                ("deployment.environment".into(), "prod".into()),
                ("team".into(), "core ai".into())
            ]
        );
        names_variable(
            env(&[("OTEL_RESOURCE_ATTRIBUTES", "novalue")]).resource_attributes(),
            "OTEL_RESOURCE_ATTRIBUTES",
            "novalue",
        );
    }

    #[test]
    fn queue_bytes_take_a_number_and_a_binary_unit() {
        let bytes = |v: &str| env(&[("MAXIMUS_TRACE_MAX_QUEUE_BYTES", v)]).batch(BatchSettings::default());
        assert_eq!(bytes("1048576").unwrap().max_queue_bytes, 1 << 20);
        assert_eq!(bytes("64MiB").unwrap().max_queue_bytes, 64 << 20);
        assert_eq!(bytes(" 2 gib ").unwrap().max_queue_bytes, 2 << 30);
        for bad in ["0", "64MB", "lots", "-1", "12.5MiB"] {
            names_variable(bytes(bad), "MAXIMUS_TRACE_MAX_QUEUE_BYTES", bad);
        }
    }

    #[test]
    fn batch_variables_are_checked() {
        let e = env(&[
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ]);
        let b = e.batch(BatchSettings::default()).unwrap();
        assert_eq!(b.schedule_delay, Duration::from_millis(250));
        assert_eq!(b.max_queue_size, Some(100));
        names_variable(
            env(&[("OTEL_BSP_MAX_QUEUE_SIZE", "0")]).batch(BatchSettings::default()),
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "0",
        );
        names_variable(
            env(&[
                ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
                ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20"),
            ])
            .batch(BatchSettings::default()),
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "20",
        );
    }

    #[test]
    fn propagators_list_is_parsed_and_unknown_names_rejected() {
        let p = env(&[("OTEL_PROPAGATORS", "tracecontext, jaeger")])
            .propagators()
            .unwrap()
            .unwrap();
        assert!(p.trace_context && p.jaeger && !p.baggage);
        names_variable(
            env(&[("OTEL_PROPAGATORS", "tracecontext,xray")]).propagators(),
            "OTEL_PROPAGATORS",
            "xray",
        );
    }

    #[test]
    fn limits_are_read() {
        let l = env(&[
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "10"),
        ])
        .limits(Limits::default())
        .unwrap();
        assert_eq!((l.attribute_count, l.attribute_value_length), (3, Some(10)));
        names_variable(
            env(&[("OTEL_SPAN_EVENT_COUNT_LIMIT", "-1")]).limits(Limits::default()),
            "OTEL_SPAN_EVENT_COUNT_LIMIT",
            "-1",
        );
    }

    #[test]
    fn metric_export_interval_is_checked() {
        let e = env(&[("OTEL_METRIC_EXPORT_INTERVAL", "5000")]);
        assert_eq!(e.metric_export_interval().unwrap(), Some(Duration::from_secs(5)));
        names_variable(
            env(&[("OTEL_METRIC_EXPORT_INTERVAL", "soon")]).metric_export_interval(),
            "OTEL_METRIC_EXPORT_INTERVAL",
            "soon",
        );
    }

    #[test]
    fn span_metrics_variables_are_checked() {
        assert_eq!(
            env(&[("MAXIMUS_SPAN_METRICS", "TRUE")]).span_metrics().unwrap(),
            Some(true)
        );
        names_variable(
            env(&[("MAXIMUS_SPAN_METRICS", "yes please")]).span_metrics(),
            "MAXIMUS_SPAN_METRICS",
            "yes please",
        );
        assert_eq!(
            env(&[("MAXIMUS_PROMETHEUS_ADDR", "0.0.0.0:9464")])
                .prometheus_addr()
                .unwrap()
                .as_deref(),
            Some("0.0.0.0:9464")
        );
        names_variable(
            env(&[("MAXIMUS_PROMETHEUS_ADDR", "9464")]).prometheus_addr(),
            "MAXIMUS_PROMETHEUS_ADDR",
            "9464",
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        assert_eq!(env(&[("JAEGER_AGENT_PORT", "")]).jaeger_port().unwrap(), None);
    }
}
