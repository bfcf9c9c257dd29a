//! `TracingBuilder`: explicit settings first, environment variables for the rest.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{ShouldSample, SpanExporter};

use crate::config::ResolvedConfig;
use crate::config::{BatchSettings, ConfigError, Exporter, Limits, SamplerSetting, Settings};
use crate::engine::sampling::Sampler;
use crate::env::Env;
use crate::export::{self, BatchObserver};
use crate::manager::{self, TracingGuard, TracingManager};
use crate::metrics::{MetricsSettings, SpanMetrics};
use crate::pipeline::{Pipeline, Setup};
use crate::stats::Counters;

const DEFAULT_OTLP_HTTP: &str = "http://localhost:4318/v1/traces";
const DEFAULT_OTLP_GRPC: &str = "http://localhost:4317";
const DEFAULT_ZIPKIN: &str = "http://localhost:9411/api/v2/spans";

type CustomExporter = Box<dyn FnOnce(Setup) -> Pipeline + Send>;

/// The constructors that go through the builder.
impl TracingManager {
    /// Starts configuring a pipeline (environment variables fill what the builder leaves unset).
    pub fn builder() -> TracingBuilder {
        TracingBuilder::default()
    }

    /// A standalone manager exporting to a Jaeger agent over UDP, the four-argument constructor
    /// of the original MAXIMUS tracing API.
    /// Other settings come from the environment. A configuration error is logged and gives a
    /// disabled manager, so this never fails.
    pub fn new(
        service_name: impl Into<String>,
        jaeger_host: impl Into<String>,
        jaeger_port: u16,
        enabled: bool,
    ) -> Self {
        let built = TracingManager::builder()
            .service_name(service_name)
            .jaeger_agent(jaeger_host, jaeger_port)
            .enabled(enabled)
            .build();
        built.unwrap_or_else(|e| {
            log::error!("maximus-trace: tracing disabled: {e}");
            TracingManager::disabled()
        })
    }
}

/// Configures a tracing pipeline. Every setting left unset is read from its environment
/// variable (see the README's table), then from the defaults.
#[derive(Default)]
#[must_use = "call .init() to start tracing"]
pub struct TracingBuilder {
    service_name: Option<String>,
    default_service_name: Option<String>,
    enabled: Option<bool>,
    exporter: Option<Exporter>,
    jaeger: Option<(String, u16)>,
    otlp_endpoint: Option<String>,
    otlp_headers: Vec<(String, String)>,
    sample_ratio: Option<f64>,
    sampler: Option<Box<dyn ShouldSample>>,
    custom_exporter: Option<CustomExporter>,
    otel_context: Option<bool>,
    resource: Vec<(String, String)>,
    shutdown_timeout: Option<Duration>,
    batch: Option<BatchSettings>,
    print_traces: bool,
    observers: Vec<Arc<dyn BatchObserver>>,
    span_metrics: Option<bool>,
    prometheus_listener: Option<String>,
    environment: Option<Box<crate::env::Lookup<'static>>>,
}

impl std::fmt::Debug for TracingBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracingBuilder")
            .field("service_name", &self.service_name)
            .field("exporter", &self.exporter)
            .finish_non_exhaustive()
    }
}

impl TracingBuilder {
    /// The `service.name` (else `OTEL_SERVICE_NAME`, else the default given to
    /// `init_from_env`, else `unknown_service`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The name used when neither the builder nor `OTEL_SERVICE_NAME` gives one.
    pub fn default_service_name(mut self, name: impl Into<String>) -> Self {
        self.default_service_name = Some(name.into());
        self
    }

    /// Switches tracing on or off (else `MAXIMUS_TRACING_ENABLED` / `OTEL_SDK_DISABLED`).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }

    /// Chooses the exporter (else `MAXIMUS_TRACE_EXPORTER`).
    pub fn exporter(mut self, exporter: Exporter) -> Self {
        self.exporter = Some(exporter);
        self
    }

    /// Exports to a Jaeger agent over UDP, and selects that exporter.
    pub fn jaeger_agent(mut self, host: impl Into<String>, port: u16) -> Self {
        self.jaeger = Some((host.into(), port));
        self.exporter.get_or_insert(Exporter::JaegerAgent);
        self
    }

