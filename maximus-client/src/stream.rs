//! Server-sent events (`text/event-stream`) as a `Stream` of typed events.
//!
//! The parser is hand-written: the part of the SSE format the API uses (`data:` lines ending
//! in a blank line; comments and other fields ignored) is a few lines, and owning it lets the
//! stream record each message on its span.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_util::StreamExt;
use http::{HeaderMap, Method};
use maximus_trace::{FutureExt, KeyValue, Span};

use crate::client::Inner;
use crate::error::{Error, Kind, Result};
use crate::models::GovernanceEvent;

/// How long a stream may stay open; the client's timeout bounds only the connection.
const STREAM_LIFETIME: Duration = Duration::from_secs(24 * 3600);

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>;

/// The governance event stream. Ends when the server closes it; dropping it closes the
/// connection and ends its span.
pub struct EventStream {
    body: Body,
    buffer: Vec<u8>,
    ready: VecDeque<Result<GovernanceEvent>>,
    span: Span,
    url: String,
    finished: bool,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Connects (inside a new `api_request` span) and returns the stream that owns that span.
pub(crate) async fn open(inner: &Inner, path: &str, query: &[(&str, String)]) -> Result<EventStream> {
    let url = crate::request::endpoint(&inner.base, path, query)?;
    let shown = maximus_trace::redact::url(url.as_str());
    let span = crate::request::start_span(inner, &Method::GET, &shown);
    let fail = |kind| Error::new(kind, Method::GET.as_str(), &shown);
    let connect = async {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("text/event-stream"),
        );
        crate::request::add_headers(inner, &mut headers);
        let request = inner
            .http
            .get(url.clone())
            .headers(headers)
            .timeout(STREAM_LIFETIME);
        tokio::time::timeout(inner.timeout, request.send()).await
    };
    let response = match connect.with_span(span.as_ref()).await {
        Err(_) => Err(fail(Kind::Timeout)),
        Ok(Err(e)) if e.is_connect() => Err(fail(Kind::Connect { attempts: 1 }).with_source(e.without_url())),
        Ok(Err(e)) if e.is_timeout() => Err(fail(Kind::Timeout).with_source(e.without_url())),
        Ok(Err(e)) => Err(fail(Kind::Request).with_source(e.without_url())),
        Ok(Ok(response)) => Ok(response),
    };
    let response = response.inspect_err(|e| span.record_error(e))?;
    let status = response.status();
    for key in inner.names.status() {
        span.set_attribute(key, i64::from(status.as_u16()));
    }
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        let error = fail(Kind::Api { status, body });
        span.record_error(&error);
        return Err(error);
    }
    let body = response.bytes_stream().map(|chunk| chunk.map(|b| b.to_vec()));
    Ok(EventStream {
        body: Box::pin(body),
        buffer: Vec::new(),
        ready: VecDeque::new(),
        span,
        url: shown,
        finished: false,
    })
}

impl EventStream {
    /// Splits complete events (terminated by a blank line) off the buffer.
    fn parse_buffered(&mut self) {
        while let Some(end) = find_blank_line(&self.buffer) {
            let block: Vec<u8> = self.buffer.drain(..end).collect();
            let text = String::from_utf8_lossy(&block);
            let data: Vec<&str> = text
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if data.is_empty() {
                continue;
            }
            let event = serde_json::from_str::<GovernanceEvent>(&data.join("\n")).map_err(|e| {
                let kind = Kind::Decode {
                    field: None,
                    why: format!("stream event: {e}"),
                };
                Error::new(kind, "GET", &self.url)
            });
            match &event {
                Ok(ev) => self
                    .span
                    .add_event("message", [KeyValue::new("event.type", ev.event_type.clone())]),
                Err(e) => self.span.record_error(e),
            }
            self.ready.push_back(event);
        }
    }
}

/// The end (exclusive) of the first event block: after `\n\n` or `\r\n\r\n`.
fn find_blank_line(buffer: &[u8]) -> Option<usize> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = buffer.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Stream for EventStream {
    type Item = Result<GovernanceEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Poll::Ready(Some(event));
            }
            if self.finished {
                return Poll::Ready(None);
            }
            match self.body.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.finished = true;
                    self.buffer.extend_from_slice(b"\n\n");
                    self.parse_buffered();
                }
                Poll::Ready(Some(Ok(chunk))) => {
                    self.buffer.extend_from_slice(&chunk);
                    self.parse_buffered();
                }
                Poll::Ready(Some(Err(e))) => {
                    self.finished = true;
                    let kind = if e.is_timeout() {
                        Kind::Timeout
                    } else {
                        Kind::Request
                    };
                    let error = Error::new(kind, "GET", &self.url).with_source(e.without_url());
                    self.span.record_error(&error);
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
    }
}
