//! The main job (`test_tracing`, run as a user runs it) against a real Jaeger, once per
//! exporter: what Jaeger stores, how it shows it, and whether its searches and dependency
//! graph find what the seed's UI guide says they find.
//!
//! The backend is a `maximus-mock` process reporting as its own service (`maximus-core`),
//! with two faults injected: `GET /api/consciousness/state` answers 500 once (the failing
//! call) and `POST /query` takes 150 ms once (the slow call).

use maximus_jaeger_suite::programs::{MainJob, MockProcess};
use maximus_jaeger_suite::query::{Search, Trace};
use maximus_jaeger_suite::{Exporter, Jaeger, eventually, figure, jaeger_test};
use serde_json::json;
use std::time::Duration;

const CLIENT: &str = "maximus-test-client";
const BACKEND: &str = "maximus-core";

/// The three tests of the main job: test span, endpoint span, the backend's server span.
const CALLS: [(&str, &str, &str); 3] = [
    ("health_check_test", "health", "GET /health"),
    ("consciousness_test", "get_state", "GET /api/consciousness/state"),
    ("query_test", "query", "POST /query"),
];

jaeger_test! {
    fn main_job_over_otlp_http() {
        main_job_against(Exporter::OtlpHttp);
    }
}

jaeger_test! {
    fn main_job_over_otlp_grpc() {
        main_job_against(Exporter::OtlpGrpc);
    }
}

jaeger_test! {
    fn main_job_over_agent_udp() {
        main_job_against(Exporter::AgentUdp);
    }
}

jaeger_test! {
    fn main_job_over_zipkin() {
        main_job_against(Exporter::Zipkin);
    }
}

jaeger_test! {
    /// With no `MAXIMUS_CORE_URL` the main job starts the mock in-process: its server spans
    /// still reach Jaeger as the backend's own service, so the dependency graph has an edge.
    fn in_process_mock_reports_as_its_own_service() {
        let jaeger = Jaeger::start();
        let mut vars = jaeger.env(Exporter::OtlpHttp);
        vars.push(("JAEGER_UI_URL", jaeger.query_url()));
        let job = MainJob::run(&vars);
        let (_, client) = job.counts(CLIENT).expect("the job reports the client's counts");
        let (_, backend) = job.counts(BACKEND).expect("the job reports the backend's counts");
        assert_eq!((client, backend), (9, 3), "{}", job.stdout);
        let query = jaeger.query();
        let ids = trace_ids(&job, &jaeger);
        let traces = stored(&jaeger, &ids, client + backend);
        for (trace, (_, _, server)) in traces.iter().zip(CALLS) {
            assert_eq!(trace.service_of(trace.one(server)), BACKEND);
        }
        assert_eq!(query.services().unwrap(), [BACKEND, CLIENT]);
        let edge = edge(&jaeger);
        assert_eq!(edge, 3, "one call to the backend per test");
        figure(
            "in-process mock",
            format!("{client} client + {backend} backend spans stored; {CLIENT} -> {BACKEND}: {edge} calls"),
        );
    }
}