    /// The full OTLP URL (for HTTP, including `/v1/traces`), and selects OTLP unless an
    /// exporter was chosen.
    pub fn otlp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(url.into());
        self.exporter.get_or_insert(Exporter::Otlp);
        self
    }

    /// Adds a header to every OTLP export request (for example an API key). Never logged.
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.otlp_headers.push((name.into(), value.into()));
        self
    }

    /// Exports to any OpenTelemetry `SpanExporter` instead of a built-in one.
    pub fn span_exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.custom_exporter = Some(Box::new(move |setup: Setup| {
            let counters = Arc::new(Counters::default());
            let destination = export::custom(exporter, "custom span exporter".to_owned(), &counters);
            setup.start(destination, counters)
        }));
        self
    }

    /// Samples this fraction of new traces (0.0 to 1.0); children follow their parent.
    pub fn sample_ratio(mut self, ratio: f64) -> Self {
        self.sample_ratio = Some(ratio);
        self
    }

    /// Uses any OpenTelemetry sampler (overrides `sample_ratio` and `OTEL_TRACES_SAMPLER`).
    pub fn sampler(mut self, sampler: impl ShouldSample + 'static) -> Self {
        self.sampler = Some(Box::new(sampler));
        self
    }

    /// Adds a resource attribute (for example `deployment.environment`).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource.push((key.into(), value.into()));
        self
    }

    /// How long dropping the guard may wait for the last spans to be sent (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// How often batches are sent (default 1 s, else `OTEL_BSP_SCHEDULE_DELAY`).
    pub fn batch_delay(mut self, delay: Duration) -> Self {
        self.batch
            .get_or_insert_with(BatchSettings::default)
            .schedule_delay = delay;
        self
    }

    /// Caps how many ended spans may wait for export (else `OTEL_BSP_MAX_QUEUE_SIZE`; by
    /// default no count is set and [`TracingBuilder::max_queue_bytes`] alone bounds them).
    pub fn max_queue_size(mut self, spans: usize) -> Self {
        let batch = self.batch.get_or_insert_with(BatchSettings::default);
        batch.max_queue_size = Some(spans);
        batch.max_export_batch_size = batch.max_export_batch_size.min(spans);
        self
    }

    /// How much memory ended spans may hold while they wait for export, attributes and
    /// events included (else `MAXIMUS_TRACE_MAX_QUEUE_BYTES`; default 64 MiB, about 270,000
    /// spans with three attributes). Spans beyond it are dropped and counted.
    pub fn max_queue_bytes(mut self, bytes: usize) -> Self {
        self.batch
            .get_or_insert_with(BatchSettings::default)
            .max_queue_bytes = bytes;
        self
    }

    /// Also prints every finished trace as a tree on standard output, besides exporting it.
    pub fn print_traces(mut self, print: bool) -> Self {
        self.print_traces = print;
        self
    }

    /// Bridges the `opentelemetry` API's context (else `MAXIMUS_TRACE_OTEL_CONTEXT`; off by
    /// default, so spans pay nothing for it): while one of our spans is current, spans that
    /// another library starts through the `opentelemetry` API (or `tracing-opentelemetry`)
    /// become its children, and our spans started inside such a library's span continue its
    /// trace. For one call, [`crate::otel_context`] gives the same without switching this on.
    pub fn otel_context(mut self, bridge: bool) -> Self {
        self.otel_context = Some(bridge);
        self
    }

    /// Reads variables from `lookup` instead of the process environment (for tests and
    /// for programs that keep their configuration elsewhere).
    pub fn environment(mut self, lookup: impl Fn(&str) -> Option<String> + 'static) -> Self {
        self.environment = Some(Box::new(lookup));
        self
    }

    /// Builds the pipeline and makes it global. Fails when a setting is invalid or when the
    /// guard of an earlier `init()` is still alive.
    pub fn init(self) -> Result<TracingGuard, ConfigError> {
        if !manager::global_is_free() {
            return Err(ConfigError::AlreadyInitialized);
        }
        let (manager, settings) = self.build_with_settings()?;
        let guard = manager::install_global(manager, &settings).ok_or(ConfigError::AlreadyInitialized)?;
        if settings.enabled {
            log::info!(
                "Tracing initialized: {} -> {} ({})",
                settings.service_name,
                settings.endpoint_description(),
                settings.exporter
            );
        } else {
            log::info!("Tracing disabled: {} records no spans", settings.service_name);
        }
        Ok(guard)
    }

    /// Builds a standalone (non-global) manager that shuts down when dropped.
    pub fn build(self) -> Result<TracingManager, ConfigError> {
        let (manager, settings) = self.build_with_settings()?;
        manager::apply_process_settings(&settings);
        Ok(manager)
    }

    fn build_with_settings(mut self) -> Result<(TracingManager, Settings), ConfigError> {
        let lookup = self.environment.take();
        let env = match &lookup {
            Some(f) => Env::from_fn(|name| f(name)),
            None => Env::process(),
        };
        let settings = self.resolve(&env)?;
        let metrics_settings = self.resolve_metrics(&env)?;
        if !settings.enabled {
            return Ok((TracingManager::disabled(), settings));
        }
        let metrics = self.start_metrics(&settings, &metrics_settings);
        crate::engine::exception::install_panic_hook();
        let setup = Setup {
            settings: settings.clone(),
            sampler: match self.sampler.take() {
                Some(custom) => Sampler::custom(custom),
                None => settings.sampler.sampler(),
            },
            observers: std::mem::take(&mut self.observers),
            console_copy: self.print_traces && settings.exporter != Exporter::Console,
            resource: resource(&settings),
            metrics,
        };
        let pipeline = match self.custom_exporter.take() {
            Some(start) => start(setup),
            None => setup.start_built_in()?,
        };
        Ok((TracingManager::from_pipeline(Arc::new(pipeline), true), settings))
    }

    fn resolve(&self, env: &Env<'_>) -> Result<Settings, ConfigError> {
        let enabled = match self.enabled {
            Some(e) => e,
            None => env.enabled()?.unwrap_or(true),
        };
        let mut resource = env.resource_attributes()?;
        resource.extend(self.resource.iter().cloned());
        let exporter = match self.exporter {
            Some(e) => e,
            None => env.exporter()?.unwrap_or(Exporter::Otlp),
        };
        let (jaeger_host, jaeger_port) = self.resolve_jaeger(env)?;
        let mut otlp_headers = env.otlp_headers()?;
        otlp_headers.extend(self.otlp_headers.iter().cloned());
        let batch = match self.batch {
            Some(b) => b,
            None => env.batch(BatchSettings::default())?,
        };
        if batch.max_queue_size == Some(0) {
            return Err(ConfigError::setting("max_queue_size", 0, "must be at least 1"));
        }
        if batch.max_queue_bytes == 0 {
            return Err(ConfigError::setting("max_queue_bytes", 0, "must be at least 1"));
        }
        Ok(Settings {
            enabled,
            service_name: self.resolve_service_name(env, &resource)?,
            exporter,
            jaeger_host,
            jaeger_port,
            otlp_endpoint: self.resolve_otlp_endpoint(env, exporter == Exporter::OtlpGrpc)?,
            otlp_headers,
            otlp_timeout: env.otlp_timeout()?.unwrap_or(Duration::from_secs(10)),
            zipkin_endpoint: env
                .zipkin_endpoint()?
                .unwrap_or_else(|| DEFAULT_ZIPKIN.to_owned()),
            sampler: self.resolve_sampler(env)?,
            batch,
            limits: env.limits(Limits::default())?,
            propagators: env.propagators()?.unwrap_or_default(),
            resource,
            shutdown_timeout: match self.shutdown_timeout {
                Some(t) => t,
                None => env.shutdown_timeout()?.unwrap_or(Duration::from_secs(5)),
            },
            otel_context: match self.otel_context {
                Some(on) => on,
                None => env.otel_context()?.unwrap_or(false),
            },
        })
    }

    /// The builder's name, else `OTEL_SERVICE_NAME`, else `service.name` in
    /// `OTEL_RESOURCE_ATTRIBUTES` (as the specification orders them), else the default.
    fn resolve_service_name(
        &self,
        env: &Env<'_>,
        resource: &[(String, String)],
    ) -> Result<String, ConfigError> {
        let from_resource = || {
            resource
                .iter()
                .find(|(k, _)| k == "service.name")
                .map(|(_, v)| v.clone())
        };
        let name = match &self.service_name {
            Some(name) => name.clone(),
            None => env
                .service_name()
                .or_else(from_resource)
                .or_else(|| self.default_service_name.clone())
                .unwrap_or_else(|| "unknown_service".to_owned()),
        };
        if name.trim().is_empty() {
            return Err(ConfigError::setting("service_name", &name, "must not be empty"));
        }
        Ok(name)
    }

    fn resolve_jaeger(&self, env: &Env<'_>) -> Result<(String, u16), ConfigError> {
        let (host, port) = match &self.jaeger {
            Some((host, port)) => (host.clone(), *port),
            None => (
                env.jaeger_host().unwrap_or_else(|| "localhost".to_owned()),
                env.jaeger_port()?.unwrap_or(6831),
            ),
        };
        if host.trim().is_empty() || port == 0 {
            return Err(ConfigError::setting(
                "jaeger_agent",
                format!("{host}:{port}"),
                "needs a host name and a port between 1 and 65535",
            ));
        }
        Ok((host, port))
    }

    fn resolve_otlp_endpoint(&self, env: &Env<'_>, grpc: bool) -> Result<String, ConfigError> {
        match &self.otlp_endpoint {
            Some(url) if crate::redact::is_http_url(url) => Ok(url.clone()),
            Some(url) => Err(ConfigError::setting(
                "otlp_endpoint",
                crate::redact::url(url),
                "expected an http:// or https:// URL",
            )),
            None => Ok(env.otlp_endpoint(grpc)?.unwrap_or_else(|| {
                if grpc {
                    DEFAULT_OTLP_GRPC
                } else {
                    DEFAULT_OTLP_HTTP
                }
                .to_owned()
            })),
        }
    }

    fn resolve_sampler(&self, env: &Env<'_>) -> Result<SamplerSetting, ConfigError> {
        match self.sample_ratio {
            Some(r) if (0.0..=1.0).contains(&r) => Ok(SamplerSetting::ParentBasedRatio(r)),
            Some(r) => Err(ConfigError::setting(
                "sample_ratio",
                r,
                "expected a ratio between 0.0 and 1.0",
            )),
            None => Ok(env.sampler()?.unwrap_or(SamplerSetting::ParentBasedRatio(1.0))),
        }
    }
}

