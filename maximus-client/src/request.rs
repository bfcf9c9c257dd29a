//! One logical request: the `api_request` client span, retries, and decoding.

use std::time::{Duration, Instant};

use http::{HeaderMap, Method, StatusCode};
use maximus_trace::http::ClientSpan;
use maximus_trace::{FutureExt, KeyValue, SpanRef};
use url::Url;

use crate::client::Inner;
use crate::error::{Error, Kind, Result};
use crate::models::Validate;

/// The longest `Retry-After` we honour; longer asks are cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Sends the request, retrying what is safe to retry, inside an `api_request` client span
/// that covers every attempt and always ends.
pub(crate) async fn call<T>(
    inner: &Inner,
    method: Method,
    path: &str,
    query: &[(&str, String)],
    body: Option<Vec<u8>>,
) -> Result<T>
where
    T: serde::de::DeserializeOwned + Validate,
{
    let url = endpoint(&inner.base, path, query)?;
    let shown_url = maximus_trace::redact::url(url.as_str());
    let span = start_span(inner, &method, &shown_url);
    async {
        let started = Instant::now();
        let outcome = send_with_retries(inner, &method, &url, &shown_url, body).await;
        let current = SpanRef::current();
        // Microsecond resolution: more digits would be noise.
        let millis = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        current.set_attribute("http.response_time_ms", millis);
        let result = outcome.and_then(|bytes| decode::<T>(&bytes, &method, &shown_url));
        if let Err(error) = &result {
            current.record_error(error);
        }
        result
    }
    .in_span(span)
    .await
}

/// The `api_request` span: maximus-trace's client span (method, redacted URL, and with the
/// stable names the server's address), named for the logical request it covers, retries
/// included, in the names `OTEL_SEMCONV_STABILITY_OPT_IN` asks for.
pub(crate) fn start_span(inner: &Inner, method: &Method, shown_url: &str) -> maximus_trace::Span {
    ClientSpan::new(method, &shown_url)
        .name("api_request")
        .semconv(inner.names)
        .attribute(
            "service.name",
            maximus_trace::Value::String(std::borrow::Cow::Borrowed("MaximusClient")),
        )
        .start()
}

pub(crate) fn endpoint(base: &Url, path: &str, query: &[(&str, String)]) -> Result<Url> {
    let mut url = base
        .join(path.trim_start_matches('/'))
        .map_err(|e| Error::builder(format!("cannot join {path:?} to the base URL: {e}")))?;
    // `join` drops the base URL's query: a gateway's `?tenant=..&key=..` goes on every call.
    url.set_query(base.query());
    if !query.is_empty() {
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
    }
    Ok(url)
}

/// Why an attempt failed, and whether another may follow.
enum Attempt {
    Done(Vec<u8>),
    Retry { reason: String, wait: Option<Duration> },
    Fail(Error),
}

async fn send_with_retries(
    inner: &Inner,
    method: &Method,
    url: &Url,
    shown_url: &str,
    body: Option<Vec<u8>>,
) -> Result<Vec<u8>> {
    let span = SpanRef::current();
    let mut attempt = 1;
    loop {
        span.set_attribute("retry.attempt", attempt as i64);
        let last = attempt > inner.max_retries;
        match attempt_once(inner, method, url, shown_url, body.clone(), attempt, last).await {
            Attempt::Done(bytes) => return Ok(bytes),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry { reason, wait } => {
                let backoff = wait.unwrap_or(inner.retry_backoff * attempt);
                span.add_event(
                    "retry",
                    [
                        KeyValue::new("retry.attempt", attempt as i64),
                        KeyValue::new("retry.reason", reason.clone()),
                        KeyValue::new("retry.backoff_ms", backoff.as_secs_f64() * 1000.0),
                    ],
                );
                log::debug!(
                    "maximus-client: {method} {shown_url} attempt {attempt} failed ({reason}); retrying in {backoff:?}"
                );
                tokio::time::sleep(backoff).await;
                attempt += 1;
            }
        }
    }
}

