//! Asks Jaeger's query API whether the test trace arrived: `/api/v3/traces` (OTLP-JSON
//! results), falling back to the older `/api/traces` (Jaeger's own JSON).
//!
//! Parameter names are those of Jaeger v2's HTTP gateway (`cmd/query/app/apiv3/http_gateway.go`),
//! as a real Jaeger v2.12 answers them: `query.service_name`, `query.start_time_min` and
//! `query.start_time_max` (required, RFC 3339) and `query.num_traces` (without it the memory
//! store answers 500). A search with no result is a 404 whose body says `No traces found`; a
//! 404 without it means there is no v3 API (Jaeger 1.x before v3).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use url::Url;

use super::Report;
use super::send::Sent;
use crate::http;

const STEP: &str = "Jaeger query";
/// Each request's bound; Jaeger answers searches in milliseconds.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Traces returned per search: enough to hold the test trace among recent doctor runs.
const SEARCH_DEPTH: &str = "100";

pub fn confirm(ui: &str, service: &str, sent: &Sent, timeout: Duration, report: &mut Report) {
    let deadline = Instant::now() + timeout;
    let mut last;
    loop {
        match poll(ui, service, sent) {
            Ok(Poll::Found(api)) => {
                let base = ui.trim_end_matches('/');
                report.ok(
                    STEP,
                    format!(
                        "trace {} found through {api}: {base}/trace/{}",
                        sent.trace_id, sent.trace_id
                    ),
                );
                report.confirmed();
                return;
            }
            Ok(Poll::NotYet(detail)) => last = detail,
            Err(e) => {
                report.fail(
                    STEP,
                    e,
                    format!(
                        "--jaeger-ui must be Jaeger's UI/query address (port 16686 by default), reachable \
                         from here: is {ui} right, and is Jaeger running?"
                    ),
                );
                return;
            }
        }
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        std::thread::sleep(left.min(POLL_INTERVAL));
    }
    report.fail(
        STEP,
        format!(
            "trace {} did not appear under service {service:?} within {:.0?} ({last})",
            sent.trace_id, timeout
        ),
        format!(
            "the endpoint accepted the trace but this Jaeger does not show it:\n\
             - is {ui} the Jaeger that the endpoint above feeds (not another instance or a collector \
             that exports elsewhere)?\n\
             - with a collector in between, check that its traces pipeline exports to Jaeger and \
             look at its logs;\n\
             - storage may be slow: retry with a longer --timeout, or search for {:?} in the UI.",
            sent.span_name
        ),
    );
}

enum Poll {
    Found(&'static str),
    NotYet(String),
}

/// What one search answer says.
enum Answer {
    Found,
    Empty,
    Unsupported(u16),
}

fn poll(ui: &str, service: &str, sent: &Sent) -> Result<Poll, String> {
    match classify(&v3_url(ui, service, sent)?, &sent.trace_id, true)? {
        Answer::Found => return Ok(Poll::Found("/api/v3/traces")),
        Answer::Empty => {
            return Ok(Poll::NotYet(
                "Jaeger's /api/v3/traces has no such trace yet".to_owned(),
            ));
        }
        Answer::Unsupported(_) => {}
    }
    match classify(&legacy_url(ui, service, sent)?, &sent.trace_id, false)? {
        Answer::Found => Ok(Poll::Found("/api/traces")),
        Answer::Empty => Ok(Poll::NotYet(
            "Jaeger's /api/traces has no such trace yet".to_owned(),
        )),
        Answer::Unsupported(404) => Err(format!(
            "{ui} has neither /api/v3/traces nor /api/traces: it is not Jaeger's query service"
        )),
        Answer::Unsupported(status) => Ok(Poll::NotYet(format!("/api/traces answered HTTP {status}"))),
    }
}

fn classify(url: &Url, trace_id: &str, v3: bool) -> Result<Answer, String> {
    let response = http::get(url, REQUEST_TIMEOUT).map_err(|e| e.to_string())?;
    Ok(match response.status {
        200..=299 if contains_trace(&response.body, trace_id) => Answer::Found,
        200..=299 => Answer::Empty,
        404 if v3 && response.body.contains("No traces found") => Answer::Empty,
        status => Answer::Unsupported(status),
    })
}

/// The search window: a minute before the trace (clock skew) to a minute after now.
fn window(sent: &Sent) -> (SystemTime, SystemTime) {
    let minute = Duration::from_secs(60);
    (
        sent.at.checked_sub(minute).unwrap_or(sent.at),
        SystemTime::now() + minute,
    )
}

fn endpoint(ui: &str, path: &str) -> Result<Url, String> {
    Url::parse(&format!("{}{path}", ui.trim_end_matches('/'))).map_err(|e| format!("{ui}: {e}"))
}

fn v3_url(ui: &str, service: &str, sent: &Sent) -> Result<Url, String> {
    let (min, max) = window(sent);
    let mut url = endpoint(ui, "/api/v3/traces")?;
    url.query_pairs_mut()
        .append_pair("query.service_name", service)
        .append_pair("query.start_time_min", &rfc3339(min))
        .append_pair("query.start_time_max", &rfc3339(max))
        .append_pair("query.num_traces", SEARCH_DEPTH);
    Ok(url)
}

fn legacy_url(ui: &str, service: &str, sent: &Sent) -> Result<Url, String> {
    let (min, max) = window(sent);
    let micros = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros()
            .to_string()
    };
    let mut url = endpoint(ui, "/api/traces")?;
    url.query_pairs_mut()
        .append_pair("service", service)
        .append_pair("start", &micros(min))
        .append_pair("end", &micros(max))
        .append_pair("limit", SEARCH_DEPTH);
    Ok(url)
}

