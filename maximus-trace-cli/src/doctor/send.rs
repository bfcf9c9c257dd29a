//! Sends one test trace through a real pipeline built from the same configuration, and reads
//! the pipeline's own counters to see whether the exporter accepted it.

use std::time::{SystemTime, UNIX_EPOCH};

use maximus_trace::{Exporter, ResolvedConfig, TracingManager};

use super::Report;
use crate::logs;

/// The service name when neither `OTEL_SERVICE_NAME` nor anything else gives one.
pub const DEFAULT_SERVICE: &str = "maximus-trace-doctor";

/// The test trace that was handed to the exporter.
#[derive(Debug)]
pub struct Sent {
    pub trace_id: String,
    pub span_name: String,
    pub at: SystemTime,
}

/// The builder every step uses: the environment, with the doctor's default service name.
pub fn builder() -> maximus_trace::TracingBuilder {
    TracingManager::builder().default_service_name(DEFAULT_SERVICE)
}

pub fn test_trace(config: &ResolvedConfig, report: &mut Report) -> Option<Sent> {
    const STEP: &str = "test trace";
    // Sampling and the kill switch are reported elsewhere; the test trace is always sent.
    let manager = match builder()
        .enabled(true)
        .sample_ratio(1.0)
        .span_metrics(false)
        .build()
    {
        Ok(manager) => manager,
        Err(e) => {
            report.fail(
                STEP,
                format!("the pipeline cannot be built: {e}"),
                "use an exporter this build supports (MAXIMUS_TRACE_EXPORTER=otlp or jaeger)",
            );
            return None;
        }
    };
    let at = SystemTime::now();
    let span_name = format!("maximus-trace doctor {:x}", unique());
    let trace_id = {
        let span = manager
            .span_builder(span_name.clone())
            .attribute("maximus_trace.doctor", true)
            .entered();
        span.trace_id().unwrap_or_default()
    };
    let flushed = manager.force_flush();
    let stats = manager.stats();
    drop(manager);
    let warnings = logs::take_warnings();
    if let Err(e) = flushed {
        report.fail(
            STEP,
            e,
            "the exporter did not finish within 5 s: see the TCP step and the collector's health",
        );
        return None;
    }
    if stats.spans_exported == 0 || stats.export_errors > 0 {
        let why = warnings
            .last()
            .cloned()
            .unwrap_or_else(|| "the exporter reported a failure".to_owned());
        report.fail(STEP, why, export_fix(config));
        return None;
    }
    let how = match config.exporter {
        Exporter::JaegerAgent => "sent as a UDP datagram",
        _ => "accepted by the collector",
    };
    report.ok(STEP, format!("span {span_name:?} in trace {trace_id} {how}"));
    Some(Sent {
        trace_id,
        span_name,
        at,
    })
}

fn export_fix(config: &ResolvedConfig) -> String {
    match config.exporter {
        Exporter::Otlp => format!(
            "{} must be the full OTLP/HTTP traces URL (path /v1/traces, port 4318; 4317 speaks gRPC):\n\
             set OTEL_EXPORTER_OTLP_ENDPOINT=http://host:4318 (the path is added) and check any \
             OTEL_EXPORTER_OTLP_HEADERS the collector requires",
            config.endpoint
        ),
        Exporter::OtlpGrpc => "check that the endpoint speaks OTLP/gRPC (port 4317)".to_owned(),
        _ => format!("check that {} accepts spans", config.endpoint),
    }
}

/// A value that differs between runs (time and process id), to name the test span.
fn unique() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    nanos ^ (u64::from(std::process::id()) << 32)
}
