//! `maximus-trace doctor`: each link from the application to Jaeger, checked in order, each
//! failure with the fix for it.

mod agent_probe;
mod jaeger;
mod network;
mod report;
mod send;

use std::net::SocketAddr;

use maximus_trace::{Exporter, ResolvedConfig};

use crate::args::DoctorOptions;
use report::Report;

/// Both ways to run Jaeger on the standard ports: without docker (from a checkout of
/// maximus-trace, with Go installed), and the published image.
const START_JAEGER: &str = "scripts/jaeger run   (in a maximus-trace checkout; needs Go)\n\
                            or: docker run --rm -p 16686:16686 -p 4317:4317 -p 4318:4318 -p 6831:6831/udp \
                            jaegertracing/jaeger:latest";

pub fn run(options: &DoctorOptions) -> Report {
    println!("maximus-trace doctor {}\n", env!("CARGO_PKG_VERSION"));
    let mut report = Report::default();
    if let Some(config) = configuration(&mut report) {
        if reachable(&config, &mut report) {
            deliver(&config, options, &mut report);
        } else {
            report.skip("test trace", "the endpoint is not reachable");
        }
    }
    report.finish()
}

/// The configuration the library resolves from this environment.
fn configuration(report: &mut Report) -> Option<ResolvedConfig> {
    const STEP: &str = "configuration";
    let config = match send::builder().describe() {
        Ok(config) => config,
        Err(e) => {
            report.fail(
                STEP,
                &e,
                "correct the variable or setting named above (the README's Configuration table lists \
                 valid values), or unset it to use the default",
            );
            return None;
        }
    };
    report.ok(
        STEP,
        format!(
            "service {:?}, exporter {} -> {}, sampler {}",
            config.service_name, config.exporter, config.endpoint, config.sampler
        ),
    );
    if !config.enabled {
        report.fail(
            STEP,
            "tracing is switched off: no span would be recorded",
            "unset MAXIMUS_TRACING_ENABLED=false / OTEL_SDK_DISABLED=true (the checks below still run)",
        );
    }
    if config.sample_ratio.is_some_and(|r| r < 1.0) {
        report.note(format!(
            "note: the sampler keeps {:.0}% of new traces, so some requests have none; the doctor's \
             test trace is always kept",
            config.sample_ratio.unwrap_or_default() * 100.0
        ));
    }
    if matches!(config.exporter, Exporter::Console | Exporter::None) {
        report.fail(
            STEP,
            format!(
                "the {} exporter sends spans nowhere Jaeger can read them",
                config.exporter
            ),
            "set MAXIMUS_TRACE_EXPORTER=otlp (the default; with OTEL_EXPORTER_OTLP_ENDPOINT) or jaeger \
             (with JAEGER_AGENT_HOST / JAEGER_AGENT_PORT)",
        );
        return None;
    }
    Some(config)
}

/// DNS, then a TCP connection (OTLP, Zipkin) or a UDP probe (Jaeger agent).
fn reachable(config: &ResolvedConfig, report: &mut Report) -> bool {
    let (Some(host), Some(port)) = (config.host.as_deref(), config.port) else {
        report.fail(
            "DNS",
            format!("no host and port in {}", config.endpoint),
            "give a full URL such as http://localhost:4318/v1/traces",
        );
        return false;
    };
    let addrs = match network::resolve(host, port) {
        Ok(addrs) => {
            let detail = if host.parse::<std::net::IpAddr>().is_ok() {
                format!("{host} is an IP address (no lookup needed)")
            } else {
                format!("{host} resolves to {}", list(&addrs))
            };
            report.ok("DNS", detail);
            addrs
        }
        Err(e) => {
            report.fail(
                "DNS",
                e,
                format!(
                    "check the host name in {} (inside a container `localhost` is the container \
                     itself: use the collector's service name or host.docker.internal)",
                    host_variable(config.exporter)
                ),
            );
            return false;
        }
    };
    if config.exporter == Exporter::JaegerAgent {
        return udp(&addrs, config, report);
    }
    match network::tcp_connect(&addrs) {
        Ok(addr) => {
            report.ok("TCP connect", format!("{addr} accepts connections"));
            true
        }
        Err(e) => {
            report.fail(
                "TCP connect",
                e,
                format!(
                    "start Jaeger on the standard ports:\n{START_JAEGER}\nor point {} at the \
                     collector that is running",
                    host_variable(config.exporter)
                ),
            );
            false
        }
    }
}

fn udp(addrs: &[SocketAddr], config: &ResolvedConfig, report: &mut Report) -> bool {
    const STEP: &str = "UDP send";
    match network::udp_probe(addrs, &config.service_name) {
        Ok(network::UdpProbe::NotRefused(addr)) => {
            report.ok(
                STEP,
                format!(
                    "an empty batch to {addr} was not refused (UDP has no handshake: whether an agent \
                     listens cannot be confirmed here, only by finding the trace in Jaeger)"
                ),
            );
            true
        }
        Ok(network::UdpProbe::Refused(addr)) => {
            report.fail(
                STEP,
                format!("{addr} refused the datagram: nothing listens on that UDP port"),
                format!(
                    "start Jaeger with its agent port (UDP 6831):\n{START_JAEGER}\n\
                     or set JAEGER_AGENT_HOST / JAEGER_AGENT_PORT to where the agent runs"
                ),
            );
            false
        }
        Err(e) => {
            report.fail(STEP, e, "check JAEGER_AGENT_HOST and the network route to it");
            false
        }
    }
}

/// Sends the test trace and, with `--jaeger-ui`, looks for it in Jaeger.
fn deliver(config: &ResolvedConfig, options: &DoctorOptions, report: &mut Report) {
    let Some(sent) = send::test_trace(config, report) else {
        return;
    };
    match &options.jaeger_ui {
        Some(ui) => jaeger::confirm(ui, &config.service_name, &sent, options.timeout, report),
        None => {
            report.skip(
                "Jaeger query",
                "no --jaeger-ui given: delivery cannot be confirmed",
            );
            report.note(format!(
                "to confirm: maximus-trace doctor --jaeger-ui http://localhost:16686\n\
                 or search Jaeger's UI for service {:?}, trace {}",
                config.service_name, sent.trace_id
            ));
        }
    }
}

fn host_variable(exporter: Exporter) -> &'static str {
    match exporter {
        Exporter::JaegerAgent => "JAEGER_AGENT_HOST",
        Exporter::Zipkin => "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
        _ => "OTEL_EXPORTER_OTLP_ENDPOINT",
    }
}

fn list(addrs: &[SocketAddr]) -> String {
    let ips: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    ips.join(", ")
}
