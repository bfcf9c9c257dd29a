//! The main job (`test_tracing`, run as a user runs it) against a real Jaeger, once per
//! exporter: what Jaeger stores, how it shows it, and whether its searches and dependency
//! graph find what the seed's UI guide says they find.
//!
//! The backend is a `maximus-mock` process reporting as its own service (`maximus-core`),
//! with two faults injected: `GET /api/consciousness/state` answers 500 once (the failing
//! call) and `POST /query` takes [`SLOW_MS`] once (the slow call). Each exporter's run
//! happens once ([`run`]); the tests of its module each check one behaviour of it.

use std::sync::OnceLock;
use std::time::Duration;

use maximus_jaeger_suite::programs::{MainJob, MockProcess};
use maximus_jaeger_suite::query::{Search, Trace, micros};
use maximus_jaeger_suite::{Exporter, Jaeger, eventually, figure, jaeger_test};
use serde_json::json;

const CLIENT: &str = "maximus-test-client";
const BACKEND: &str = "maximus-core";

/// The three tests of the main job: test span, endpoint span, the backend's server span.
const CALLS: [(&str, &str, &str); 3] = [
    ("health_check_test", "health", "GET /health"),
    ("consciousness_test", "get_state", "GET /api/consciousness/state"),
    ("query_test", "query", "POST /query"),
];

/// The slow call's injected delay, and the `minDuration` search that must find it and only
/// it: twice the search's bound, which a call without the fault stays far below even on a
/// busy machine (they take milliseconds).
const SLOW_MS: u64 = 1_000;
const MIN_DURATION: &str = "500ms";

/// For each exporter, a module with one test per behaviour, all reading that exporter's run.
macro_rules! behaviours {
    ($($module:ident: $exporter:ident),* ; $behaviours:tt) => {
        $(behaviours!(@module $module $exporter $behaviours);)*
    };
    (@module $module:ident $exporter:ident [$($behaviour:ident),* $(,)?]) => {
        mod $module {
            $(maximus_jaeger_suite::jaeger_test! {
                fn $behaviour() {
                    super::$behaviour(super::Exporter::$exporter);
                }
            })*
        }
    };
}

behaviours!(
    otlp_http: OtlpHttp, otlp_grpc: OtlpGrpc, agent_udp: AgentUdp, zipkin: Zipkin;
    [
        each_side_exports_every_span_and_jaeger_stores_exactly_those,
        services_and_operations_are_listed,
        each_call_is_one_tree_from_test_to_server,
        attributes_keep_their_types_and_values,
        the_failing_call_is_marked_with_its_exception,
        status_500_search_finds_only_the_failing_call,
        min_duration_search_finds_only_the_slow_call,
        dependency_graph_counts_one_call_per_test,
    ]
);

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
        let spans: u64 = traces.iter().map(|t| t.spans.len() as u64).sum();
        assert_eq!(spans, client + backend, "Jaeger stores exactly the spans exported");
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

/// One run of the main job against a Jaeger of its own, and what Jaeger then showed: the
/// Jaeger is stopped once everything the tests check was read back.
struct Run {
    exporter: Exporter,
    job: MainJob,
    mock_log: String,
    /// The trace ids of the links the job printed, one per test, in its order.
    ids: Vec<String>,
    /// Those traces, in the same order.
    traces: Vec<Trace>,
    services: Vec<String>,
    client_operations: Vec<String>,
    backend_operations: Vec<String>,
    /// How many traces a search by service finds, for the client and the backend.
    traces_by_service: (usize, usize),
    /// The traces found by `http.status_code=500`.
    status_500: Vec<Trace>,
    /// The traces found by `minDuration=`[`MIN_DURATION`].
    slow: Vec<Trace>,
    /// The calls of the client -> backend edge of the dependency graph.
    edge: u64,
}

/// The run over `exporter`, made by the first test that asks. A run that failed fails every
/// test that asks for it, with the first failure's message.
fn run(exporter: Exporter) -> &'static Run {
    static RUNS: [OnceLock<Result<Run, String>>; Exporter::ALL.len()] =
        [const { OnceLock::new() }; Exporter::ALL.len()];
    let slot = Exporter::ALL
        .iter()
        .position(|e| *e == exporter)
        .expect("a known exporter");
    let run = RUNS[slot].get_or_init(|| {
        std::panic::catch_unwind(|| Run::new(exporter)).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default()
        })
    });
    match run {
        Ok(run) => run,
        Err(e) => panic!("the main job's run over {exporter} failed: {e}"),
    }
}