/// Span metrics and configuration diagnostics.
impl TracingBuilder {
    /// Computes span metrics (RED: calls, errors, duration per span name, plus service graph
    /// edges) on the export thread (else `MAXIMUS_SPAN_METRICS`; on by default when a
    /// Prometheus listener is set). Read them with [`TracingManager::metrics_snapshot`] or
    /// scrape them (see [`TracingBuilder::prometheus_listener`]).
    pub fn span_metrics(mut self, enabled: bool) -> Self {
        self.span_metrics = Some(enabled);
        self
    }

    /// Serves the span metrics as Prometheus text on `GET http://<addr>/metrics` (else
    /// `MAXIMUS_PROMETHEUS_ADDR`), for example `"127.0.0.1:9464"`; port 0 picks a free port
    /// ([`TracingManager::prometheus_addr`] tells which). Switches span metrics on unless
    /// `.span_metrics(false)`. The listener stops when the pipeline shuts down.
    pub fn prometheus_listener(mut self, addr: impl Into<String>) -> Self {
        self.prometheus_listener = Some(addr.into());
        self
    }

    /// Resolves the configuration (code, then environment, then defaults) without starting
    /// anything: what `init()` would use. Fails with the same [`ConfigError`] as `init()`.
    pub fn describe(mut self) -> Result<ResolvedConfig, ConfigError> {
        let lookup = self.environment.take();
        let env = match &lookup {
            Some(f) => Env::from_fn(|name| f(name)),
            None => Env::process(),
        };
        let settings = self.resolve(&env)?;
        let metrics = self.resolve_metrics(&env)?;
        Ok(ResolvedConfig::new(
            &settings,
            self.sampler.is_some(),
            metrics.enabled,
            metrics.prometheus_addr.clone(),
        ))
    }

