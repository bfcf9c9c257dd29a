//! The main job: the design notes' test script in Rust.
//!
//! Three traced tests against MAXIMUS (`health_check_test`, `consciousness_test`,
//! `query_test`), each with its endpoint and `api_request` spans — and, when the in-process
//! `maximus-mock` answers, the server's spans in the same trace. The traces go to the
//! configured exporter (OTLP to `localhost:4318` unless the environment says otherwise) and
//! are printed here as trees.
//!
//! ```text
//! cargo run --example test_tracing                       # nothing else needed
//! MAXIMUS_CORE_URL=http://localhost:8100 cargo run --example test_tracing
//! MAXIMUS_TRACE_EXPORTER=jaeger cargo run --example test_tracing
//! ```

use std::error::Error;
use std::sync::Arc;

use maximus_client::MaximusClient;
use maximus_mock::{MockMaximus, ServerTracing};
use maximus_trace::{FutureExt, TracingManager};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let guard = TracingManager::builder()
        .default_service_name("maximus-test-client")
        .print_traces(true)
        .span_metrics(true)
        .init()?;

    // With no MAXIMUS_CORE_URL, start the stand-in server here so the run needs nothing else.
    // It reports as a service of its own (`maximus-core`), as the real backend does.
    let (base_url, backend) = match std::env::var("MAXIMUS_CORE_URL") {
        Ok(url) if !url.trim().is_empty() => (url, None),
        _ => {
            let tracing = Arc::new(
                TracingManager::builder()
                    .service_name(maximus_mock::service_name())
                    .print_traces(true)
                    .build()?,
            );
            let mock = MockMaximus::builder()
                .tracing(ServerTracing::Manager(Arc::clone(&tracing)))
                .start()
                .await?;
            println!(
                "MAXIMUS_CORE_URL is not set: started maximus-mock in-process at {}",
                mock.url()
            );
            (mock.url(), Some((mock, tracing)))
        }
    };
    let client = MaximusClient::builder().base_url(&base_url).build()?;
    let tracing = guard.manager();
    let mut trace_ids = Vec::new();

    println!("\n1. health_check_test");
    let span = tracing.start_span("health_check_test", [("test", "1")]);
    trace_ids.extend(span.trace_id());
    // The endpoint's span joins the span its future is polled in.
    match client.health().in_span(span).await {
        Ok(health) => println!("   status: {}", health.status),
        Err(e) => println!("   failed: {e}"),
    }

    println!("2. consciousness_test");
    let span = tracing.start_span("consciousness_test", [("test", "2")]);
    trace_ids.extend(span.trace_id());
    match client.consciousness().get_state().in_span(span).await {
        Ok(state) => println!(
            "   arousal {:.2} ({}), {} TIG nodes, health {}",
            state.arousal_level,
            state.arousal_classification,
            state
                .tig_metrics
                .node_count()
                .map_or_else(|| "?".to_owned(), |n| n.to_string()),
            state.system_health
        ),
        Err(e) => println!("   failed: {e}"),
    }

    println!("3. query_test");
    let span = tracing.start_span("query_test", [("test", "3")]);
    trace_ids.extend(span.trace_id());
    match client.query("Hello MAXIMUS", None, 1000).in_span(span).await {
        Ok(answer) => println!(
            "   confidence {:.2}: {}",
            answer.confidence_score,
            first_words(&answer.final_response)
        ),
        Err(e) => println!("   failed: {e}"),
    }

    println!("\nTrace trees:");
    // The backend's spans first, so its server spans join the client's trees as they print.
    // Its flush gets a moment alone; a collector that hangs does not get both flush bounds
    // in a row. An unreachable collector is reported below, not treated as this program's
    // failure.
    let mut pipelines = vec![tracing];
    std::thread::scope(|scope| {
        if let Some((_, backend)) = &backend {
            pipelines.push(&**backend);
            let (done, flushed) = std::sync::mpsc::channel();
            scope.spawn(move || {
                if let Err(e) = backend.force_flush() {
                    log::debug!("{e}");
                }
                let _ = done.send(());
            });
            let _ = flushed.recv_timeout(std::time::Duration::from_millis(200));
        }
        if let Err(e) = guard.force_flush() {
            log::debug!("{e}");
        }
    });
    report(&pipelines, &trace_ids);
    // Rate, errors and latency per span name, computed from the spans above.
    println!("\n{}", guard.metrics_snapshot());
    drop(guard);
    Ok(())
}

fn first_words(text: &str) -> String {
    text.split_whitespace().take(12).collect::<Vec<_>>().join(" ") + " ..."
}

/// Says where the traces went and how to find them.
fn report(pipelines: &[&TracingManager], trace_ids: &[String]) {
    let mut accepted = false;
    let mut failed = false;
    for pipeline in pipelines {
        let stats = pipeline.stats();
        println!(
            "{}: {} spans recorded, {} exported.",
            pipeline.service_name().unwrap_or("unknown_service"),
            stats.spans_ended,
            stats.spans_exported
        );
        accepted |= stats.spans_exported > 0;
        failed |= stats.export_errors > 0;
    }
    let ui = std::env::var("JAEGER_UI_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "http://localhost:16686".to_owned());
    let ui = ui.trim_end_matches('/');
    if accepted {
        println!("In Jaeger:");
        for id in trace_ids {
            println!("  {ui}/trace/{id}");
        }
    }
    if failed {
        println!(
            "The collector did not accept them (see the warning above). To see the traces in Jaeger:\n  \
             scripts/jaeger run     (or: docker run --rm -p 16686:16686 -p 4317:4317 -p 4318:4318 -p 6831:6831/udp jaegertracing/jaeger:latest)\n  \
             then run this example again."
        );
    }
    let service = pipelines
        .first()
        .and_then(|p| p.service_name())
        .unwrap_or("maximus-test-client");
    println!("Open {ui} and search for service \"{service}\".");
}
