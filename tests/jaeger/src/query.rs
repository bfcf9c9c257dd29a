//! Jaeger's HTTP query API (what its UI calls), and the JSON it answers with, as Jaeger
//! stores spans: tags with Jaeger's own types, events as logs, parents as references.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;

/// `{"data": ..., "errors": ...}`, the envelope of the `/api/...` answers.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Option<Vec<ApiError>>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    code: i64,
    msg: String,
}

/// One trace as `/api/traces` shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Trace {
    /// Hex, without leading zeros for ids whose high half is zero.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// Its spans, in no particular order.
    pub spans: Vec<Span>,
    /// The processes (services) of its spans, by `processID`.
    pub processes: HashMap<String, Process>,
}

/// A span as Jaeger stores it.
#[derive(Debug, Clone, Deserialize)]
pub struct Span {
    /// Hex.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// Hex.
    #[serde(rename = "spanID")]
    pub span_id: String,
    /// The span name.
    #[serde(rename = "operationName")]
    pub operation: String,
    /// `CHILD_OF` (the parent) and `FOLLOWS_FROM` (links).
    #[serde(default)]
    pub references: Vec<Reference>,
    /// Microseconds since the Unix epoch.
    #[serde(rename = "startTime")]
    pub start_us: u64,
    /// Microseconds.
    #[serde(rename = "duration")]
    pub duration_us: u64,
    /// Attributes, with Jaeger's types (`string`, `int64`, `float64`, `bool`).
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Events.
    #[serde(default)]
    pub logs: Vec<Log>,
    /// Key into [`Trace::processes`].
    #[serde(rename = "processID")]
    pub process_id: String,
    /// What Jaeger found wrong with the span.
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// A reference from a span to another.
#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    /// `CHILD_OF` or `FOLLOWS_FROM`.
    #[serde(rename = "refType")]
    pub kind: String,
    /// Hex.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// Hex.
    #[serde(rename = "spanID")]
    pub span_id: String,
}

/// A tag (attribute) or log field.
#[derive(Debug, Clone, Deserialize)]
pub struct Tag {
    /// The attribute's key.
    pub key: String,
    /// Jaeger's type: `string`, `bool`, `int64`, `float64`, `binary`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The value, typed as `kind` says.
    pub value: Value,
}

/// A log (an event).
#[derive(Debug, Clone, Deserialize)]
pub struct Log {
    /// Microseconds since the Unix epoch.
    pub timestamp: u64,
    /// The event's name is the field `event`; the attributes follow.
    pub fields: Vec<Tag>,
}

impl Log {
    /// The value of field `key`.
    pub fn field(&self, key: &str) -> Option<&Tag> {
        self.fields.iter().find(|f| f.key == key)
    }
}

/// A process: the service a span belongs to, and its resource attributes.
#[derive(Debug, Clone, Deserialize)]
pub struct Process {
    /// `service.name`.
    #[serde(rename = "serviceName")]
    pub service: String,
    /// The other resource attributes.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// An edge of `/api/dependencies`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Dependency {
    /// The calling service.
    pub parent: String,
    /// The called service.
    pub child: String,
    /// Parent-child span pairs between them.
    #[serde(rename = "callCount")]
    pub calls: u64,
}

impl Span {
    /// The tag `key`.
    pub fn tag(&self, key: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.key == key)
    }

    /// Every tag `key` (Zipkin's error tag can appear twice).
    pub fn tags_named<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Tag> + 'a {
        self.tags.iter().filter(move |t| t.key == key)
    }

    /// The span id of its `CHILD_OF` reference.
    pub fn parent_id(&self) -> Option<&str> {
        self.references
            .iter()
            .find(|r| r.kind == "CHILD_OF")
            .map(|r| r.span_id.as_str())
    }

    /// Its `span.kind` tag (`client`, `server`, ...; absent for internal spans from some
    /// protocols).
    pub fn kind(&self) -> Option<&str> {
        self.tag("span.kind").and_then(|t| t.value.as_str())
    }

    /// Whether Jaeger marks it as an error (a bool tag `error` = true).
    pub fn is_error(&self) -> bool {
        self.tags_named("error")
            .any(|t| t.kind == "bool" && t.value == Value::Bool(true))
    }

    /// Microseconds since the epoch at which it ended.
    pub fn end_us(&self) -> u64 {
        self.start_us + self.duration_us
    }
}

