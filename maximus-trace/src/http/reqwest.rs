//! [`TracingMiddleware`]: client spans for `reqwest` through `reqwest-middleware`.

use http::Extensions;
use reqwest_middleware::reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use url::Url;

use super::client::ClientSpan;
use super::semconv::{self, Side};
use crate::context::InSpan;
use crate::engine::exception::Exception;
use crate::span::Span;

/// A `reqwest_middleware::Middleware`: one client span per request, its context in the
/// request's own headers.
///
/// ```
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(maximus_trace::http::TracingMiddleware::new())
///     .build();
/// ```
///
/// The span is [`ClientSpan`]'s (`{METHOD}`, `http.request.method`, `url.full` redacted,
/// `server.address`, `server.port`), then `http.response.status_code`; a 4xx or 5xx, or an
/// error instead of a response (no connection, a timeout), marks it ERROR with the error's
/// message (its URL redacted). It ends with the response head.
///
/// Its parent is our current span when the request starts — when `send()`'s future is first
/// polled, inside the caller's task: a span of ours, a `tracing` span entered through our
/// `SpanLayer`, or (with `otel_context(true)`) the OpenTelemetry context's. Any
/// `traceparent` the request carried already is replaced by the client span's, so the server
/// hangs under the span that sent the request.
#[derive(Clone, Debug, Default)]
pub struct TracingMiddleware {
    _private: (),
}

impl TracingMiddleware {
    /// Spans in the global pipeline.
    pub fn new() -> Self {
        TracingMiddleware::default()
    }
}

#[async_trait::async_trait]
impl Middleware for TracingMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let span = ClientSpan::new(request.method(), request.url()).start();
        if span.is_none() {
            return next.run(request, extensions).await;
        }
        crate::propagation::inject_span(span.handle(), request.headers_mut());
        let url = request.url().clone();
        let sent = async move { (next.run(request, extensions).await, url) };
        // Current while the request is sent; the outcome recorded before the span ends.
        let (result, _url) = InSpan::new(sent, span, Some(record_outcome)).await;
        result
    }
}

fn record_outcome(span: &Span, (result, url): &(reqwest_middleware::Result<Response>, Url)) {
    match result {
        Ok(response) => semconv::record_status(&span.as_ref(), response.status(), Side::Client),
        Err(error) => record_error(span, error, url.as_str()),
    }
}

/// The error as an exception, its message without the request's secrets (reqwest's
/// messages quote the URL whole).
fn record_error(span: &Span, error: &reqwest_middleware::Error, url: &str) {
    if !span.is_recording() {
        return;
    }
    let error_type = match error {
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(_) => "request",
        reqwest_middleware::Error::Middleware(_) => "middleware",
    };
    span.set_attribute("error.type", error_type);
    // The URL the error quotes (after redirects, another one) and the request's.
    let mut message = error.to_string();
    let quoted = match error {
        reqwest_middleware::Error::Reqwest(e) => e.url().map(Url::as_str),
        reqwest_middleware::Error::Middleware(_) => None,
    };
    for raw in quoted.into_iter().chain([url]) {
        message = message.replace(raw, &crate::redact::url(raw));
    }
    span.record_exception(Exception::of_error(error, message));
}