impl Run {
    fn new(exporter: Exporter) -> Run {
        let jaeger = Jaeger::start();
        let vars = jaeger.env(exporter);
        let mut mock = MockProcess::start(&vars);
        mock.inject(json!({
            "method": "GET", "path": "/api/consciousness/state", "times": 1,
            "fault": {"kind": "status", "code": 500}
        }));
        mock.inject(json!({
            "method": "POST", "path": "/query", "times": 1,
            "fault": {"kind": "latency", "ms": SLOW_MS}
        }));
        let mut job_vars = vars.clone();
        job_vars.push(("MAXIMUS_CORE_URL", mock.url().to_owned()));
        job_vars.push(("JAEGER_UI_URL", jaeger.query_url()));
        let job = MainJob::run(&job_vars);
        let mock_log = mock.stop();

        let exported = |counts: Option<(u64, u64)>| counts.map_or(0, |(_, exported)| exported);
        let spans = exported(job.counts(CLIENT)) + exported(MockProcess::counts(&mock_log));
        let ids = trace_ids(&job, &jaeger);
        let traces = stored(&jaeger, &ids, spans);
        let query = jaeger.query();
        let found = |search: Search| query.search(&search).unwrap();
        let run = Run {
            exporter,
            traces_by_service: (
                found(Search::service(CLIENT)).len(),
                found(Search::service(BACKEND)).len(),
            ),
            services: query.services().unwrap(),
            client_operations: query.operations(CLIENT).unwrap(),
            backend_operations: query.operations(BACKEND).unwrap(),
            status_500: found(Search {
                tags: vec![("http.status_code".into(), "500".into())],
                ..Search::service(CLIENT)
            }),
            slow: found(Search {
                min_duration: Some(MIN_DURATION.into()),
                ..Search::service(CLIENT)
            }),
            edge: edge(&jaeger),
            job,
            mock_log,
            ids,
            traces,
        };
        figure(
            &format!("main job over {exporter}"),
            format!(
                "Jaeger shows {} spans in 3 traces; {CLIENT} -> {BACKEND}: {} calls; status 500 search: \
                 {} trace(s); minDuration={MIN_DURATION}: {} trace(s); run {:.2} s",
                run.traces.iter().map(|t| t.spans.len()).sum::<usize>(),
                run.edge,
                run.status_500.len(),
                run.slow.len(),
                run.job.took.as_secs_f64()
            ),
        );
        run
    }

    /// The typed tag as Jaeger stores it from this run's exporter: Zipkin's tags are all
    /// strings.
    fn typed(&self, kind: &'static str, value: serde_json::Value) -> (&'static str, serde_json::Value) {
        match (self.exporter, value) {
            (Exporter::Zipkin, serde_json::Value::String(text)) => ("string", json!(text)),
            (Exporter::Zipkin, other) => ("string", json!(other.to_string())),
            (_, value) => (kind, value),
        }
    }
}

/// What each side says it exported is exactly what Jaeger stores, under each service.
fn each_side_exports_every_span_and_jaeger_stores_exactly_those(exporter: Exporter) {
    let run = run(exporter);
    let client = run
        .job
        .counts(CLIENT)
        .unwrap_or_else(|| panic!("no counts for {CLIENT} in:\n{}", run.job.stdout));
    let backend = MockProcess::counts(&run.mock_log)
        .unwrap_or_else(|| panic!("no counts in the mock's log:\n{}", run.mock_log));
    assert_eq!(
        client,
        (9, 9),
        "{CLIENT} recorded and exported: {}",
        run.job.stdout
    );
    assert_eq!(
        backend,
        (3, 3),
        "{BACKEND} recorded and exported: {}",
        run.mock_log
    );
    let stored: u64 = run.traces.iter().map(|t| t.spans.len() as u64).sum();
    assert_eq!(
        stored,
        client.1 + backend.1,
        "Jaeger stores exactly the spans exported"
    );
    assert_eq!(
        run.traces_by_service,
        (3, 3),
        "each service has exactly the main job's three traces"
    );
}

