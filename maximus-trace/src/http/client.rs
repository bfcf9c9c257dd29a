//! The span of one outgoing HTTP request: what `ClientLayer`, `TracingMiddleware` and
//! `maximus-client` start, so that every client names and describes its requests alike.

use std::borrow::Cow;
use std::fmt;

use http::Method;

use super::semconv::{self, SemConv};
use crate::model::{IntoValue, Key, KeyValue, SpanKind};
use crate::span::Span;

/// Starts the client span of an outgoing HTTP request: named `{METHOD}`, with
/// `http.request.method`, `url.full` (credentials, secret query values and fragments
/// redacted), `server.address` and `server.port`, under the current span.
///
/// ```
/// use maximus_trace::FutureExt as _;
/// use maximus_trace::http::ClientSpan;
/// # async fn send(_: http::HeaderMap) -> u16 { 200 }
/// # async fn run() {
/// let url = "https://api.example.com/orders/7?api_key=secret";
/// let span = ClientSpan::new(&http::Method::GET, &url).start();
/// let status = async {
///     let mut headers = http::HeaderMap::new();
///     maximus_trace::inject(&mut headers); // the client span is current: its context goes
///     let status = send(headers).await;
///     maximus_trace::set_attribute("http.response.status_code", status);
///     status
/// }
/// .in_span(span)
/// .await;
/// # }
/// ```
///
/// The attributes are built only when the span is recorded (sampled).
#[must_use = "call .start() to start the span"]
pub struct ClientSpan<'a> {
    method: &'a Method,
    url: &'a dyn fmt::Display,
    name: Option<Cow<'static, str>>,
    semconv: SemConv,
    attributes: Vec<KeyValue>,
}

impl<'a> ClientSpan<'a> {
    /// The span of a `method` request to `url` (an absolute URL: `&str`, `url::Url`,
    /// `http::Uri`, anything that displays as one; formatted only if the span is recorded).
    pub fn new(method: &'a Method, url: &'a dyn fmt::Display) -> Self {
        ClientSpan {
            method,
            url,
            name: None,
            semconv: SemConv::STABLE,
            attributes: Vec::new(),
        }
    }

    /// A name other than the method (a logical operation covering retries, say).
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Which attribute names to write (the stable ones by default).
    pub fn semconv(mut self, semconv: SemConv) -> Self {
        self.semconv = semconv;
        self
    }

    /// One more attribute, known at the start.
    pub fn attribute(mut self, key: impl Into<Key>, value: impl IntoValue) -> Self {
        if crate::is_enabled() {
            self.attributes.push(KeyValue::new(key, value));
        }
        self
    }

    /// Starts the span (not current: give it to the request's future).
    pub fn start(self) -> Span {
        let tracing = crate::get_tracing();
        if !tracing.is_enabled() {
            return Span::none();
        }
        let name = self
            .name
            .unwrap_or(Cow::Borrowed(semconv::method_in_name(self.method)));
        let (method, url, semconv) = (self.method, self.url, self.semconv);
        tracing
            .span_builder(name)
            .kind(SpanKind::Client)
            .attributes(self.attributes)
            .start_with(|| request_attributes(method, url, semconv))
    }
}

impl fmt::Debug for ClientSpan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSpan")
            .field("method", self.method)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Method, URL (redacted) and, with the stable names, the server's address and port.
fn request_attributes(method: &Method, url: &dyn fmt::Display, semconv: SemConv) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(5);
    attributes.extend(semconv::method_attributes(method, semconv).map(|(k, v)| KeyValue::new(k, v)));
    let raw = url.to_string();
    if semconv.is_stable() {
        if let Some((host, port)) = semconv::url_host_port(&raw) {
            attributes.push(KeyValue::new("server.address", host));
            if let Some(port) = port {
                attributes.push(KeyValue::new("server.port", i64::from(port)));
            }
        }
    }
    let shown = crate::redact::url(&raw);
    attributes.extend(semconv.url().map(|key| KeyValue::new(key, shown.clone())));
    attributes
}
