//! One server span per request to the backend's routes, continuing the trace
//! of the incoming `traceparent`, in the pipeline [`ServerTracing`] names.

use std::sync::Arc;

use maximus_trace::TracingManager;
use maximus_trace::http::ServerLayer;

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

/// The layer that gives each request to the backend's routes its server span
/// (`maximus_trace::http::ServerLayer`): named `"{METHOD} {route}"` (the method alone when
/// no route matched), continuing the incoming `traceparent`, with the stable HTTP
/// attributes; 5xx answers and dropped connections (`NotSent`) mark it failed.
pub(crate) fn layer(tracing: &ServerTracing) -> ServerLayer {
    match tracing {
        ServerTracing::Global => ServerLayer::new(),
        ServerTracing::Manager(manager) => ServerLayer::new().manager(manager.clone()),
    }
}
