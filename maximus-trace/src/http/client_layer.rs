//! [`ClientLayer`]: one client span per request sent through a tower client, its context in
//! the request's headers.

use std::fmt::Display;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::body::ResponseBody;
use super::client::ClientSpan;
use super::exchange::Exchange;
use super::future::ResponseFuture;
use super::grpc::{self, RpcMethod};
use super::semconv::{self, Side};
use crate::context::Current;
use crate::model::{KeyValue, SpanKind};

/// A `tower::Layer` for clients: tonic channels (`ServiceBuilder::new().layer(ClientLayer::new())
/// .service(channel)`), hyper-util's client, any `Service<http::Request<B>>`.
///
/// Each request gets a client span under the span current when the service is called,
/// whose context goes into the request's own headers (the configured propagators):
/// - HTTP: [`ClientSpan`]'s name and attributes (`{METHOD}`, `http.request.method`,
///   `url.full` redacted, `server.address`, `server.port`), then
///   `http.response.status_code`; a 4xx or 5xx, or an error instead of a response, marks it
///   ERROR. It ends with the response head.
/// - gRPC (`content-type: application/grpc`): named `package.Service/Method`, with
///   `rpc.system`, `rpc.service`, `rpc.method` and `rpc.grpc.status_code` from the response
///   headers or the trailers (it ends when the response body does); any code but OK marks
///   it ERROR.
///
/// A request dropped before its response (a timeout above this layer, say) ends its span
/// with `cancelled = true`.
#[derive(Clone, Debug, Default)]
pub struct ClientLayer {
    _private: (),
}

impl ClientLayer {
    /// Spans in the global pipeline.
    pub fn new() -> Self {
        ClientLayer::default()
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientService { inner }
    }
}

/// The service [`ClientLayer`] wraps around another.
#[derive(Clone, Debug)]
pub struct ClientService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientService<S>
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

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let exchange = start(&request);
        if let Some(exchange) = &exchange {
            crate::propagation::inject_span(exchange.span().handle(), request.headers_mut());
        }
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

/// The client span of `request`, under the current span; `None` when tracing is off.
fn start<B>(request: &Request<B>) -> Option<Exchange> {
    let tracing = crate::get_tracing();
    if !tracing.is_enabled() {
        return None;
    }
    let rpc = grpc::is_grpc(request.headers())
        .then(|| grpc::rpc_method(request.uri().path()))
        .flatten();
    let span = match rpc {
        Some(method) => tracing
            .span_builder(method.full.to_owned())
            .kind(SpanKind::Client)
            .start_with(|| rpc_attributes(request, method)),
        None => ClientSpan::new(request.method(), request.uri()).start(),
    };
    Some(Exchange::new(span, Side::Client, rpc.is_some()))
}

/// The RPC attributes, and the server's address when the URI names it (a tonic channel's
/// requests carry only the path: its endpoint is added below this layer).
fn rpc_attributes<B>(request: &Request<B>, method: RpcMethod<'_>) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(5);
    attributes.extend(grpc::method_attributes(method));
    if let Some(authority) = request.uri().authority() {
        let (host, port) = semconv::host_port(authority.as_str());
        attributes.push(KeyValue::new("server.address", host.to_owned()));
        if let Some(port) = port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    attributes
}