impl Trace {
    /// The service of `span`.
    pub fn service_of(&self, span: &Span) -> &str {
        self.processes
            .get(&span.process_id)
            .map_or("", |p| p.service.as_str())
    }

    /// The one span named `operation` (panics if there is not exactly one).
    pub fn one(&self, operation: &str) -> &Span {
        let found: Vec<&Span> = self.spans.iter().filter(|s| s.operation == operation).collect();
        assert_eq!(
            found.len(),
            1,
            "trace {} should hold one span {operation:?}; it holds {:?}",
            self.trace_id,
            self.spans.iter().map(|s| &s.operation).collect::<Vec<_>>()
        );
        found[0]
    }

    /// The parent of `span` in this trace.
    pub fn parent_of(&self, span: &Span) -> Option<&Span> {
        let parent = span.parent_id()?;
        self.spans.iter().find(|s| s.span_id == parent)
    }

    /// Its spans without a parent in it.
    pub fn roots(&self) -> Vec<&Span> {
        self.spans
            .iter()
            .filter(|s| self.parent_of(s).is_none())
            .collect()
    }
}

/// A search of `/api/traces`.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Required by Jaeger.
    pub service: String,
    /// `operation=`.
    pub operation: Option<String>,
    /// `tags=` (values as strings, as Jaeger requires).
    pub tags: Vec<(String, String)>,
    /// `minDuration=` (Go duration syntax, e.g. `100ms`).
    pub min_duration: Option<String>,
    /// `limit=`.
    pub limit: Option<u32>,
}

impl Search {
    /// All traces of `service`.
    pub fn service(service: &str) -> Search {
        Search {
            service: service.to_owned(),
            ..Search::default()
        }
    }
}

/// A client of one Jaeger's query API.
#[derive(Debug, Clone)]
pub struct Query {
    base: String,
    http: reqwest::blocking::Client,
}

impl Query {
    /// A client of the query API at `base` (`http://127.0.0.1:16686`).
    pub fn new(base: String) -> Query {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        Query { base, http }
    }