async fn attempt_once(
    inner: &Inner,
    method: &Method,
    url: &Url,
    shown_url: &str,
    body: Option<Vec<u8>>,
    attempt: u32,
    last: bool,
) -> Attempt {
    let mut request = inner.http.request(method.clone(), url.clone());
    if let Some(body) = body {
        request = request
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    let fail = |kind| Error::new(kind, method.as_str(), shown_url);
    let sent = match request.build() {
        Ok(mut request) => {
            // Straight into the request's own map: a map of our own would be allocated,
            // hashed into and then merged over, per attempt.
            add_headers(inner, request.headers_mut());
            inner.http.execute(request).await
        }
        Err(e) => Err(e),
    };
    let response = match sent {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return Attempt::Fail(fail(Kind::Timeout).with_source(strip_url(e))),
        // Nothing reached the server: safe to retry whatever the method.
        Err(e) if e.is_connect() && !last => {
            return Attempt::Retry {
                reason: format!("connection failed: {}", root_cause(&e)),
                wait: None,
            };
        }
        Err(e) if e.is_connect() => {
            return Attempt::Fail(fail(Kind::Connect { attempts: attempt }).with_source(strip_url(e)));
        }
        // The connection broke after the request was sent: only idempotent GETs are retried.
        Err(e) if *method == Method::GET && !last => {
            return Attempt::Retry {
                reason: format!("connection lost: {}", root_cause(&e)),
                wait: None,
            };
        }
        Err(e) => return Attempt::Fail(fail(Kind::Request).with_source(strip_url(e))),
    };
    let status = response.status();
    let span = SpanRef::current();
    for key in inner.names.status() {
        span.set_attribute(key, i64::from(status.as_u16()));
    }
    if *method == Method::GET && is_retryable(status) && !last {
        return Attempt::Retry {
            reason: format!("HTTP {status}"),
            wait: retry_after(response.headers()),
        };
    }
    let bytes = match read_body(response, inner.max_response_bytes).await {
        Ok(bytes) => bytes,
        Err(kind) => return Attempt::Fail(fail(kind)),
    };
    if !status.is_success() {
        let body = String::from_utf8_lossy(&bytes).into_owned();
        return Attempt::Fail(fail(Kind::Api { status, body }));
    }
    Attempt::Done(bytes)
}

/// What every request carries: the credentials, if any, and the current trace context.
pub(crate) fn add_headers(inner: &Inner, headers: &mut HeaderMap) {
    if let Some((name, value)) = &inner.auth {
        headers.insert(name.clone(), value.clone());
    }
    maximus_trace::inject(headers);
}

fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds or as an HTTP date, capped at [`MAX_RETRY_AFTER`].
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match raw.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => httpdate_wait(raw)?,
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

fn httpdate_wait(raw: &str) -> Option<Duration> {
    let when = httpdate::parse_http_date(raw).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Reads at most `limit` bytes: a huge or endless body is refused, not buffered.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Kind> {
    if response.content_length().is_some_and(|len| len > limit as u64) {
        return Err(Kind::TooLarge { limit });
    }
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > limit {
                    return Err(Kind::TooLarge { limit });
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(bytes),
            Err(e) if e.is_timeout() => return Err(Kind::Timeout),
            Err(_) => return Err(Kind::Request),
        }
    }
}

/// Decodes a response body as `T` and checks its documented ranges; errors name the
/// culprit's path.
pub(crate) fn decode<T>(bytes: &[u8], method: &Method, shown_url: &str) -> Result<T>
where
    T: serde::de::DeserializeOwned + Validate,
{
    let fail = |kind| Error::new(kind, method.as_str(), shown_url);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let why = e.into_inner().to_string();
        fail(Kind::Decode {
            field: culprit(&path, &why),
            why,
        })
    })?;
    value.validate().map_err(|v| fail(Kind::Range(v)))?;
    Ok(value)
}

/// The path of what a decode error is about: where it happened, or, for a missing field
/// (reported at its parent), the parent's path and the field (`missing field `x``, serde's
/// wording).
fn culprit(path: &str, why: &str) -> Option<String> {
    let parent = (path != ".").then_some(path);
    let missing = why
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (parent, missing) {
        (Some(parent), Some(field)) => Some(format!("{parent}.{field}")),
        (None, Some(field)) => Some(field.to_owned()),
        (parent, None) => parent.map(str::to_owned),
    }
}

/// reqwest errors print the full URL, which may hold secrets; keep only the cause.
fn strip_url(e: reqwest::Error) -> reqwest::Error {
    e.without_url()
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
