//! Label values exactly as the OpenTelemetry Collector's `spanmetrics` connector writes them
//! once its Prometheus exporter has normalised the names.
//!
//! Sources (checked against both): Jaeger's Service Performance Monitoring documentation
//! (jaegertracing/documentation `content/docs/v2/_dev/architecture/spm.md`: Jaeger's Monitor
//! tab queries `traces_span_metrics_calls_total` and
//! `traces_span_metrics_duration_milliseconds_bucket`, errors being the series with
//! `status_code="STATUS_CODE_ERROR"`), and the connector's README in
//! opentelemetry-collector-contrib `connector/spanmetricsconnector/README.md` (default namespace
//! `traces.span.metrics`, dimensions `service.name`, `span.name`, `span.kind`, `status.code`,
//! exported as `calls_total{service_name=..,span_name=..,span_kind="SPAN_KIND_SERVER",
//! status_code="STATUS_CODE_UNSET"}`).

use opentelemetry::trace::{SpanKind, Status};

/// The calls counter.
pub(crate) const CALLS: &str = "traces_span_metrics_calls_total";
/// The duration histogram (`_bucket`, `_sum`, `_count` are appended).
pub(crate) const DURATION: &str = "traces_span_metrics_duration_milliseconds";

/// The service graph connector's metrics (opentelemetry-collector-contrib
/// `connector/servicegraphconnector/README.md`), labelled `client`, `server`, `connection_type`.
pub(crate) const GRAPH_REQUESTS: &str = "traces_service_graph_request_total";
pub(crate) const GRAPH_FAILED: &str = "traces_service_graph_request_failed_total";
pub(crate) const GRAPH_SERVER_SECONDS: &str = "traces_service_graph_request_server_seconds";
pub(crate) const GRAPH_CLIENT_SECONDS: &str = "traces_service_graph_request_client_seconds";
pub(crate) const GRAPH_UNPAIRED: &str = "traces_service_graph_unpaired_spans_total";
pub(crate) const GRAPH_DROPPED: &str = "traces_service_graph_dropped_spans_total";

/// `span_kind`: the OTLP enum name.
pub(crate) fn kind(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Internal => "SPAN_KIND_INTERNAL",
        SpanKind::Server => "SPAN_KIND_SERVER",
        SpanKind::Client => "SPAN_KIND_CLIENT",
        SpanKind::Producer => "SPAN_KIND_PRODUCER",
        SpanKind::Consumer => "SPAN_KIND_CONSUMER",
    }
}

/// `status_code`: the OTLP enum name.
pub(crate) fn status(status: &Status) -> &'static str {
    match status {
        Status::Unset => "STATUS_CODE_UNSET",
        Status::Ok => "STATUS_CODE_OK",
        Status::Error { .. } => STATUS_ERROR,
    }
}

/// The status that counts as an error (the Monitor tab's error rate).
pub(crate) const STATUS_ERROR: &str = "STATUS_CODE_ERROR";

/// The labels the connector's Prometheus exporter puts on every series besides the span's
/// own: `job` (`service.namespace/service.name`, or the name alone) and `instance`
/// (`service.instance.id`, when the resource has one), then the connector's own scope
/// (`otel_scope_name="spanmetricsconnector"`, empty version and schema URL), as a real
/// Jaeger v2.12's spanmetrics connector writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TargetLabels {
    pub job: String,
    pub instance: Option<String>,
}

impl TargetLabels {
    /// From the pipeline's service name and resource attributes.
    pub fn from_resource(service: &str, resource: &[(String, String)]) -> Self {
        let attribute = |key: &str| {
            resource
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let job = match attribute("service.namespace") {
            Some(namespace) => format!("{namespace}/{service}"),
            None => service.to_owned(),
        };
        TargetLabels {
            job,
            instance: attribute("service.instance.id"),
        }
    }
}

/// The scope the connector reports its metrics under.
pub(crate) const SCOPE_NAME: &str = "spanmetricsconnector";