    /// GET `path` (with the query in it); the status and the body.
    pub fn get(&self, path: &str) -> Result<(u16, String), String> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = response.status().as_u16();
        let body = response.text().map_err(|e| format!("GET {url}: {e}"))?;
        Ok((status, body))
    }

    fn data<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, String> {
        let (status, body) = self.get(path)?;
        if status == 404 {
            return Ok(None);
        }
        let envelope: Envelope<T> =
            serde_json::from_str(&body).map_err(|e| format!("{path}: {e}: {body}"))?;
        match envelope.errors.as_deref() {
            Some([first, ..]) => Err(format!("{path}: HTTP {status}: {} {}", first.code, first.msg)),
            _ if status != 200 => Err(format!("{path}: HTTP {status}: {body}")),
            _ => Ok(envelope.data),
        }
    }

    /// `/api/services`, sorted.
    pub fn services(&self) -> Result<Vec<String>, String> {
        let mut services: Vec<String> = self.data("/api/services")?.unwrap_or_default();
        services.sort();
        Ok(services)
    }

    /// `/api/services/{service}/operations`, sorted.
    pub fn operations(&self, service: &str) -> Result<Vec<String>, String> {
        let path = format!("/api/services/{}/operations", encode(service));
        let mut operations: Vec<String> = self.data(&path)?.unwrap_or_default();
        operations.sort();
        Ok(operations)
    }

    /// `/api/traces/{id}`; `None` when Jaeger has no such trace.
    pub fn trace(&self, trace_id: &str) -> Result<Option<Trace>, String> {
        let traces: Option<Vec<Trace>> = self.data(&format!("/api/traces/{trace_id}"))?;
        Ok(traces.and_then(|t| t.into_iter().next()))
    }

    /// `/api/traces?service=..` with the search's conditions, over the last hour and the
    /// next minute.
    pub fn search(&self, search: &Search) -> Result<Vec<Trace>, String> {
        let now = micros(SystemTime::now());
        let mut path = format!(
            "/api/traces?service={}&start={}&end={}&limit={}",
            encode(&search.service),
            now - 3_600_000_000,
            now + 60_000_000,
            search.limit.unwrap_or(1000)
        );
        if let Some(operation) = &search.operation {
            path += &format!("&operation={}", encode(operation));
        }
        if let Some(min) = &search.min_duration {
            path += &format!("&minDuration={}", encode(min));
        }
        if !search.tags.is_empty() {
            let tags: serde_json::Map<String, Value> = search
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            path += &format!("&tags={}", encode(&Value::Object(tags).to_string()));
        }
        Ok(self.data(&path)?.unwrap_or_default())
    }

    /// `/api/dependencies` over the last hour (up to a minute from now: a trace counts only
    /// once it ended before `endTs`).
    pub fn dependencies(&self) -> Result<Vec<Dependency>, String> {
        let end_ms = micros(SystemTime::now()) / 1000 + 60_000;
        let path = format!("/api/dependencies?endTs={end_ms}&lookback=3600000");
        Ok(self.data(&path)?.unwrap_or_default())
    }

    /// `/api/v3/traces/{id}` as JSON (OTLP-JSON), `None` when Jaeger has no such trace.
    pub fn v3_trace(&self, trace_id: &str) -> Result<Option<Value>, String> {
        let (status, body) = self.get(&format!("/api/v3/traces/{trace_id}"))?;
        match status {
            404 => Ok(None),
            200 => serde_json::from_str(&body).map(Some).map_err(|e| e.to_string()),
            _ => Err(format!("/api/v3/traces/{trace_id}: HTTP {status}: {body}")),
        }
    }

    /// `/api/v3/traces?query.service_name=..` over the last hour: the span ids found.
    pub fn v3_search_span_count(&self, service: &str) -> Result<usize, String> {
        let now = SystemTime::now();
        let path = format!(
            "/api/v3/traces?query.service_name={}&query.start_time_min={}&query.start_time_max={}&query.num_traces=1000",
            encode(service),
            encode(&rfc3339(now - Duration::from_secs(3600))),
            encode(&rfc3339(now + Duration::from_secs(60))),
        );
        let (status, body) = self.get(&path)?;
        if status == 404 {
            return Ok(0);
        }
        if status != 200 {
            return Err(format!("{path}: HTTP {status}: {body}"));
        }
        let json: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let mut count = 0;
        for resource in json["result"]["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                count += scope["spans"].as_array().map_or(0, Vec::len);
            }
        }
        Ok(count)
    }
}

/// Microseconds since the epoch.
pub fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros() as u64
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Percent-encodes a query or path component.
pub fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// One point of a Monitor API series; `None` where Jaeger answered `"NaN"`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// RFC 3339, as Jaeger writes it.
    pub timestamp: String,
    /// The value.
    pub value: Option<f64>,
}

impl Query {
    /// The Monitor tab's API: `/api/metrics/{which}?service=..` (`calls`, `latencies`,
    /// `errors`) for server spans over the last `lookback_ms` up to now, one point per
    /// second, rates over `rate_per_ms`; `extra` adds parameters (`quantile=0.95`). The
    /// points of the service's one series.
    pub fn monitor(
        &self,
        which: &str,
        service: &str,
        lookback_ms: u64,
        rate_per_ms: u64,
        extra: &str,
    ) -> Result<Vec<MetricPoint>, String> {
        let end_ms = micros(SystemTime::now()) / 1000;
        let path = format!(
            "/api/metrics/{which}?service={}&endTs={end_ms}&lookback={lookback_ms}&step=1000&ratePer={rate_per_ms}&spanKind=server{extra}",
            encode(service)
        );
        let (status, body) = self.get(&path)?;
        if status != 200 {
            return Err(format!("{path}: HTTP {status}: {body}"));
        }
        let json: Value = serde_json::from_str(&body).map_err(|e| format!("{path}: {e}: {body}"))?;
        let metrics = json["metrics"].as_array().cloned().unwrap_or_default();
        let Some(series) = metrics.first() else {
            return Ok(Vec::new());
        };
        let points = series["metricPoints"].as_array().cloned().unwrap_or_default();
        Ok(points
            .iter()
            .map(|p| MetricPoint {
                timestamp: p["timestamp"].as_str().unwrap_or("").to_owned(),
                // Jaeger writes NaN as the string "NaN".
                value: p["gaugeValue"]["doubleValue"].as_f64(),
            })
            .collect())
    }
}
