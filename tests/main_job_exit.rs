//! The main job against a collector that accepts connections and never answers: it exits
//! within one shutdown bound (5 s), not one per flush and pipeline (it took 20 s).
//!
//! The wall time is measured here, on the whole process, not on any span.

mod support;

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_main_job_exits_within_the_shutdown_bound_when_the_collector_hangs() {
    let program = support::example("test_tracing");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts every connection and keeps it open, reading nothing, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.extend(stream.ok());
        }
    });
    let started = Instant::now();
    let output = Command::new(program)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("test_tracing runs");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // The bound, plus a debug build's start-up and the calls themselves.
    assert!(
        took < Duration::from_secs(5) + Duration::from_secs(3),
        "exit took {took:?}\n{stderr}"
    );
    assert!(
        stderr.contains("shutdown bound ran out"),
        "the loss is named:\n{stderr}"
    );
    assert!(
        stdout.contains("maximus-test-client: 9 spans recorded, 0 exported"),
        "{stdout}"
    );
}
