//! OpenTelemetry's HTTP semantic conventions: which attribute names a span carries, and the
//! values every HTTP span computes the same way (method, protocol, host and port, which
//! status codes are failures).

use std::borrow::Cow;

use http::Method;
#[cfg(any(feature = "tower", feature = "reqwest"))]
use http::StatusCode;

/// Which HTTP attribute names spans carry, as `OTEL_SEMCONV_STABILITY_OPT_IN` chooses during
/// the migration to the stable conventions: the stable ones (`http.request.method`,
/// `url.full`, `http.response.status_code`, `server.address`, `server.port`), the old ones
/// (`http.method`, `http.url`, `http.status_code`), or both.
///
/// Our middlewares always write the stable names; `maximus-client` (whose users search for
/// the old ones) asks the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemConv {
    legacy: bool,
    stable: bool,
}

impl SemConv {
    /// The stable names only.
    pub const STABLE: SemConv = SemConv {
        legacy: false,
        stable: true,
    };
    /// The old names only.
    pub const LEGACY: SemConv = SemConv {
        legacy: true,
        stable: false,
    };
    /// Both (`http/dup`).
    pub const DUPLICATE: SemConv = SemConv {
        legacy: true,
        stable: true,
    };

    /// From a value of `OTEL_SEMCONV_STABILITY_OPT_IN`: `http/dup` gives both, `http` the
    /// stable names, anything else (or nothing) the old ones, as the migration guide asks.
    pub fn from_opt_in(value: Option<&str>) -> Self {
        let entries: Vec<&str> = value.unwrap_or("").split(',').map(str::trim).collect();
        if entries.contains(&"http/dup") {
            SemConv::DUPLICATE
        } else if entries.contains(&"http") {
            SemConv::STABLE
        } else {
            SemConv::LEGACY
        }
    }

    /// The names of the request method.
    pub fn method(self) -> impl Iterator<Item = &'static str> {
        self.pick("http.method", "http.request.method")
    }

    /// The names of the full URL.
    pub fn url(self) -> impl Iterator<Item = &'static str> {
        self.pick("http.url", "url.full")
    }

    /// The names of the response status code.
    pub fn status(self) -> impl Iterator<Item = &'static str> {
        self.pick("http.status_code", "http.response.status_code")
    }

    /// True when the stable names are written (`server.address` and `server.port` have no
    /// old counterpart that we write).
    pub fn is_stable(self) -> bool {
        self.stable
    }

    fn pick(self, legacy: &'static str, stable: &'static str) -> impl Iterator<Item = &'static str> {
        [self.legacy.then_some(legacy), self.stable.then_some(stable)]
            .into_iter()
            .flatten()
    }
}

/// The value of `http.request.method`: one of the methods HTTP defines, or `_OTHER` (a
/// method of the caller's invention would make one series per spelling).
pub(crate) fn method(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => return None,
    })
}

/// The method as a span name starts with it: `HTTP` for a method that is not a known one.
pub(crate) fn method_in_name(method: &Method) -> &'static str {
    self::method(method).unwrap_or("HTTP")
}

/// The method attributes: `http.request.method` under each name `semconv` writes, plus
/// `http.request.method_original` for an unknown method.
pub(crate) fn method_attributes(
    method: &Method,
    semconv: SemConv,
) -> impl Iterator<Item = (&'static str, Cow<'static, str>)> + '_ {
    let known = self::method(method);
    let value = known.map_or(Cow::Borrowed("_OTHER"), Cow::Borrowed);
    let original = known.is_none().then(|| {
        (
            "http.request.method_original",
            Cow::Owned(method.as_str().to_owned()),
        )
    });
    semconv
        .method()
        .map(move |key| (key, value.clone()))
        .chain(original)
}

