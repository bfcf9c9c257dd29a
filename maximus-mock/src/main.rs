//! `maximus-mock [--host HOST] [--port PORT] [--stream-events N] [--service-name NAME]`:
//! a mock MAXIMUS backend on the command line. Faults are injected at run time with
//! `POST /__mock/faults`. Its server spans are exported as a service of their own
//! (`maximus-core`), configured by the same variables as any maximus-trace program.

use std::process::ExitCode;

use maximus_mock::{MockMaximus, ServerTracing};
use maximus_trace::TracingManager;

const USAGE: &str = "\
usage: maximus-mock [--host HOST] [--port PORT] [--stream-events N] [--service-name NAME]

  --host HOST          address to listen on (default 127.0.0.1)
  --port PORT          port to listen on (default 8100; 0 picks a free one)
  --stream-events N    events per governance stream (default 3)
  --service-name NAME  service.name of the server spans (default $MAXIMUS_MOCK_SERVICE_NAME,
                       else maximus-core); where they go is set as for any maximus-trace
                       program (MAXIMUS_TRACE_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, ...)

SIGINT or SIGTERM stops it after exporting the spans it recorded.

admin routes (not recorded, never faulted):
  POST   /__mock/faults    {\"method\":\"GET\",\"path\":\"/health\",\"times\":2,
                            \"fault\":{\"kind\":\"status\",\"code\":503,\"retry_after\":1}}
                           kinds: status, latency{ms}, drop_connection, malformed_body,
                           out_of_range, slow_drip{chunk_interval_ms}, huge_body{bytes}
  DELETE /__mock/faults    remove every fault
  GET    /__mock/requests  the requests received; DELETE to forget them
  POST   /__mock/stream    {\"events\":5,\"interval_ms\":200}";

struct Options {
    host: String,
    port: u16,
    stream_events: Option<usize>,
    service_name: String,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        host: "127.0.0.1".to_owned(),
        port: 8100,
        stream_events: None,
        service_name: maximus_mock::service_name(),
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--host" => options.host = value()?,
            "--port" => {
                let port = value()?;
                options.port = port.parse().map_err(|_| format!("invalid port {port:?}"))?;
            }
            "--stream-events" => {
                let count = value()?;
                let count = count.parse().map_err(|_| format!("invalid count {count:?}"))?;
                options.stream_events = Some(count);
            }
            "--service-name" => options.service_name = value()?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

// Multi-threaded: an OTLP/gRPC exporter's channel is driven by this runtime while the
// main thread waits for the final export.
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("maximus-mock: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let guard = match TracingManager::builder()
        .service_name(options.service_name.as_str())
        .init()
    {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("maximus-mock: {error}");
            return ExitCode::from(2);
        }
    };
    let mock = match MockMaximus::builder()
        .tracing(ServerTracing::Global)
        .start_on((options.host.as_str(), options.port))
        .await
    {
        Ok(mock) => mock,
        Err(error) => {
            eprintln!(
                "maximus-mock: cannot listen on {}:{}: {error}",
                options.host, options.port
            );
            return ExitCode::FAILURE;
        }
    };
    if let Some(events) = options.stream_events {
        mock.set_stream_events(events);
    }
    println!("maximus-mock listening on {}", mock.url());
    stopped().await;
    mock.shutdown().await;
    // Exports what is left, within the shutdown bound.
    guard.shutdown();
    let stats = guard.stats();
    eprintln!(
        "maximus-mock: {} spans recorded, {} exported",
        stats.spans_ended, stats.spans_exported
    );
    drop(guard);
    ExitCode::SUCCESS
}

/// Waits for SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn stopped() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
