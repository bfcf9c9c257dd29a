//! Every endpoint of `MaximusClient` against `maximus-mock` on loopback: the endpoint span,
//! its `api_request` client span, and the server's span in the same trace.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use maximus_client::MaximusClient;
use maximus_mock::MockMaximus;
use opentelemetry::Value as V;
use opentelemetry::trace::SpanKind;
use serde_json::json;
use support::{attr, children, is_child_of, is_root, named, one, traced};

async fn client_for(mock: &MockMaximus) -> MaximusClient {
    support::client_builder(mock.url())
        .retry_backoff(Duration::from_millis(10))
        .build()
        .expect("client")
}

/// Checks the shape every call must have: endpoint span (root) -> api_request (client) ->
/// server span, and the api_request attributes with their types.
fn assert_call_tree(spans: &[opentelemetry_sdk::trace::SpanData], endpoint: &str, method: &str, route: &str) {
    let endpoint_span = named(spans, endpoint)
        .into_iter()
        .find(|s| is_root(s))
        .unwrap_or_else(|| panic!("no root span {endpoint}"));
    let requests = children(spans, endpoint_span);
    assert_eq!(requests.len(), 1, "{endpoint} should have one api_request child");
    let request = requests[0];
    assert_eq!(request.name, "api_request");
    assert_eq!(request.span_kind, SpanKind::Client);
    assert_eq!(attr(request, "http.method"), Some(&V::from(method.to_owned())));
    assert_eq!(attr(request, "service.name"), Some(&V::from("MaximusClient")));
    assert_eq!(attr(request, "http.status_code"), Some(&V::I64(200)));
    assert_eq!(attr(request, "retry.attempt"), Some(&V::I64(1)));
    assert!(matches!(attr(request, "http.response_time_ms"), Some(V::F64(ms)) if *ms >= 0.0));
    let url = attr(request, "http.url").expect("http.url").to_string();
    let literal_prefix = route.split('{').next().unwrap_or(route);
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains(literal_prefix),
        "{url}"
    );
    // Several calls may share a route (approve, reject, escalate): the one under this request.
    let servers = children(spans, request);
    assert_eq!(servers.len(), 1, "one server span under the api_request span");
    assert_eq!(servers[0].name, format!("{method} {route}"));
    assert_eq!(servers[0].span_kind, SpanKind::Server);
}

#[test]
fn health_is_traced_with_client_and_server_spans() {
    let (result, spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        client_for(&mock).await.health().await
    });
    assert_eq!(result.unwrap().status, "healthy");
    assert_call_tree(&spans, "health", "GET", "/health");
}

#[test]
fn the_base_urls_query_is_sent_on_every_call_before_the_calls_own() {
    let (received, _spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        let client = support::client_builder(format!("{}?tenant=t1&gateway_key=k", mock.url()))
            .build()
            .expect("client");
        client.health().await.expect("health");
        client
            .consciousness()
            .get_esgt_events(5)
            .await
            .expect("esgt events");
        mock.requests()
    });
    let queries: Vec<_> = received
        .iter()
        .map(|r| (r.path.as_str(), r.query.as_deref()))
        .collect();
    assert_eq!(
        queries,
        [
            ("/health", Some("tenant=t1&gateway_key=k")),
            (
                "/api/consciousness/esgt/events",
                Some("tenant=t1&gateway_key=k&limit=5")
            ),
        ]
    );
}

#[test]
fn query_is_traced() {
    let (result, spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        client_for(&mock)
            .await
            .query("Hello MAXIMUS", Some(json!({"user": "t"})), 100)
            .await
    });
    let answer = result.unwrap();
    assert!((0.0..=1.0).contains(&answer.confidence_score));
    assert_call_tree(&spans, "query", "POST", "/query");
}

#[test]
fn every_consciousness_endpoint_is_traced() {
    let (results, spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        let client = client_for(&mock).await;
        let c = client.consciousness();
        vec![
            c.get_state().await.map(|_| ()),
            c.get_arousal().await.map(|_| ()),
            c.adjust_arousal(0.4)
                .await
                .map(|a| assert!((a.arousal - 0.4).abs() < 0.2)),
            c.get_safety_status().await.map(|_| ()),
            c.trigger_esgt("attention_shift", json!({"k": 1}))
                .await
                .map(|_| ()),
            c.get_esgt_events(5).await.map(|e| assert!(e.events.len() <= 5)),
            c.get_metrics().await.map(|_| ()),
            c.emergency_shutdown("test").await.map(|_| ()),
        ]
    });
    for r in results {
        r.unwrap();
    }
    assert_call_tree(&spans, "get_state", "GET", "/api/consciousness/state");
    assert_call_tree(&spans, "get_arousal", "GET", "/api/consciousness/arousal");
    assert_call_tree(
        &spans,
        "adjust_arousal",
        "POST",
        "/api/consciousness/arousal/adjust",
    );
    assert_call_tree(
        &spans,
        "get_safety_status",
        "GET",
        "/api/consciousness/safety/status",
    );
    assert_call_tree(&spans, "trigger_esgt", "POST", "/api/consciousness/esgt/trigger");
    assert_call_tree(&spans, "get_esgt_events", "GET", "/api/consciousness/esgt/events");
    assert_call_tree(&spans, "get_metrics", "GET", "/api/consciousness/metrics");
    assert_call_tree(
        &spans,
        "emergency_shutdown",
        "POST",
        "/api/consciousness/safety/emergency-shutdown",
    );
    let adjust = one(&spans, "adjust_arousal");
    assert_eq!(attr(adjust, "target_level"), Some(&V::F64(0.4)));
}

