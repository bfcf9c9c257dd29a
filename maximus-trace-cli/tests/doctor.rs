//! `maximus-trace doctor`, the real binary, against real local receivers: the OTLP/HTTP
//! receiver and the UDP agent of the library's tests, and a fake of Jaeger's query API that
//! answers with the trace ids those receivers saw.

#[path = "../../maximus-trace/tests/support/fake_agent.rs"]
mod fake_agent;
#[path = "support/fake_jaeger.rs"]
mod fake_jaeger;
#[path = "../../maximus-trace/tests/support/otlp_receiver.rs"]
mod otlp_receiver;

use std::net::{TcpListener, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_agent::FakeAgent;
use fake_jaeger::{FakeJaeger, Mode, Seen};
use otlp_receiver::OtlpReceiver;

struct Run {
    code: i32,
    output: String,
}

impl Run {
    fn has(&self, text: &str) -> bool {
        self.output.contains(text)
    }
}

/// Runs `maximus-trace doctor ARGS` with only `env` as its environment.
fn doctor(env: &[(&str, String)], args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_maximus-trace"))
        .arg("doctor")
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run the doctor");
    Run {
        code: output.status.code().unwrap_or(-1),
        output: String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    }
}

fn otlp_env(service: &str, receiver: &OtlpReceiver) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_SERVICE_NAME", service.to_owned()),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint()),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The trace ids the OTLP receiver has seen.
fn seen_by(receiver: &Arc<OtlpReceiver>) -> Seen {
    let receiver = Arc::clone(receiver);
    Arc::new(move || {
        receiver
            .requests()
            .iter()
            .flat_map(|r| r.spans().map(|s| hex(&s.trace_id)).collect::<Vec<_>>())
            .collect()
    })
}

/// The trace ids the fake agent has seen.
fn seen_by_agent(agent: &Arc<FakeAgent>) -> Seen {
    let agent = Arc::clone(agent);
    Arc::new(move || {
        agent
            .wait_for_spans(0, Duration::ZERO)
            .iter()
            .flat_map(|b| &b.spans)
            .map(|s| format!("{:016x}{:016x}", s.trace_id_high as u64, s.trace_id_low as u64))
            .collect()
    })
}

/// A loopback port that nothing listens on.
fn closed_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn otlp_trace_is_confirmed_through_jaegers_v3_api() {
    let receiver = Arc::new(OtlpReceiver::start());
    let jaeger = FakeJaeger::start(Mode::V3, seen_by(&receiver));
    let run = doctor(
        &otlp_env("doctor-v3", &receiver),
        &["--jaeger-ui", &jaeger.url(), "--timeout", "10"],
    );
    assert_eq!(run.code, 0, "{}", run.output);
    for step in [
        "[ OK ] configuration",
        "[ OK ] DNS",
        "[ OK ] TCP connect",
        "[ OK ] test trace",
    ] {
        assert!(run.has(step), "missing {step:?} in\n{}", run.output);
    }
    assert!(
        run.has("[ OK ] Jaeger query") && run.has("/api/v3/traces"),
        "{}",
        run.output
    );
    let spans = receiver.wait_for_spans(1, Duration::from_secs(5));
    assert!(spans.iter().any(|s| s.name.starts_with("maximus-trace doctor ")));
    let asked = jaeger.requests();
    assert!(
        asked.iter().any(|p| p.starts_with("/api/v3/traces?")
            && p.contains("query.service_name=doctor-v3")
            && p.contains("query.start_time_min=")
            && p.contains("query.start_time_max=")
            && p.contains("query.num_traces=")),
        "{asked:?}"
    );
}

#[test]
fn older_jaeger_is_asked_through_the_legacy_api() {
    let receiver = Arc::new(OtlpReceiver::start());
    let jaeger = FakeJaeger::start(Mode::LegacyOnly, seen_by(&receiver));
    let run = doctor(
        &otlp_env("doctor-legacy", &receiver),
        &["--jaeger-ui", &jaeger.url(), "--timeout", "10"],
    );
    assert_eq!(run.code, 0, "{}", run.output);
    assert!(run.has("found through /api/traces"), "{}", run.output);
    assert!(
        jaeger
            .requests()
            .iter()
            .any(|p| p.starts_with("/api/traces?service=doctor-legacy")),
        "{:?}",
        jaeger.requests()
    );
}

#[test]
fn a_trace_that_never_appears_fails_after_the_timeout_with_a_fix() {
    let receiver = Arc::new(OtlpReceiver::start());
    let jaeger = FakeJaeger::start(Mode::Never, seen_by(&receiver));
    let started = Instant::now();
    let run = doctor(
        &otlp_env("doctor-never", &receiver),
        &["--jaeger-ui", &jaeger.url(), "--timeout", "1.5"],
    );
    assert_eq!(run.code, 1, "{}", run.output);
    assert!(started.elapsed() >= Duration::from_millis(1_500));
    assert!(run.has("[ OK ] test trace"), "{}", run.output);
    assert!(
        run.has("[FAIL] Jaeger query") && run.has("did not appear"),
        "{}",
        run.output
    );
    assert!(run.has("fix:") && run.has("--timeout"), "{}", run.output);
}

#[test]
fn an_unresolvable_host_fails_the_dns_step() {
    // A label longer than DNS allows fails inside the resolver: no query leaves the machine.
    let host = format!("{}.invalid", "doctor-test-".repeat(6));
    let env = [
        ("OTEL_SERVICE_NAME", "doctor-dns".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{host}:4318")),
    ];
    let run = doctor(&env, &[]);
    assert_eq!(run.code, 1, "{}", run.output);
    assert!(run.has("[FAIL] DNS") && run.has(&host), "{}", run.output);
    assert!(
        run.has("fix: check the host name in OTEL_EXPORTER_OTLP_ENDPOINT"),
        "{}",
        run.output
    );
    assert!(run.has("[SKIP] test trace"), "{}", run.output);
}

#[test]
fn a_closed_port_fails_the_connection_step() {
    let port = closed_tcp_port();
    let env = [(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        format!("http://127.0.0.1:{port}/v1/traces"),
    )];
    let run = doctor(&env, &[]);
    assert_eq!(run.code, 1, "{}", run.output);
    assert!(run.has("[ OK ] DNS"), "{}", run.output);
    assert!(
        run.has("[FAIL] TCP connect") && run.has("connection refused"),
        "{}",
        run.output
    );
    assert!(run.has("docker run") && run.has("-p 4318:4318"), "{}", run.output);
}

#[test]
fn without_jaeger_ui_the_trace_is_sent_but_not_confirmed() {
    let receiver = OtlpReceiver::start();
    let run = doctor(&otlp_env("doctor-unconfirmed", &receiver), &[]);
    assert_eq!(run.code, 3, "{}", run.output);
    assert!(run.has("[ OK ] test trace"), "{}", run.output);
    assert!(
        run.has("[SKIP] Jaeger query") && run.has("--jaeger-ui http://localhost:16686"),
        "{}",
        run.output
    );
    assert!(run.has("NOT CONFIRMED"), "{}", run.output);
}

#[test]
fn a_collector_that_rejects_the_export_fails_the_send_step() {
    // A port that accepts connections but speaks no HTTP: the export fails after connecting.
    let silent = OtlpReceiver::silent();
    let env = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", silent.endpoint()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "500".to_owned()),
    ];
    let run = doctor(&env, &[]);
    assert_eq!(run.code, 1, "{}", run.output);
    assert!(run.has("[ OK ] TCP connect"), "{}", run.output);
    assert!(run.has("[FAIL] test trace"), "{}", run.output);
    assert!(
        run.has("/v1/traces"),
        "the fix names the OTLP path: {}",
        run.output
    );
}

#[test]
fn jaeger_agent_over_udp_is_probed_and_confirmed() {
    let agent = Arc::new(FakeAgent::start());
    let jaeger = FakeJaeger::start(Mode::V3, seen_by_agent(&agent));
    let env = [
        ("OTEL_SERVICE_NAME", "doctor-udp".to_owned()),
        ("MAXIMUS_TRACE_EXPORTER", "jaeger".to_owned()),
        ("JAEGER_AGENT_HOST", "127.0.0.1".to_owned()),
        ("JAEGER_AGENT_PORT", agent.port.to_string()),
    ];
    let run = doctor(&env, &["--jaeger-ui", &jaeger.url(), "--timeout", "10"]);
    assert_eq!(run.code, 0, "{}", run.output);
    assert!(
        run.has("[ OK ] UDP send") && run.has("cannot be confirmed here"),
        "{}",
        run.output
    );
    assert!(run.has("sent as a UDP datagram"), "{}", run.output);
    assert!(run.has("[ OK ] Jaeger query"), "{}", run.output);
}

#[test]
fn a_udp_port_with_nothing_listening_fails_the_udp_step() {
    let port = {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    let env = [
        ("MAXIMUS_TRACE_EXPORTER", "jaeger".to_owned()),
        ("JAEGER_AGENT_HOST", "127.0.0.1".to_owned()),
        ("JAEGER_AGENT_PORT", port.to_string()),
    ];
    let run = doctor(&env, &[]);
    assert_eq!(run.code, 1, "{}", run.output);
    assert!(run.has("[FAIL] UDP send") && run.has("refused"), "{}", run.output);
    assert!(run.has("-p 6831:6831/udp"), "{}", run.output);
}

#[test]
fn an_unreachable_jaeger_ui_fails_fast() {
    let receiver = OtlpReceiver::start();
    let ui = format!("http://127.0.0.1:{}", closed_tcp_port());
    let started = Instant::now();
    let run = doctor(
        &otlp_env("doctor-no-ui", &receiver),
        &["--jaeger-ui", &ui, "--timeout", "20"],
    );
    assert_eq!(run.code, 1, "{}", run.output);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "it waited for the whole timeout"
    );
    assert!(
        run.has("[FAIL] Jaeger query") && run.has("16686"),
        "{}",
        run.output
    );
}

#[test]
fn a_bad_variable_fails_the_configuration_step_and_names_it() {
    let run = doctor(&[("MAXIMUS_TRACE_EXPORTER", "kafka".to_owned())], &[]);
    assert_eq!(run.code, 1, "{}", run.output);
    assert!(
        run.has("[FAIL] configuration") && run.has("MAXIMUS_TRACE_EXPORTER"),
        "{}",
        run.output
    );
    assert!(!run.has("[ OK ] DNS"), "{}", run.output);
}

#[test]
fn exporters_that_send_nowhere_fail_with_a_fix() {
    let run = doctor(&[("MAXIMUS_TRACE_EXPORTER", "console".to_owned())], &[]);
    assert_eq!(run.code, 1, "{}", run.output);
    assert!(run.has("MAXIMUS_TRACE_EXPORTER=otlp"), "{}", run.output);
}

#[test]
fn switched_off_tracing_is_reported_but_the_checks_still_run() {
    let receiver = OtlpReceiver::start();
    let mut env = otlp_env("doctor-off", &receiver);
    env.push(("MAXIMUS_TRACING_ENABLED", "false".to_owned()));
    let run = doctor(&env, &[]);
    assert_eq!(run.code, 1, "{}", run.output);
    assert!(run.has("tracing is switched off"), "{}", run.output);
    assert!(run.has("[ OK ] test trace"), "{}", run.output);
}

#[test]
fn bad_usage_exits_2_with_the_usage_text() {
    let output = Command::new(env!("CARGO_BIN_EXE_maximus-trace"))
        .args(["doctor", "--timeout", "never"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--timeout") && stderr.contains("Usage: maximus-trace doctor"),
        "{stderr}"
    );
}
