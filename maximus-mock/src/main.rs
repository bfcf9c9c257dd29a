//! `maximus-mock [--host HOST] [--port PORT] [--stream-events N]`: a mock
//! MAXIMUS backend on the command line. Faults are injected at run time with
//! `POST /__mock/faults`.

use std::process::ExitCode;

use maximus_mock::MockMaximus;

const USAGE: &str = "\
usage: maximus-mock [--host HOST] [--port PORT] [--stream-events N]

  --host HOST          address to listen on (default 127.0.0.1)
  --port PORT          port to listen on (default 8100; 0 picks a free one)
  --stream-events N    events per governance stream (default 3)

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
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        host: "127.0.0.1".to_owned(),
        port: 8100,
        stream_events: None,
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
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
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
    let mock = match MockMaximus::start_on((options.host.as_str(), options.port)).await {
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
    // Serve until the process is interrupted.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