fn services_and_operations_are_listed(exporter: Exporter) {
    let run = run(exporter);
    assert_eq!(run.services, [BACKEND, CLIENT]);
    assert_eq!(
        run.client_operations,
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
        run.backend_operations,
        ["GET /api/consciousness/state", "GET /health", "POST /query"]
    );
}

/// Each trace is one tree: test -> endpoint -> api_request (client) -> server (backend).
fn each_call_is_one_tree_from_test_to_server(exporter: Exporter) {
    let run = run(exporter);
    let window = (micros(run.job.started), micros(run.job.ended));
    for (trace, (test, endpoint, server)) in run.traces.iter().zip(CALLS) {
        check_tree(trace, exporter, [test, endpoint, "api_request", server], window);
    }
}

/// Tag types as Jaeger stores them, and plausible values.
fn attributes_keep_their_types_and_values(exporter: Exporter) {
    let run = run(exporter);
    let health = &run.traces[0];
    let request = health.one("api_request");
    assert_eq!(
        tag_type(request, "http.status_code"),
        run.typed("int64", json!(200))
    );
    assert_eq!(tag_type(request, "retry.attempt"), run.typed("int64", json!(1)));
    assert_eq!(
        tag_type(request, "http.method"),
        run.typed("string", json!("GET"))
    );
    let (kind, value) = tag_type(request, "http.response_time_ms");
    assert_eq!(kind, run.typed("float64", json!(0.0)).0);
    // A real measurement: more than nothing, less than the whole run of the job.
    let millis = match &value {
        serde_json::Value::String(text) => text.parse::<f64>().ok(),
        other => other.as_f64(),
    };
    let run_ms = run.job.took.as_secs_f64() * 1000.0;
    assert!(
        millis.is_some_and(|ms| ms > 0.0 && ms < run_ms),
        "http.response_time_ms {value} is within (0, {run_ms:.1}) ms"
    );
    let server = health.one("GET /health");
    assert_eq!(
        tag_type(server, "http.response.status_code"),
        run.typed("int64", json!(200))
    );
}

/// The failing call: error=true on the spans it failed, and the exception as a log with
/// type and message.
fn the_failing_call_is_marked_with_its_exception(exporter: Exporter) {
    let run = run(exporter);
    let failing = &run.traces[1];
    assert!(
        !failing.one("consciousness_test").is_error(),
        "the test span itself did not fail"
    );
    for name in ["get_state", "api_request", "GET /api/consciousness/state"] {
        let span = failing.one(name);
        assert!(span.is_error(), "{name} is marked error=true: {:?}", span.tags);
    }
    assert_eq!(
        tag_type(failing.one("api_request"), "http.status_code"),
        run.typed("int64", json!(500))
    );
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
        let message = &exception
            .field("exception.message")
            .expect("exception.message")
            .value;
        assert!(message.as_str().unwrap().contains("500"), "{message}");
        let kind = &exception.field("exception.type").expect("exception.type").value;
        assert!(!kind.as_str().unwrap().is_empty());
    }
}

/// The seed's search `http.status_code=500` finds the failing call's trace and only it.
fn status_500_search_finds_only_the_failing_call(exporter: Exporter) {
    let run = run(exporter);
    assert_eq!(
        ids_of(&run.status_500),
        [hex(&run.ids[1])],
        "http.status_code=500"
    );
}

/// The seed's `minDuration` search finds the slow call's trace and only it.
fn min_duration_search_finds_only_the_slow_call(exporter: Exporter) {
    let run = run(exporter);
    let slowest = run.traces[2].one("query_test").duration_us;
    assert!(
        slowest >= SLOW_MS * 1000,
        "the slow call took its {SLOW_MS} ms: {slowest} us"
    );
    assert_eq!(
        ids_of(&run.slow),
        [hex(&run.ids[2])],
        "minDuration={MIN_DURATION}"
    );
}

fn dependency_graph_counts_one_call_per_test(exporter: Exporter) {
    assert_eq!(run(exporter).edge, 3, "{CLIENT} -> {BACKEND}");
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

/// Waits until Jaeger holds `ids` with at least `spans` spans between them; the traces, in
/// `ids`' order.
fn stored(jaeger: &Jaeger, ids: &[String], spans: u64) -> Vec<Trace> {
    let query = jaeger.query();
    eventually(
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
    )
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
