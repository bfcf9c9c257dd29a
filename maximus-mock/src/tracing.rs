//! One server span per request to the backend's routes, continuing the trace
//! of the incoming `traceparent`.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use maximus_trace::{FutureExt, SpanKind, Status};

use crate::faults::ConnectionDropped;

/// Names the span `"{METHOD} {route}"` (just the method when no route
/// matched, as OpenTelemetry's HTTP conventions advise) and records
/// `http.request.method`, `url.path`, `http.route` and
/// `http.response.status_code`; 5xx answers and dropped connections mark
/// the span as failed.
pub(crate) async fn trace(request: Request, next: Next) -> Response {
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
    let mut builder = maximus_trace::get_tracing()
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
