//! Trace ids in log lines, for programs that log with `log` and for those that log with
//! `tracing`: every line written inside a span carries its `trace_id` and `span_id`, and
//! warnings also appear inside the span in Jaeger. Paste a `trace_id` into Jaeger's search box
//! (http://localhost:16686) to open the trace a log line belongs to.
//!
//! ```text
//! cargo run --example log_correlation --features log,tracing
//! ```

use std::io::Write;

use maximus_trace::logs::TraceContextLogger;
use maximus_trace::tracing_layer::{SpanEventLayer, TraceIdFormat};
use maximus_trace::{Exporter, TraceIds, TracingManager, span};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `log`: wrap any backend. The ids arrive as key-values; this format places them.
    let env_logger = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            let ids = TraceIds::from_record(record);
            writeln!(buf, "[log]     {:<5} {ids} {}", record.level(), record.args())
        })
        .build();
    let max_level = env_logger.filter();
    TraceContextLogger::new(env_logger)
        .record_as_events(log::Level::Warn)
        .install(max_level)?;

    // `tracing`: the fmt layer with the ids on each line (`fmt_layer()` is the default format;
    // `TraceIdFormat` wraps any other), and warnings as span events.
    let format = tracing_subscriber::fmt::format()
        .without_time()
        .with_target(false);
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().event_format(TraceIdFormat::new(format)))
        .with(SpanEventLayer::new(tracing::Level::WARN))
        .try_init()?;

    // The console exporter prints each trace as a tree: the warnings show up as its events.
    let guard = TracingManager::builder()
        .default_service_name("log-correlation-example")
        .exporter(Exporter::Console)
        .init()?;

    log::info!("outside any span: no ids");
    {
        let _span = span!("checkout", cart.items = 3);
        log::info!("starting checkout");
        tracing::info!(cart.items = 3, "the same, through tracing");
        {
            let _inner = span!("reserve_stock");
            log::warn!(item = 42; "stock is low");
            tracing::warn!(item = 42, "stock is low (tracing)");
        }
    }
    guard.force_flush()?;
    println!("Paste a trace_id into Jaeger's search box (http://localhost:16686) to open its trace.");
    Ok(())
}
