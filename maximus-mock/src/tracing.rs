//! One server span per request to the backend's routes, continuing the trace
//! of the incoming `traceparent`, in the pipeline [`ServerTracing`] names.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use maximus_trace::{FutureExt, SpanKind, Status, TracingManager};

use crate::faults::ConnectionDropped;

/// The `service.name` the mock reports under when it is a service of its own: the
/// `MAXIMUS_MOCK_SERVICE_NAME` variable, else `maximus-core` (the name of the real MAXIMUS
/// core service). `OTEL_SERVICE_NAME` is not read: an in-process mock shares the
/// environment of the client whose service that variable names.
pub fn service_name() -> String {
    std::env::var("MAXIMUS_MOCK_SERVICE_NAME")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned())
}

/// See [`service_name`].
pub const DEFAULT_SERVICE_NAME: &str = "maximus-core";

/// Which pipeline records the mock's server spans.
#[derive(Debug, Clone, Default)]
pub enum ServerTracing {
    /// The process's global pipeline (`maximus_trace::get_tracing()`, looked up per
    /// request): the server spans belong to the caller's own service. What tests that read
    /// both sides of a call from one exporter want.
    #[default]
    Global,
    /// A pipeline of its own, e.g. `TracingManager::builder().service_name(service_name())
    /// .build()`: the mock reports as a separate service, as a real MAXIMUS does, also when
    /// it runs inside the client's process.
    Manager(Arc<TracingManager>),
}

/// Names the span `"{METHOD} {route}"` (just the method when no route
/// matched, as OpenTelemetry's HTTP conventions advise) and records
/// `http.request.method`, `url.path`, `http.route` and
/// `http.response.status_code`; 5xx answers and dropped connections mark
/// the span as failed.
pub(crate) async fn trace(State(tracing): State<ServerTracing>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|route| route.as_str().to_owned());
    let name = match &route {
        Some(route) => format!("{method} {route}"),
        None => method.clone(),
    };
    let remote = maximus_trace::extract(request.headers());
    let manager = match &tracing {
        ServerTracing::Global => maximus_trace::get_tracing(),
        ServerTracing::Manager(manager) => manager,
    };
    let mut builder = manager
        .span_builder(name)
        .kind(SpanKind::Server)
        .parent(&remote)
        .attribute("http.request.method", method)
        .attribute("url.path", request.uri().path().to_owned());
    if let Some(route) = route {
        builder = builder.attribute("http.route", route);
    }
    let span = builder.start();

    async move {
        let response = next.run(request).await;
        record_outcome(&response);
        response
    }
    .in_span(span)
    .await
}

fn record_outcome(response: &Response) {
    if response.extensions().get::<ConnectionDropped>().is_some() {
        maximus_trace::set_attribute("error.type", "connection_dropped");
        maximus_trace::set_status(Status::error("connection dropped by fault injection"));
        return;
    }
    let status = response.status();
    maximus_trace::set_attribute("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        maximus_trace::set_attribute("error.type", status.as_str().to_owned());
        maximus_trace::set_status(Status::error(status.to_string()));
    }
}
