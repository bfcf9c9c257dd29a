//! gRPC over HTTP/2: which requests are calls, what they are named, and the `grpc-status`
//! (in the response headers, or in the trailers after the messages) that tells how they ended.

use std::borrow::Cow;

use http::HeaderMap;
use http::header::CONTENT_TYPE;

use super::semconv::Side;
use crate::model::{KeyValue, Status};
use crate::span::SpanRef;

/// True for a gRPC request or response (`content-type: application/grpc`, `+proto`, ...).
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// A call's method, from the request path `/package.Service/Method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RpcMethod<'a> {
    /// `package.Service/Method`: the span's name.
    pub full: &'a str,
    pub service: &'a str,
    pub method: &'a str,
}

/// The method of a gRPC path; `None` when the path is not `/{service}/{method}`.
pub(crate) fn rpc_method(path: &str) -> Option<RpcMethod<'_>> {
    let full = path.strip_prefix('/')?;
    let (service, method) = full.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/')).then_some(RpcMethod {
        full,
        service,
        method,
    })
}

/// `rpc.system`, `rpc.service`, `rpc.method`.
pub(crate) fn method_attributes(method: RpcMethod<'_>) -> [KeyValue; 3] {
    [
        KeyValue::new("rpc.system", Cow::Borrowed("grpc")),
        KeyValue::new("rpc.service", method.service.to_owned()),
        KeyValue::new("rpc.method", method.method.to_owned()),
    ]
}

/// Records the `grpc-status` of `headers` (response headers or trailers) on `span`:
/// `rpc.grpc.status_code`, and ERROR when the code is a failure for this side, described by
/// `grpc-message`. False when the headers hold no status.
pub(crate) fn record_status(span: &SpanRef, headers: &HeaderMap, side: Side) -> bool {
    let Some(code) = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u8>().ok())
    else {
        return false;
    };
    span.set_attribute("rpc.grpc.status_code", i64::from(code));
    if is_error(code, side) {
        let name = code_name(code);
        let description = match headers.get("grpc-message").map(|m| percent_decode(m.as_bytes())) {
            Some(message) if !message.is_empty() => format!("{name}: {message}"),
            _ => name.to_owned(),
        };
        span.set_status(Status::error(description));
    }
    true
}

/// Whether a status code fails the span. A client's call failed with any code but OK; a
/// server failed only with the codes that are its own fault (OpenTelemetry's gRPC
/// conventions): UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS.
pub(crate) fn is_error(code: u8, side: Side) -> bool {
    match side {
        Side::Client => code != 0,
        Side::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
    }
}

fn code_name(code: u8) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(usize::from(code)).copied().unwrap_or("UNKNOWN")
}

/// `grpc-message` is percent-encoded UTF-8; a malformed escape is kept as written.
fn percent_decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let escaped = (raw[i] == b'%')
            .then(|| raw.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(raw[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grpc_path_names_service_and_method() {
        assert_eq!(
            rpc_method("/shop.v1.Orders/Place"),
            Some(RpcMethod {
                full: "shop.v1.Orders/Place",
                service: "shop.v1.Orders",
                method: "Place",
            })
        );
        for bad in ["/", "/Orders", "//Place", "/Orders/", "/a/b/c", "Orders/Place"] {
            assert_eq!(rpc_method(bad), None, "{bad}");
        }
    }

    #[test]
    fn servers_fail_only_on_their_own_faults() {
        assert!(!is_error(5, Side::Server)); // NOT_FOUND: the caller's
        assert!(is_error(13, Side::Server));
        assert!(is_error(5, Side::Client));
        assert!(!is_error(0, Side::Client));
    }

    #[test]
    fn grpc_messages_are_percent_decoded() {
        assert_eq!(percent_decode(b"no%20such%20order%3A 7"), "no such order: 7");
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz"), "%zz");
    }

    #[test]
    fn content_types_of_grpc() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/grpc+proto".parse().unwrap());
        assert!(is_grpc(&headers));
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(!is_grpc(&headers));
    }
}