fn main_job_against(exporter: Exporter) {
    let jaeger = Jaeger::start();
    let vars = jaeger.env(exporter);
    let mut mock = MockProcess::start(&vars);
    mock.inject(json!({
        "method": "GET", "path": "/api/consciousness/state", "times": 1,
        "fault": {"kind": "status", "code": 500}
    }));
    mock.inject(json!({
        "method": "POST", "path": "/query", "times": 1,
        "fault": {"kind": "latency", "ms": 150}
    }));
    let mut job_vars = vars.clone();
    job_vars.push(("MAXIMUS_CORE_URL", mock.url().to_owned()));
    job_vars.push(("JAEGER_UI_URL", jaeger.query_url()));
    let job = MainJob::run(&job_vars);
    let mock_log = mock.stop();

    // Counts: what each side says it exported is exactly what Jaeger stores.
    let (client_recorded, client_exported) = job
        .counts(CLIENT)
        .unwrap_or_else(|| panic!("no counts for {CLIENT} in:\n{}", job.stdout));
    let (backend_recorded, backend_exported) =
        MockProcess::counts(&mock_log).unwrap_or_else(|| panic!("no counts in the mock's log:\n{mock_log}"));
    assert_eq!((client_recorded, client_exported), (9, 9), "{}", job.stdout);
    assert_eq!((backend_recorded, backend_exported), (3, 3), "{mock_log}");
    let ids = trace_ids(&job, &jaeger);
    let traces = stored(&jaeger, &ids, client_exported + backend_exported);
    let query = jaeger.query();
    for service in [CLIENT, BACKEND] {
        let found = query.search(&Search::service(service)).unwrap();
        assert_eq!(
            found.len(),
            3,
            "{service} has exactly the main job's three traces"
        );
    }

    // Services and operations.
    assert_eq!(query.services().unwrap(), [BACKEND, CLIENT]);
    assert_eq!(
        query.operations(CLIENT).unwrap(),
        [
            "api_request",
            "consciousness_test",
            "get_state",
            "health",
            "health_check_test",
            "query",
            "query_test"
        ]
    );
    assert_eq!(
        query.operations(BACKEND).unwrap(),
        ["GET /api/consciousness/state", "GET /health", "POST /query"]
    );

    // Each trace one tree: test -> endpoint -> api_request (client) -> server (backend).
    let window = (
        maximus_jaeger_suite::query::micros(job.started),
        maximus_jaeger_suite::query::micros(job.ended),
    );
    for (trace, (test, endpoint, server)) in traces.iter().zip(CALLS) {
        check_tree(trace, exporter, [test, endpoint, "api_request", server], window);
    }

    // Tag types as Jaeger stores them (Zipkin's tags are all strings).
    let typed = |kind: &'static str, value: serde_json::Value| match exporter {
        Exporter::Zipkin => match value {
            serde_json::Value::String(_) => ("string", value),
            other => ("string", json!(other.to_string())),
        },
        _ => (kind, value),
    };
    let health = &traces[0];
    let request = health.one("api_request");
    assert_eq!(tag_type(request, "http.status_code"), typed("int64", json!(200)));
    assert_eq!(tag_type(request, "retry.attempt"), typed("int64", json!(1)));
    let response_time = tag_type(request, "http.response_time_ms").0;
    assert_eq!(response_time, typed("float64", json!(0)).0);
    assert_eq!(tag_type(request, "http.method"), typed("string", json!("GET")));
    let server = health.one("GET /health");
    assert_eq!(
        tag_type(server, "http.response.status_code"),
        typed("int64", json!(200))
    );

    // The failing call: error=true and the exception as a log with type and message.
    let failing = &traces[1];
    for name in ["consciousness_test", "get_state", "api_request"] {
        let span = failing.one(name);
        if name == "consciousness_test" {
            assert!(!span.is_error(), "the test span itself did not fail");
            continue;
        }
        assert!(span.is_error(), "{name} is marked error=true: {:?}", span.tags);
    }
    let get_state = failing.one("get_state");
    let event = |log: &maximus_jaeger_suite::query::Log| {
        log.field("event")
            .and_then(|e| e.value.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let exception = get_state
        .logs
        .iter()
        .find(|log| event(log) == "exception" || event(log).starts_with("\"exception\""))
        .unwrap_or_else(|| panic!("get_state has an exception log: {:?}", get_state.logs));
    if exporter == Exporter::Zipkin {
        // A Zipkin annotation is text: `"exception": {attributes as JSON}`.
        let text = event(exception);
        assert!(
            text.contains("\"exception.type\"") && text.contains("500"),
            "{text}"
        );
    } else {
        let message = exception
            .field("exception.message")
            .expect("exception.message")
            .value
            .clone();
        assert!(message.as_str().unwrap().contains("500"), "{message}");
        let kind = exception
            .field("exception.type")
            .expect("exception.type")
            .value
            .clone();
        assert!(!kind.as_str().unwrap().is_empty());
    }
    assert_eq!(
        tag_type(failing.one("api_request"), "http.status_code"),
        typed("int64", json!(500))
    );
    assert!(failing.one("GET /api/consciousness/state").is_error());

    // The seed's searches: http.status_code=500 finds the failing call's trace and only it;
    // minDuration=100ms finds the slow call.
    let errors = query
        .search(&Search {
            tags: vec![("http.status_code".into(), "500".into())],
            ..Search::service(CLIENT)
        })
        .unwrap();
    assert_eq!(ids_of(&errors), [hex(&ids[1])], "http.status_code=500");
    let slow = query
        .search(&Search {
            min_duration: Some("100ms".into()),
            ..Search::service(CLIENT)
        })
        .unwrap();
    assert_eq!(ids_of(&slow), [hex(&ids[2])], "minDuration=100ms");
    let slowest = traces[2].one("query_test").duration_us;
    assert!(slowest >= 150_000, "the slow call took its 150 ms: {slowest} us");

    // The dependency graph.
    let calls = edge(&jaeger);
    assert_eq!(calls, 3, "one call to the backend per test");

    figure(
        &format!("main job over {exporter}"),
        format!(
            "{} spans stored = {client_exported} exported by {CLIENT} + {backend_exported} by {BACKEND}; \
             3 trees of 4; {CLIENT} -> {BACKEND}: {calls} calls; status 500 search: 1 trace; \
             minDuration=100ms: 1 trace ({:.1} ms); run {:.2} s",
            client_exported + backend_exported,
            slowest as f64 / 1000.0,
            job.took.as_secs_f64()
        ),
    );
}

/// The trace ids of the links the job printed (all under this Jaeger's UI).
fn trace_ids(job: &MainJob, jaeger: &Jaeger) -> Vec<String> {
    let prefix = format!("{}/trace/", jaeger.query_url());
    let ids: Vec<String> = job
        .trace_links()
        .iter()
        .map(|link| {
            link.strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{link} is not under {prefix}"))
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 3, "one link per test:\n{}", job.stdout);
    ids
}

/// Waits until Jaeger holds `ids` with `spans` spans between them; the traces, in `ids`'
/// order. Jaeger must not hold more than that.
fn stored(jaeger: &Jaeger, ids: &[String], spans: u64) -> Vec<Trace> {
    let query = jaeger.query();
    let traces = eventually(
        "Jaeger stores every exported span",
        Duration::from_secs(30),
        || {
            let mut traces = Vec::new();
            for id in ids {
                traces.push(query.trace(id)?.ok_or(format!("trace {id} is not stored yet"))?);
            }
            let stored: u64 = traces.iter().map(|t| t.spans.len() as u64).sum();
            if stored >= spans {
                Ok(traces)
            } else {
                Err(format!("{stored} of {spans} spans stored"))
            }
        },
    );
    let stored: u64 = traces.iter().map(|t| t.spans.len() as u64).sum();
    assert_eq!(stored, spans, "Jaeger stores exactly the spans exported");
    traces
}

/// Checks one trace of the main job: four spans in a chain, kinds, services, times.
fn check_tree(trace: &Trace, exporter: Exporter, chain: [&str; 4], window: (u64, u64)) {
    assert_eq!(trace.spans.len(), 4, "{chain:?}: {trace:#?}");
    let spans = chain.map(|name| trace.one(name));
    assert!(spans[0].parent_id().is_none(), "{} is a root", chain[0]);
    for pair in spans.windows(2) {
        let (parent, child) = (pair[0], pair[1]);
        assert_eq!(
            child.parent_id(),
            Some(parent.span_id.as_str()),
            "{} is the parent of {}",
            parent.operation,
            child.operation
        );
        // Jaeger keeps microseconds (start and duration each truncated): 1 us of slack.
        assert!(
            child.start_us + 1 >= parent.start_us && child.end_us() <= parent.end_us() + 1,
            "{} ({}..{}) lies inside {} ({}..{})",
            child.operation,
            child.start_us,
            child.end_us(),
            parent.operation,
            parent.start_us,
            parent.end_us()
        );
        assert_eq!(child.trace_id, parent.trace_id);
    }
    for span in &spans {
        assert!(
            span.start_us >= window.0 && span.end_us() <= window.1 + 1,
            "{} ({}..{}) lies inside the run ({}..{})",
            span.operation,
            span.start_us,
            span.end_us(),
            window.0,
            window.1
        );
        let problems = span.warnings.clone().unwrap_or_default();
        assert!(
            problems.is_empty(),
            "Jaeger warns about {}: {problems:?}",
            span.operation
        );
    }
    for span in &spans[..3] {
        assert_eq!(trace.service_of(span), CLIENT, "{}", span.operation);
    }
    assert_eq!(trace.service_of(spans[3]), BACKEND);
    // Zipkin's model has no internal kind: a local span simply has none.
    let internal = if exporter == Exporter::Zipkin {
        None
    } else {
        Some("internal")
    };
    assert_eq!(spans[0].kind(), internal, "{}", chain[0]);
    assert_eq!(spans[1].kind(), internal, "{}", chain[1]);
    assert_eq!(spans[2].kind(), Some("client"));
    assert_eq!(spans[3].kind(), Some("server"));
}

fn tag_type(span: &maximus_jaeger_suite::Span, key: &str) -> (&'static str, serde_json::Value) {
    let tag = span
        .tag(key)
        .unwrap_or_else(|| panic!("{} has a tag {key}: {:?}", span.operation, span.tags));
    let kind = match tag.kind.as_str() {
        "int64" => "int64",
        "float64" => "float64",
        "bool" => "bool",
        "string" => "string",
        other => panic!("unexpected tag type {other}"),
    };
    (kind, tag.value.clone())
}

/// Trace ids as numbers: Jaeger drops leading zeros.
fn hex(id: &str) -> u128 {
    u128::from_str_radix(id, 16).expect("a hex trace id")
}

fn ids_of(traces: &[Trace]) -> Vec<u128> {
    traces.iter().map(|t| hex(&t.trace_id)).collect()
}

/// The calls of the `maximus-test-client -> maximus-core` edge, once Jaeger shows it.
fn edge(jaeger: &Jaeger) -> u64 {
    let query = jaeger.query();
    eventually(
        "the dependency graph shows the call",
        Duration::from_secs(10),
        || {
            let dependencies = query.dependencies()?;
            dependencies
                .iter()
                .find(|d| d.parent == CLIENT && d.child == BACKEND)
                .map(|d| d.calls)
                .ok_or(format!("{dependencies:?}"))
        },
    )
}