#[test]
fn every_governance_endpoint_is_traced() {
    let (results, spans) = traced(|| async {
        let mock = MockMaximus::start().await.unwrap();
        let client = client_for(&mock).await;
        let g = client.governance();
        let pending = g.get_pending(None).await.unwrap();
        let ids: Vec<String> = pending.decisions.iter().map(|d| d.decision_id.clone()).collect();
        assert!(ids.len() >= 3, "the mock seeds pending decisions");
        let session = g
            .create_session("op-1", Some("Ada"), Some("admin"))
            .await
            .unwrap();
        vec![
            g.get_decision(&ids[0]).await.map(|_| ()),
            g.approve(&ids[0], "op-1", "looks right")
                .await
                .map(|r| assert_eq!(r.status, "approved")),
            g.reject(&ids[1], "op-1", "too risky").await.map(|_| ()),
            g.escalate(&ids[2], "op-1", "needs a human").await.map(|_| ()),
            g.get_session_stats("op-1")
                .await
                .map(|s| assert_eq!(s.total_decisions, 3)),
            g.get_pending(Some("op-1")).await.map(|_| ()),
            async {
                let mut stream = g.stream_events("op-1", &session.session_id).await?;
                let mut n = 0;
                while let Some(event) = stream.next().await {
                    assert_eq!(event?.event_type, "decision_pending");
                    n += 1;
                }
                assert_eq!(n, 3);
                Ok(())
            }
            .await,
        ]
    });
    for r in results {
        r.unwrap();
    }
    assert_call_tree(
        &spans,
        "create_session",
        "POST",
        "/api/v1/governance/session/create",
    );
    assert_call_tree(
        &spans,
        "get_session_stats",
        "GET",
        "/api/v1/governance/session/{operator_id}/stats",
    );
    assert_call_tree(
        &spans,
        "approve",
        "POST",
        "/api/v1/governance/decision/{id}/{action}",
    );
    let stream_span = one(&spans, "stream_events");
    let request = children(&spans, stream_span)[0];
    let messages = request.events.iter().filter(|e| e.name == "message").count();
    assert_eq!(messages, 3, "one span event per streamed message");
}

#[test]
fn blocking_client_is_traced_the_same_way() {
    let _lock = support::exclusive();
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let guard = maximus_trace::TracingManager::builder()
        .environment(|_| None)
        .span_exporter(exporter.clone())
        .init()
        .unwrap();
    let mock = MockMaximus::start_blocking().unwrap();
    let client = maximus_client::blocking::MaximusClient::builder()
        .base_url(mock.url())
        .environment(|_| None)
        .build()
        .unwrap();
    {
        let _outer = maximus_trace::span!("sync_caller");
        assert_eq!(client.health().unwrap().status, "healthy");
        assert!(
            client
                .consciousness()
                .get_state()
                .unwrap()
                .tig_metrics
                .node_count()
                .unwrap_or(0)
                > 0
        );
    }
    guard.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    drop(guard);
    let caller = one(&spans, "sync_caller");
    assert!(is_child_of(one(&spans, "health"), caller));
    assert!(is_child_of(one(&spans, "get_state"), caller));
}

#[test]
fn stable_http_names_follow_otel_semconv_stability_opt_in() {
    let names = |opt_in: &'static str| {
        let (_, spans) = traced(|| async move {
            let mock = MockMaximus::start().await.unwrap();
            let client = MaximusClient::builder()
                .base_url(mock.url())
                .environment(move |k| (k == "OTEL_SEMCONV_STABILITY_OPT_IN").then(|| opt_in.to_owned()))
                .build()
                .unwrap();
            client.health().await.unwrap();
        });
        let request = one(&spans, "api_request").clone();
        let mut keys: Vec<String> = request.attributes.iter().map(|kv| kv.key.to_string()).collect();
        keys.retain(|k| k.starts_with("http.") || k.starts_with("url."));
        keys.sort();
        keys
    };
    let legacy = [
        "http.method",
        "http.response_time_ms",
        "http.status_code",
        "http.url",
    ];
    let stable = [
        "http.request.method",
        "http.response.status_code",
        "http.response_time_ms",
        "url.full",
    ];
    assert_eq!(names(""), legacy);
    assert_eq!(names("http"), stable);
    let both = names("http/dup");
    assert!(
        legacy
            .iter()
            .chain(stable.iter())
            .all(|k| both.iter().any(|b| b == k)),
        "{both:?}"
    );
}

/// With the stable names the `api_request` span is maximus-trace's client span, which also
/// names the server (`server.address`, `server.port`: required by the stable conventions);
/// the old names have no such attributes, and none are added.
#[test]
fn stable_http_names_add_the_servers_address_and_port() {
    let peer = |opt_in: &'static str| {
        let (port, spans) = traced(|| async move {
            let mock = MockMaximus::start().await.unwrap();
            let client = MaximusClient::builder()
                .base_url(mock.url())
                .environment(move |k| (k == "OTEL_SEMCONV_STABILITY_OPT_IN").then(|| opt_in.to_owned()))
                .build()
                .unwrap();
            client.health().await.unwrap();
            let url = mock.url();
            url.trim_end_matches('/')
                .rsplit(':')
                .next()
                .unwrap()
                .parse::<u16>()
                .unwrap()
        });
        let request = one(&spans, "api_request").clone();
        let address = attr(&request, "server.address").cloned();
        let found_port = attr(&request, "server.port").cloned();
        (port, address, found_port)
    };
    let (port, address, found_port) = peer("http");
    assert_eq!(address, Some(V::from("127.0.0.1")));
    assert_eq!(found_port, Some(V::I64(i64::from(port))));
    let (_, address, found_port) = peer("");
    assert_eq!((address, found_port), (None, None));
}