    fn resolve_metrics(&self, env: &Env<'_>) -> Result<MetricsSettings, ConfigError> {
        MetricsSettings::resolve(self.span_metrics, self.prometheus_listener.as_deref(), env)
    }

    /// Starts the metrics (and their listener) and hands their observer to the export thread.
    fn start_metrics(&mut self, settings: &Settings, metrics: &MetricsSettings) -> Option<SpanMetrics> {
        if !metrics.enabled {
            return None;
        }
        let span_metrics = SpanMetrics::start(
            &settings.service_name,
            &settings.resource,
            &settings.batch,
            metrics,
        );
        #[cfg(feature = "otlp-metrics")]
        let span_metrics = if settings.exporter == Exporter::Otlp {
            span_metrics.push_over_otlp(settings, resource(settings))
        } else {
            span_metrics
        };
        self.observers.extend(span_metrics.observers());
        Some(span_metrics)
    }
}

fn resource(settings: &Settings) -> Resource {
    let attributes = settings
        .resource
        .iter()
        .filter(|(k, _)| k != "service.name")
        .map(|(k, v)| opentelemetry::KeyValue::new(k.clone(), v.clone()));
    Resource::builder_empty()
        .with_service_name(settings.service_name.clone())
        .with_attributes(attributes)
        .with_attributes([
            opentelemetry::KeyValue::new("telemetry.sdk.name", "maximus-trace"),
            opentelemetry::KeyValue::new("telemetry.sdk.language", "rust"),
            opentelemetry::KeyValue::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ])
        .build()
}

/// Starts the global pipeline from environment variables alone, with `default_service_name`
/// when `OTEL_SERVICE_NAME` is unset.
pub fn init_from_env(default_service_name: &str) -> Result<TracingGuard, ConfigError> {
    TracingManager::builder()
        .default_service_name(default_service_name)
        .init()
}
