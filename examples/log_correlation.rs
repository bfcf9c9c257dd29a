//! Trace ids in log lines: every record logged inside a span carries `trace_id` and
//! `span_id`, so a log line leads to its trace in Jaeger (search by trace id).
//!
//! ```text
//! cargo run --example log_correlation
//! ```

use std::io::Write;

use maximus_trace::{Exporter, TracingManager, span};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any `log` backend can add the ids; here env_logger's format does.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            let trace = maximus_trace::current_trace_id().unwrap_or_else(|| "-".into());
            let span = maximus_trace::current_span_id().unwrap_or_else(|| "-".into());
            writeln!(
                buf,
                "{} trace_id={trace} span_id={span} {}",
                record.level(),
                record.args()
            )
        })
        .init();
    let guard = TracingManager::builder()
        .default_service_name("log-correlation-example")
        .exporter(Exporter::Console)
        .init()?;
    log::info!("outside any span: no ids");
    {
        let _span = span!("checkout", cart.items = 3);
        log::info!("starting checkout");
        {
            let _inner = span!("reserve_stock");
            log::warn!("stock is low for item 42");
        }
    }
    guard.force_flush()?;
    println!("Paste a trace_id into Jaeger's search box (http://localhost:16686) to open its trace.");
    Ok(())
}
