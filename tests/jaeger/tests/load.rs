//! Load and faults against the real thing: 10,000 spans over each exporter, all stored; and
//! Jaeger killed and restarted on the same ports in the middle of a run.
//!
//! Each test drives this process's global pipeline, so they take turns ([`pipeline_turn`]).

use std::time::{Duration, Instant};

use maximus_jaeger_suite::query::Search;
use maximus_jaeger_suite::{Exporter, Jaeger, eventually, figure, jaeger_test, pipeline_turn};
use maximus_trace::{Stats, TracingGuard, TracingManager, span};

jaeger_test! {
    fn ten_thousand_spans_over_otlp_http_are_all_stored() {
        ten_thousand_over(Exporter::OtlpHttp);
    }
}

jaeger_test! {
    fn ten_thousand_spans_over_otlp_grpc_are_all_stored() {
        ten_thousand_over(Exporter::OtlpGrpc);
    }
}

jaeger_test! {
    fn ten_thousand_spans_over_agent_udp_are_all_stored() {
        ten_thousand_over(Exporter::AgentUdp);
    }
}

jaeger_test! {
    fn ten_thousand_spans_over_zipkin_are_all_stored() {
        ten_thousand_over(Exporter::Zipkin);
    }
}

jaeger_test! {
    fn jaeger_restarted_under_otlp_http_loses_nothing_uncounted() {
        kill_and_restart(Exporter::OtlpHttp);
    }
}

jaeger_test! {
    fn jaeger_restarted_under_otlp_grpc_loses_nothing_uncounted() {
        kill_and_restart(Exporter::OtlpGrpc);
    }
}

jaeger_test! {
    fn jaeger_restarted_under_agent_udp_loses_nothing_uncounted() {
        kill_and_restart(Exporter::AgentUdp);
    }
}

jaeger_test! {
    fn jaeger_restarted_under_zipkin_loses_nothing_uncounted() {
        kill_and_restart(Exporter::Zipkin);
    }
}

/// Jaeger is killed (SIGKILL) after a first phase and restarted on the same ports after a
/// second: the application is never held, export resumes by itself, and every span is
/// either stored by one of the two Jaegers or counted as failed or dropped.
fn kill_and_restart(exporter: Exporter) {
    let _turn = pipeline_turn();
    let mut jaeger = Jaeger::start();
    let service = format!("restart-{}", exporter.slug());
    let service = service.as_str();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let guard = init(&jaeger, exporter, service, &runtime);
    let per_phase = 1_000;
    let first = burst(0, per_phase / 100);
    guard.force_flush().expect("the first phase is delivered");
    let stored_first = stored_spans(&jaeger, service, per_phase);

    jaeger.kill();
    let clock = Instant::now();
    let _ = burst(1, per_phase / 100);
    let made_while_down = clock.elapsed();
    // Failing to deliver is counted, not raised to the application, and bounded.
    let clock = Instant::now();
    let flushed = guard.force_flush();
    let flush_while_down = clock.elapsed();

    jaeger.restart();
    let _ = burst(2, per_phase / 100);
    let stats = shut_down(guard, &runtime);
    // Jaeger batches what it receives for up to 200 ms before storing it.
    let expected_second = stats.spans_exported.saturating_sub(stored_first);
    let stored_second = stored_spans(&jaeger, service, expected_second as usize);

    let made = 3 * per_phase as u64;
    assert_eq!(first.len(), per_phase / 100);
    assert_eq!(stats.spans_ended, made);
    assert_eq!(
        stats.spans_exported + stats.spans_failed + stats.spans_dropped_queue_full,
        made,
        "every span is exported, failed or dropped: {stats:?}"
    );
    assert_eq!(
        stored_first + stored_second,
        stats.spans_exported,
        "what was exported is what the two Jaegers stored: {stats:?}"
    );
    assert!(
        stats.spans_failed > 0,
        "spans made while Jaeger was down failed: {stats:?}"
    );
    assert!(
        stored_second >= per_phase as u64,
        "export resumed after the restart"
    );
    figure(
        &format!("kill and restart under {exporter}"),
        format!(
            "{made} spans: {stored_first} stored before the kill, {stored_second} after the restart, \
             {} failed, {} dropped; spans made while down in {made_while_down:.1?}, \
             force_flush while down returned {} in {flush_while_down:.1?}",
            stats.spans_failed,
            stats.spans_dropped_queue_full,
            if flushed.is_ok() { "Ok" } else { "an error" }
        ),
    );
}

