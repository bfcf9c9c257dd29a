//! Keeping credentials out of spans, log lines and error messages.
//!
//! Used for every URL this crate records or prints (`http.url`, the `Tracing initialized`
//! line) and by `maximus-client` for its request spans.

use url::Url;

/// What replaces a secret.
pub const REDACTED: &str = "REDACTED";

/// Query parameter names (compared case-insensitively, as substrings) whose values are secrets.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "pwd",
    "auth",
    "signature",
    "sig",
    "credential",
    "session",
];

/// Header names whose values are secrets.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "cookie",
    "set-cookie",
    "x-auth-token",
];

/// True when a query parameter of this name carries a secret.
pub fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|s| name.contains(s))
}

/// True when an HTTP header of this name carries a secret.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&name.as_str()) || name.contains("token") || name.contains("secret")
}

/// The URL with `user:password@` and secret query values replaced by `REDACTED`.
/// Text that does not parse as a URL is returned whole only if it cannot hold credentials
/// (no `@`); otherwise it is replaced.
pub fn url(raw: &str) -> String {
    // Credentials need `@` (userinfo), `?` (query) or `#` (a fragment such as OAuth's
    // `#access_token=`): without them there is nothing to hide, and this runs per request.
    if !raw.contains(['@', '?', '#']) {
        return raw.to_owned();
    }
    // Not a URL with a host (`user:pw@host` parses, with scheme `user`): whole or nothing.
    let Some(mut parsed) = Url::parse(raw).ok().filter(|u| u.has_host()) else {
        return if raw.contains('@') {
            REDACTED.to_owned()
        } else {
            raw.to_owned()
        };
    };
    if !parsed.username().is_empty() {
        let _ = parsed.set_username(REDACTED);
    }
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some(REDACTED));
    }
    if parsed.fragment().is_some_and(|f| !f.is_empty()) {
        // Never sent to a server, and where tokens travel in implicit OAuth flows.
        parsed.set_fragment(Some(REDACTED));
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_param(&k) {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.into()
}

/// True for an absolute `http://` or `https://` URL with a host.
pub fn is_http_url(raw: &str) -> bool {
    Url::parse(raw)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_redacted() {
        let out = url("https://alice:hunter2@api.example.com/x");
        assert!(!out.contains("alice") && !out.contains("hunter2"), "{out}");
        assert!(out.contains("api.example.com/x"));
    }

    #[test]
    fn secret_query_values_are_redacted_and_others_kept() {
        let out = url("http://h/p?api_key=abc&limit=5&access_token=xyz&Password=pw");
        assert!(
            !out.contains("abc") && !out.contains("xyz") && !out.contains("=pw"),
            "{out}"
        );
        assert!(out.contains("limit=5"), "{out}");
    }

    #[test]
    fn unparseable_text_with_at_sign_is_replaced() {
        assert_eq!(url("user:pw@host"), REDACTED);
        assert_eq!(url("not a url"), "not a url");
    }

    #[test]
    fn fragments_are_redacted_and_plain_urls_kept_as_they_are() {
        let out = url("https://h/cb#access_token=abc&state=1");
        assert!(!out.contains("abc"), "{out}");
        assert_eq!(
            url("http://h:8100/api/consciousness/state"),
            "http://h:8100/api/consciousness/state"
        );
    }

    #[test]
    fn secret_headers_are_recognised() {
        for h in [
            "Authorization",
            "X-API-Key",
            "Cookie",
            "x-goog-secret",
            "X-Auth-Token",
        ] {
            assert!(is_secret_header(h), "{h}");
        }
        assert!(!is_secret_header("content-type"));
    }

    #[test]
    fn http_urls_are_recognised() {
        assert!(is_http_url("http://localhost:4318/v1/traces"));
        assert!(!is_http_url("localhost:4318"));
        assert!(!is_http_url("ftp://x"));
    }
}
