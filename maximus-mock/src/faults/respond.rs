//! The middleware that turns an injected fault into what the client sees.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};
use http::{HeaderValue, StatusCode, header};
use maximus_trace::http::NotSent;

use super::{Fault, out_of_range};
use crate::connection::Connection;
use crate::state::AppState;

/// Size of the chunks a [`Fault::HugeBody`] is streamed in.
const HUGE_CHUNK: usize = 64 * 1024;
/// What a [`Fault::MalformedBody`] answers: JSON cut off mid-value.
const MALFORMED: &str = r#"{"status": "healthy", "final_response": "The analysis of the req"#;

/// Applies the fault injected for this method and path, if there is one.
pub(crate) async fn apply(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(fault) = state.faults.take(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    log::debug!(
        "maximus-mock: {} {} gets {fault:?}",
        request.method(),
        request.uri().path()
    );
    match fault {
        Fault::Status {
            code,
            body,
            retry_after,
        } => status(code, body, retry_after),
        Fault::Latency(delay) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Fault::DropConnection => drop_connection(&request),
        Fault::MalformedBody => json_response(Body::from(MALFORMED)),
        Fault::OutOfRange => out_of_range::rewrite(next.run(request).await).await,
        Fault::SlowDrip { chunk_interval } => slow_drip(next.run(request).await, chunk_interval),
        Fault::HugeBody { bytes } => json_response(huge_body(bytes)),
    }
}

fn status(code: StatusCode, body: String, retry_after: Option<u32>) -> Response {
    let is_json = !body.is_empty();
    let mut response = (code, body).into_response();
    let headers = response.headers_mut();
    if is_json {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    } else {
        headers.remove(header::CONTENT_TYPE);
    }
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Marks the connection dead: hyper's attempt to write the response fails,
/// and the socket closes with a reset before a single byte goes out.
fn drop_connection(request: &Request) -> Response {
    match request.extensions().get::<ConnectInfo<Connection>>() {
        Some(ConnectInfo(connection)) => connection.kill(),
        None => log::warn!("maximus-mock: no connection handle; cannot drop the connection"),
    }
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    // Never sent: the server span records the drop, not a status code.
    response.extensions_mut().insert(NotSent::new(
        "connection_dropped",
        "connection dropped by fault injection",
    ));
    response
}

fn json_response(body: Body) -> Response {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Re-sends the inner response's body one byte at a time.
fn slow_drip(response: Response, interval: Duration) -> Response {
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let source = body.into_data_stream();
    let bytes = stream::unfold(
        (source, Bytes::new(), true),
        move |(mut source, mut pending, first)| async move {
            while pending.is_empty() {
                match source.next().await? {
                    Ok(chunk) => pending = chunk,
                    Err(error) => return Some((Err(error), (source, pending, first))),
                }
            }
            if !first {
                tokio::time::sleep(interval).await;
            }
            let byte = pending.split_to(1);
            Some((Ok(byte), (source, pending, false)))
        },
    );
    Response::from_parts(parts, Body::from_stream(bytes))
}

/// `{"data":"aaa…"}`, exactly `size` bytes long once `size` leaves room for
/// the braces (shorter sizes are all `a`).
fn huge_body(size: usize) -> Body {
    const PREFIX: &[u8] = br#"{"data":""#;
    const SUFFIX: &[u8] = br#""}"#;
    let framed = size >= PREFIX.len() + SUFFIX.len();
    let byte_at = move |at: usize| match at {
        _ if !framed => b'a',
        at if at < PREFIX.len() => PREFIX[at],
        at if at >= size - SUFFIX.len() => SUFFIX[at + SUFFIX.len() - size],
        _ => b'a',
    };
    let chunks = stream::unfold(0usize, move |sent| async move {
        if sent >= size {
            return None;
        }
        let end = size.min(sent + HUGE_CHUNK);
        let chunk: Vec<u8> = (sent..end).map(byte_at).collect();
        Some((Ok::<_, std::convert::Infallible>(chunk), end))
    });
    Body::from_stream(chunks)
}
