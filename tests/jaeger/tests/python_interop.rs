//! A second language in the same trace: Rust calls a Python service on the official
//! OpenTelemetry SDK with our `traceparent` and `baggage`; Python calls back a Rust endpoint
//! (`maximus-mock`, service `maximus-core`). All three export to one real Jaeger, which shows
//! one trace across three services with exact parents, and the baggage on the Python side.

use std::time::Duration;

use maximus_jaeger_suite::peers::require;
use maximus_jaeger_suite::programs::MockProcess;
use maximus_jaeger_suite::python::{self, PythonService};
use maximus_jaeger_suite::{Exporter, Jaeger, eventually, figure, jaeger_test};
use maximus_trace::{SpanKind, TracingManager, get_tracing};

const RUST: &str = "rust-caller";
const PYTHON: &str = "maximus-python";
const BACKEND: &str = "maximus-core";

jaeger_test! {
    fn rust_python_rust_is_one_trace_in_jaeger() {
        let Some(python) = require(python::python()) else {
            return;
        };
        let jaeger = Jaeger::start();
        let otlp = jaeger.env(Exporter::OtlpHttp);
        let mut backend = MockProcess::start(&otlp);
        let traces_url = format!("http://127.0.0.1:{}/v1/traces", jaeger.ports().otlp_http);
        let mut python = PythonService::start(python, PYTHON, &traces_url);
        let guard = TracingManager::builder()
            .service_name(RUST)
            .environment(jaeger.lookup(Exporter::OtlpHttp))
            .init()
            .expect("tracing starts");

        // Baggage arrives with a request and travels on with every call made under it.
        let mut incoming = http::HeaderMap::new();
        incoming.insert("baggage", "tenant=acme,user=42".parse().unwrap());
        let upstream = maximus_trace::extract(&incoming);
        let root = get_tracing()
            .span_builder("interop_test")
            .parent(&upstream)
            .entered();
        let trace_id = root.trace_id().expect("sampled");
        let callback = format!("{}/health", backend.url());
        let reply: serde_json::Value = {
            let call = get_tracing().span_builder("GET").kind(SpanKind::Client).entered();
            let mut headers = http::HeaderMap::new();
            maximus_trace::inject(&mut headers);
            let url = format!(
                "{}/work?callback={}",
                python.url(),
                maximus_jaeger_suite::query::encode(&callback)
            );
            let response = reqwest::blocking::Client::new()
                .get(url)
                .headers(headers)
                .send()
                .expect("the Python service answers");
            call.set_attribute("http.response.status_code", i64::from(response.status().as_u16()));
            response.json().expect("a JSON reply")
        };
        drop(root);
        assert_eq!(reply["trace_id"], trace_id.as_str(), "Python continued our trace: {reply}");
        assert_eq!(reply["baggage"]["tenant"], "acme", "{reply}");
        assert_eq!(reply["callback_status"], 200, "{reply}");

        python.shutdown();
        let _ = backend.stop();
        drop(guard);

        let query = jaeger.query();
        let trace = eventually("Jaeger holds the five spans", Duration::from_secs(30), || {
            let trace = query.trace(&trace_id)?.ok_or("not stored yet")?;
            if trace.spans.len() >= 5 {
                Ok(trace)
            } else {
                Err(format!("{} spans", trace.spans.len()))
            }
        });
        assert_eq!(trace.spans.len(), 5, "{trace:#?}");
        // The chain, by service and kind.
        let find = |service: &str, kind: Option<&str>, name: &str| {
            trace
                .spans
                .iter()
                .find(|s| trace.service_of(s) == service && s.kind() == kind && s.operation == name)
                .unwrap_or_else(|| panic!("no {service} {kind:?} span {name}: {trace:#?}"))
        };
        let test = find(RUST, Some("internal"), "interop_test");
        let rust_call = find(RUST, Some("client"), "GET");
        let python_server = find(PYTHON, Some("server"), "GET /work");
        let python_call = find(PYTHON, Some("client"), "GET");
        let backend_server = find(BACKEND, Some("server"), "GET /health");
        assert!(test.parent_id().is_none(), "the test span is the root");
        for (parent, child) in [
            (test, rust_call),
            (rust_call, python_server),
            (python_server, python_call),
            (python_call, backend_server),
        ] {
            assert_eq!(child.parent_id(), Some(parent.span_id.as_str()), "{} -> {}", parent.operation, child.operation);
        }
        assert_eq!(
            python_server.tag("baggage.tenant").map(|t| t.value.clone()),
            Some(serde_json::json!("acme")),
            "the Python side saw our baggage"
        );
        let mut services: Vec<&str> = trace.spans.iter().map(|s| trace.service_of(s)).collect();
        services.sort();
        services.dedup();
        assert_eq!(services, [BACKEND, PYTHON, RUST]);
        figure(
            "Rust -> Python -> Rust",
            format!("one trace {trace_id} of 5 spans across {services:?}; baggage tenant=acme seen in Python"),
        );
    }
}
