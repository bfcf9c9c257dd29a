//! [`ServerLayer`]: one server span per request served, continuing the caller's trace.

use std::borrow::Cow;
use std::fmt::Display;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Extensions, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::body::ResponseBody;
use super::exchange::Exchange;
use super::future::ResponseFuture;
use super::grpc::{self, RpcMethod};
use super::semconv::{self, SemConv, Side};
use crate::context::Current;
use crate::manager::TracingManager;
use crate::model::{KeyValue, SpanKind};
use crate::span::Span;

/// Finds the route template a request matched (`/orders/{id}`), if any.
pub type RouteLookup = fn(&Extensions) -> Option<&str>;

/// A `tower::Layer` that gives every request a server span: axum (`Router::layer`),
/// hyper-util (`TowerToHyperService`), tonic (`Server::builder().layer(..)`).
///
/// - The span continues the trace of the request's headers (the configured propagators:
///   `traceparent`/`tracestate`, `baggage`, `uber-trace-id`), and is current while the
///   handler runs, across every `.await`; it ends when the response body has been sent.
/// - HTTP: named `{METHOD} {route}` with axum's matched route (feature `axum`, or
///   [`ServerLayer::route_from`]), else `{METHOD}` alone: never the raw path, which holds
///   ids. Attributes `http.request.method`, `url.path`, `url.scheme`, `http.route`,
///   `server.address`, `server.port`, `network.protocol.version`, `user_agent.original`,
///   `http.response.status_code`; a 5xx marks it ERROR, a 4xx (the caller's mistake) does not.
/// - gRPC (`content-type: application/grpc`): named `package.Service/Method`, with
///   `rpc.system`, `rpc.service`, `rpc.method` and `rpc.grpc.status_code` from the response
///   headers or trailers; UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE
///   and DATA_LOSS mark it ERROR.
/// - A panicking handler ends it ERROR with the panic's message; a request dropped before
///   its response (the client went away) ends it ERROR with `cancelled = true`; a response
///   carrying [`NotSent`](super::NotSent) records that instead of a status code.
/// - No header but `User-Agent` is read into attributes, and no query string: credentials
///   never become attributes.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{Router, routing::get};
/// let app: Router = Router::new()
///     .route("/orders/{id}", get(|| async { "order" }))
///     .layer(maximus_trace::http::ServerLayer::new());
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ServerLayer {
    /// `None`: the global pipeline, looked up per request (it may be set up after the
    /// server is built).
    manager: Option<Arc<TracingManager>>,
    route: RouteLookup,
}

impl ServerLayer {
    /// Spans in the global pipeline ([`crate::get_tracing`]), routes from axum's
    /// `MatchedPath` when the `axum` feature is on.
    pub fn new() -> Self {
        ServerLayer {
            manager: None,
            route: matched_path,
        }
    }

    /// Records the spans in `manager`'s pipeline instead of the global one (a service of its
    /// own in the same process).
    pub fn manager(mut self, manager: Arc<TracingManager>) -> Self {
        self.manager = Some(manager);
        self
    }

    /// How to find the route template a request matched, from the request's extensions
    /// (another router than axum's). Return `None` rather than a raw path.
    pub fn route_from(mut self, lookup: RouteLookup) -> Self {
        self.route = lookup;
        self
    }

    /// The span of `request`, or `None` when tracing is off.
    fn start<B>(&self, request: &Request<B>) -> Option<Exchange> {
        let manager = match &self.manager {
            Some(manager) => manager.as_ref(),
            None => crate::get_tracing(),
        };
        if !manager.is_enabled() {
            return None;
        }
        let remote = crate::extract(request.headers());
        let rpc = grpc::is_grpc(request.headers())
            .then(|| grpc::rpc_method(request.uri().path()))
            .flatten();
        let builder = |name: String| manager.span_builder(name).kind(SpanKind::Server).parent(&remote);
        let span: Span = match rpc {
            Some(method) => builder(method.full.to_owned()).start_with(|| rpc_attributes(request, method)),
            None => {
                let route = (self.route)(request.extensions());
                let method = semconv::method_in_name(request.method());
                let name = match route {
                    Some(route) => format!("{method} {route}"),
                    None => method.to_owned(),
                };
                builder(name).start_with(|| http_attributes(request, route))
            }
        };
        Some(Exchange::new(span, Side::Server, rpc.is_some()))
    }
}

impl Default for ServerLayer {
    fn default() -> Self {
        ServerLayer::new()
    }
}

#[cfg(feature = "axum")]
fn matched_path(extensions: &Extensions) -> Option<&str> {
    extensions
        .get::<axum::extract::MatchedPath>()
        .map(axum::extract::MatchedPath::as_str)
}

#[cfg(not(feature = "axum"))]
fn matched_path(_: &Extensions) -> Option<&str> {
    None
}

/// The stable HTTP server attributes known from the request.
fn http_attributes<B>(request: &Request<B>, route: Option<&str>) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(9);
    attributes.extend(
        semconv::method_attributes(request.method(), SemConv::STABLE).map(|(k, v)| KeyValue::new(k, v)),
    );
    let uri = request.uri();
    attributes.push(KeyValue::new("url.path", uri.path().to_owned()));
    let scheme = uri.scheme_str().unwrap_or("http");
    attributes.push(KeyValue::new("url.scheme", scheme.to_owned()));
    if let Some(route) = route {
        attributes.push(KeyValue::new("http.route", route.to_owned()));
    }
    peer_attributes(request, &mut attributes);
    if let Some(agent) = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
    }
    attributes
}

/// The RPC attributes of a gRPC call.
fn rpc_attributes<B>(request: &Request<B>, method: RpcMethod<'_>) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(6);
    attributes.extend(grpc::method_attributes(method));
    peer_attributes(request, &mut attributes);
    attributes
}

/// `server.address` and `server.port` (the authority the client asked for: HTTP/2's
/// `:authority`, else `Host`), `network.protocol.version`.
fn peer_attributes<B>(request: &Request<B>, attributes: &mut Vec<KeyValue>) {
    let authority = request.uri().authority().map(|a| a.as_str()).or_else(|| {
        request
            .headers()
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
    });
    if let Some((host, port)) = authority.map(semconv::host_port) {
        if !host.is_empty() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
        }
        if let Some(port) = port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    if let Some(version) = semconv::protocol_version(request.version()) {
        attributes.push(KeyValue::new("network.protocol.version", Cow::Borrowed(version)));
    }
}

impl<S> Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`ServerLayer`] wraps around another.
#[derive(Clone, Debug)]
pub struct ServerService<S> {
    inner: S,
    layer: ServerLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ServerService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Display,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let exchange = self.layer.start(&request);
        // Current while the inner service builds its future too: work done in `call`
        // belongs to the request.
        let inner = {
            let _current = exchange
                .as_ref()
                .and_then(|e| e.span().handle())
                .map(Current::enter);
            self.inner.call(request)
        };
        ResponseFuture::new(inner, exchange)
    }
}