/// `network.protocol.version`: `1.1`, `2`, ...
#[cfg(feature = "tower")]
pub(crate) fn protocol_version(version: http::Version) -> Option<&'static str> {
    Some(match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_11 => "1.1",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// The host and port of an authority (`user@host:port`, `[::1]:8080`); the port is `None`
/// when absent or not a number.
pub(crate) fn host_port(authority: &str) -> (&str, Option<u16>) {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, rest)| rest);
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: the brackets are not part of the address.
        Some(rest) => match rest.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => (authority, None),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    (host, port.and_then(|p| p.parse().ok()))
}

/// The authority, scheme and default port of an absolute URL's text
/// (`https://user@host:8443/path?q` gives `host`, `8443`).
pub(crate) fn url_host_port(url: &str) -> Option<(&str, Option<u16>)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, port) = host_port(&rest[..end]);
    if host.is_empty() {
        return None;
    }
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    Some((host, port.or(default)))
}

/// Whether a response status marks the span failed. For a server, only 5xx: a 4xx is the
/// caller's mistake, not the server's failure. For a client, 4xx too: its request failed.
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) fn is_error(status: StatusCode, side: Side) -> bool {
    match side {
        Side::Server => status.is_server_error(),
        Side::Client => status.is_client_error() || status.is_server_error(),
    }
}

/// `http.response.status_code`; a status that is a failure for `side` marks the span
/// ERROR, with the code as `error.type`.
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) fn record_status(span: &crate::SpanRef, status: StatusCode, side: Side) {
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if is_error(status, side) {
        span.set_attribute("error.type", status.as_str().to_owned());
        span.set_status(crate::Status::error(status.to_string()));
    }
}

/// Which end of an exchange a span stands for.
#[cfg(any(feature = "tower", feature = "reqwest"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    Server,
    Client,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_in_values_select_names() {
        let names = |opt_in, pick: fn(SemConv) -> Vec<&'static str>| pick(SemConv::from_opt_in(opt_in));
        assert_eq!(names(None, |n| n.method().collect()), ["http.method"]);
        assert_eq!(names(Some("http"), |n| n.url().collect()), ["url.full"]);
        assert_eq!(
            names(Some("database, http/dup"), |n| n.status().collect()),
            ["http.status_code", "http.response.status_code"]
        );
    }

    #[test]
    fn unknown_methods_are_other_with_the_original_kept() {
        let custom = Method::from_bytes(b"PURGE").unwrap();
        let attributes: Vec<_> = method_attributes(&custom, SemConv::STABLE).collect();
        assert_eq!(
            attributes,
            [
                ("http.request.method", Cow::Borrowed("_OTHER")),
                ("http.request.method_original", Cow::Borrowed("PURGE")),
            ]
        );
        assert_eq!(method_in_name(&custom), "HTTP");
        assert_eq!(method_in_name(&Method::PATCH), "PATCH");
    }

    #[test]
    fn host_and_port_come_from_the_authority() {
        assert_eq!(host_port("example.com:8080"), ("example.com", Some(8080)));
        assert_eq!(host_port("example.com"), ("example.com", None));
        assert_eq!(host_port("[::1]:9000"), ("::1", Some(9000)));
        assert_eq!(host_port("[::1]"), ("::1", None));
        assert_eq!(host_port("ada:pw@h:1"), ("h", Some(1)));
    }

    #[test]
    fn a_urls_port_defaults_by_scheme() {
        assert_eq!(
            url_host_port("https://ada:pw@api.example.com/x?token=1"),
            Some(("api.example.com", Some(443)))
        );
        assert_eq!(
            url_host_port("http://127.0.0.1:3000"),
            Some(("127.0.0.1", Some(3000)))
        );
        assert_eq!(url_host_port("/relative"), None);
    }

    #[cfg(any(feature = "tower", feature = "reqwest"))]
    #[test]
    fn a_4xx_fails_a_client_but_not_a_server() {
        let not_found = StatusCode::NOT_FOUND;
        assert!(!is_error(not_found, Side::Server));
        assert!(is_error(not_found, Side::Client));
        assert!(is_error(StatusCode::BAD_GATEWAY, Side::Server));
        assert!(!is_error(StatusCode::OK, Side::Client));
    }
}