/// 100 traces of a root and 99 children with three attributes each, made as fast as a
/// loop goes, then a clean exit (the guard dropped): Jaeger stores all 10,000.
fn ten_thousand_over(exporter: Exporter) {
    let _turn = pipeline_turn();
    let jaeger = Jaeger::start();
    let service = format!("load-{}", exporter.slug());
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let guard = init(&jaeger, exporter, &service, &runtime);
    let clock = Instant::now();
    let traces = burst(0, 100);
    let made_in = clock.elapsed();
    let clock = Instant::now();
    let stats = shut_down(guard, &runtime);
    let shutdown_took = clock.elapsed();
    assert_eq!(stats.spans_ended, 10_000);
    assert_eq!(stats.spans_exported, 10_000, "{stats:?}");
    let query = jaeger.query();
    let stored = eventually("Jaeger stores all 10,000 spans", Duration::from_secs(60), || {
        let mut stored = 0;
        let mut missing = Vec::new();
        for id in &traces {
            match query.trace(id)? {
                Some(trace) => stored += trace.spans.len(),
                None => missing.push(id),
            }
        }
        if stored == 10_000 {
            Ok(stored)
        } else {
            Err(format!("{stored} stored, {} traces missing", missing.len()))
        }
    });
    figure(
        &format!("10,000 spans over {exporter}"),
        format!(
            "{stored} stored of {} exported; made in {made_in:.1?}, shutdown (export of the rest) {shutdown_took:.1?}; \
             trimmed {}, too large {}",
            stats.spans_exported, stats.spans_trimmed, stats.spans_dropped_too_large
        ),
    );
}

/// `traces` traces of a root and 99 children, three attributes each; their trace ids.
fn burst(phase: u32, traces: usize) -> Vec<String> {
    (0..traces)
        .map(|t| {
            let root = span!("load.root", phase = phase as i64, trace = t as i64, kind = "root");
            for child in 0..99 {
                let _child = span!(
                    "load.child",
                    phase = phase as i64,
                    index = child as i64,
                    kind = "child"
                );
            }
            root.trace_id().expect("a sampled root has a trace id")
        })
        .collect()
}

fn init(
    jaeger: &Jaeger,
    exporter: Exporter,
    service: &str,
    runtime: &tokio::runtime::Runtime,
) -> TracingGuard {
    // The gRPC channel lives on a runtime, which must outlive the guard.
    let _entered = runtime.enter();
    TracingManager::builder()
        .service_name(service)
        .environment(jaeger.lookup(exporter))
        .init()
        .expect("tracing starts")
}

/// Shuts the pipeline down (what dropping the guard does) and returns its final counts.
fn shut_down(guard: TracingGuard, runtime: &tokio::runtime::Runtime) -> Stats {
    let _entered = runtime.enter();
    guard.shutdown();
    let stats = guard.stats();
    drop(guard);
    stats
}

/// Waits until Jaeger holds at least `spans` spans of `service`; returns the count.
fn stored_spans(jaeger: &Jaeger, service: &str, spans: usize) -> u64 {
    let query = jaeger.query();
    eventually(
        "Jaeger stores the spans exported",
        Duration::from_secs(30),
        || {
            let stored: usize = query
                .search(&Search::service(service))?
                .iter()
                .map(|t| t.spans.len())
                .sum();
            if stored >= spans {
                Ok(stored as u64)
            } else {
                Err(format!("{stored} of {spans}"))
            }
        },
    )
}
