//! `maximus-trace doctor --jaeger-ui` against a real Jaeger, once per exporter: every step OK
//! and exit 0 while Jaeger runs; exit 1 with the FAIL on the right step once it is stopped.

use std::process::Output;
use std::time::Duration;

use maximus_jaeger_suite::process::output_within;
use maximus_jaeger_suite::programs::{command, programs};
use maximus_jaeger_suite::{Exporter, Jaeger, figure, jaeger_test};

jaeger_test! {
    fn doctor_over_otlp_http() {
        doctor_against(Exporter::OtlpHttp);
    }
}

jaeger_test! {
    fn doctor_over_otlp_grpc() {
        doctor_against(Exporter::OtlpGrpc);
    }
}

jaeger_test! {
    fn doctor_over_agent_udp() {
        doctor_against(Exporter::AgentUdp);
    }
}

jaeger_test! {
    fn doctor_over_zipkin() {
        doctor_against(Exporter::Zipkin);
    }
}

struct Run {
    code: i32,
    output: String,
}

impl Run {
    /// The line of step `name`, e.g. `[ OK ] TCP connect ...`.
    fn step(&self, name: &str) -> Option<&str> {
        self.output
            .lines()
            .find(|line| line.get(7..).is_some_and(|rest| rest.starts_with(name)))
    }
}

fn doctor(jaeger: &Jaeger, exporter: Exporter, service: &str) -> Run {
    let mut vars = jaeger.env(exporter);
    vars.push(("OTEL_SERVICE_NAME", service.to_owned()));
    let ui = jaeger.query_url();
    let mut doctor = command(&programs().cli, &vars);
    doctor.args(["doctor", "--jaeger-ui", &ui, "--timeout", "20"]);
    // Each step has its own 20 s bound; the whole run gets a bound of its own.
    let Output {
        status,
        stdout,
        stderr,
    } = output_within(&mut doctor, Duration::from_secs(120), "maximus-trace doctor")
        .unwrap_or_else(|e| panic!("{e}"));
    Run {
        code: status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

fn doctor_against(exporter: Exporter) {
    let mut jaeger = Jaeger::start();
    let service = format!("doctor-{}", exporter.slug());
    let healthy = doctor(&jaeger, exporter, &service);
    assert_eq!(healthy.code, 0, "{}", healthy.output);
    let link = match exporter {
        Exporter::AgentUdp => "UDP send",
        _ => "TCP connect",
    };
    for step in ["configuration", "DNS", link, "test trace", "Jaeger query"] {
        let line = healthy
            .step(step)
            .unwrap_or_else(|| panic!("no {step} step in:\n{}", healthy.output));
        assert!(line.starts_with("[ OK ]"), "{line}\n{}", healthy.output);
    }
    let found = healthy.step("Jaeger query").unwrap_or_default().to_owned();
    assert!(
        found.contains(&format!("{}/trace/", jaeger.query_url())),
        "{found}"
    );
    // The trace the doctor says it found is really there.
    let id = found.rsplit("/trace/").next().unwrap_or_default().trim();
    let trace = jaeger
        .query()
        .trace(id)
        .unwrap()
        .expect("the doctor's trace is in Jaeger");
    assert_eq!(trace.service_of(&trace.spans[0]), service);

    jaeger.kill();
    let stopped = doctor(&jaeger, exporter, &service);
    assert_eq!(stopped.code, 1, "{}", stopped.output);
    let failed = stopped
        .step(link)
        .unwrap_or_else(|| panic!("no {link} step in:\n{}", stopped.output));
    assert!(failed.starts_with("[FAIL]"), "{failed}\n{}", stopped.output);
    let first_failure = stopped
        .output
        .lines()
        .find(|line| line.starts_with("[FAIL]"))
        .unwrap_or_default();
    assert_eq!(first_failure, failed, "the first failing step is {link}");
    figure(
        &format!("doctor over {exporter}"),
        format!(
            "exit 0 with every step OK against Jaeger; exit 1 with `{}` once it was stopped",
            failed.trim()
        ),
    );
}