/// Whether any `traceId` / `traceID` in the JSON answer is `trace_id` (32 hex digits): OTLP-JSON
/// writes it as hex (or, from some gateways, base64 of the 16 bytes); Jaeger's own JSON as hex
/// without leading zeros.
pub fn contains_trace(body: &str, trace_id: &str) -> bool {
    let Ok(wanted) = u128::from_str_radix(trace_id, 16) else {
        return false;
    };
    let base64 = base64_of(&wanted.to_be_bytes());
    let matches = |s: &str| u128::from_str_radix(s, 16).ok() == Some(wanted) || s == base64;
    match serde_json::from_str::<Value>(body) {
        Ok(json) => any_trace_id(&json, &matches),
        Err(_) => body.to_ascii_lowercase().contains(trace_id),
    }
}

fn any_trace_id(value: &Value, matches: &dyn Fn(&str) -> bool) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, v)| {
            let is_id = matches!(key.as_str(), "traceId" | "traceID" | "trace_id");
            (is_id && v.as_str().is_some_and(matches)) || any_trace_id(v, matches)
        }),
        Value::Array(items) => items.iter().any(|v| any_trace_id(v, matches)),
        _ => false,
    }
}

fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `2024-05-01T12:30:45.123456789Z`.
fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t.max(UNIX_EPOCH)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0af7651916cd43dd8448eb211c80319c";

    #[test]
    fn finds_hex_ids_in_otlp_json_and_legacy_json() {
        let otlp = format!(
            r#"{{"result":{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{ID}"}}]}}]}}]}}}}"#
        );
        assert!(contains_trace(&otlp, ID));
        let legacy = format!(r#"{{"data":[{{"traceID":"{}"}}]}}"#, ID.to_uppercase());
        assert!(contains_trace(&legacy, ID));
        assert!(!contains_trace(r#"{"data":[{"traceID":"1234"}]}"#, ID));
        assert!(!contains_trace(r#"{"data":[]}"#, ID));
    }

    #[test]
    fn finds_base64_ids_and_ids_without_leading_zeros() {
        let bytes = u128::from_str_radix(ID, 16).unwrap().to_be_bytes();
        assert_eq!(base64_of(&bytes), "CvdlGRbNQ92ESOshHIAxnA==");
        assert!(contains_trace(r#"{"traceId":"CvdlGRbNQ92ESOshHIAxnA=="}"#, ID));
        assert!(contains_trace(
            r#"{"traceID":"1"}"#,
            "00000000000000000000000000000001"
        ));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = UNIX_EPOCH + Duration::new(1_714_566_645, 5);
        assert_eq!(rfc3339(t), "2024-05-01T12:30:45.000000005Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
    }
}
