//! Export to a Jaeger agent over UDP: Thrift compact `emitBatch` datagrams, for deployments that
//! still run an agent, or Jaeger v2 with its UDP receiver on port 6831.
//!
//! Each export flows one way: `SpanData` → Jaeger spans (`convert`) → datagrams no larger than
//! the packet limit (`packing`) → the UDP socket (`agent`). The wire format itself lives in
//! `thrift`.

mod agent;
mod convert;
mod packing;
mod thrift;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::monitored::Report;
use super::sinks::{Deliver, failure};

pub use self::thrift::{
    Batch, ClientStats, JaegerSpan, Log, Process, SpanRef, SpanRefType, Tag, TagValue, decode_emit_batch,
};

/// The Jaeger agent's UDP port for compact-Thrift `emitBatch` datagrams.
pub const DEFAULT_AGENT_PORT: u16 = 6831;

/// The default largest datagram: the Jaeger agent's own limit (65,000 bytes), which also keeps
/// clear of the 65,507-byte ceiling of UDP over IPv4.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 65_000;

/// The pause after each datagram. UDP has no flow control: a receiver's socket buffer (208 KB
/// by default on Linux, three full datagrams) overflows silently when the sender outruns
/// the thread draining it, and a burst of 100,000 spans sent back to back lost 3-4 % of them
/// on a loaded 2-core machine. The pause lets the receiver run; it caps the export thread at
/// about 10,000 datagrams (over a million spans) a second.
const PACE: Duration = Duration::from_micros(100);

/// A [`SpanExporter`] that sends spans to a Jaeger agent as UDP datagrams.
///
/// Each datagram is one oneway compact-protocol `emitBatch` call holding as many spans as fit
/// under the packet limit; a span too large on its own loses its events, then its attributes
/// (tagged `maximus.trimmed_events` / `maximus.trimmed_attributes`), and is dropped and counted
/// only if it is still too large. The socket is non-blocking and a full send buffer counts as
/// a failed send, but datagrams are paced 100 µs apart (UDP has no flow control), so `export`
/// takes about 100 µs per datagram: run it on a thread of its own, as OpenTelemetry's batch
/// span processor and maximus-trace's export thread do, not on an async executor. Resolving the host (on the first export, and after a
/// failure) takes as long as a DNS lookup; after a failed lookup, exports fail fast for 5 s
/// before the next attempt. Failures come back as `Err` naming the agent's address; nothing is
/// logged here.
#[derive(Debug)]
pub struct JaegerAgentExporter {
    agent: agent::Agent,
    process: Process,
    max_packet_size: usize,
    next_seq_no: AtomicI64,
    counters: Arc<Counters>,
    is_shutdown: AtomicBool,
    /// When the last datagram went out ([`PACE`]).
    last_send: std::sync::Mutex<Option<std::time::Instant>>,
}

impl JaegerAgentExporter {
    /// An exporter for the agent at `host:port` (`host` is a name or an IP address).
    ///
    /// Never fails: the address is resolved lazily on first export (and re-resolved after
    /// failures), so a missing agent never hurts the application.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        JaegerAgentExporter {
            agent: agent::Agent::new(host.into(), port),
            process: convert::default_process(),
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            next_seq_no: AtomicI64::new(1),
            counters: Arc::default(),
            is_shutdown: AtomicBool::new(false),
            last_send: std::sync::Mutex::new(None),
        }
    }

    /// Max datagram size, default 65_000 (tests lower it to exercise splitting).
    ///
    /// Above 65,507 bytes the operating system refuses IPv4 datagrams, and every send fails.
    pub fn with_max_packet_size(mut self, bytes: usize) -> Self {
        self.max_packet_size = bytes;
        self
    }

    /// The counters so far.
    pub fn stats(&self) -> JaegerAgentStats {
        self.counters.snapshot()
    }

    /// A handle that reads the counters after the exporter has moved into a tracer provider.
    pub fn stats_handle(&self) -> JaegerAgentStatsHandle {
        JaegerAgentStatsHandle(Arc::clone(&self.counters))
    }

    /// Sends `spans`: how many went out, and why the others did not.
    fn send_spans(&self, spans: Vec<SpanData>) -> Sent {
        let total = spans.len();
        if self.is_shutdown.load(Ordering::Acquire) {
            return Sent::none(total, "the exporter is shut down".to_owned());
        }
        let next_seq_no = || self.next_seq_no.fetch_add(1, Ordering::Relaxed);
        let packed = match packing::pack(spans, &self.process, self.max_packet_size, next_seq_no) {
            Ok(packed) => packed,
            // `{e:?}`: the thrift crate's `Display` leaves out the error's detail.
            Err(e) => return Sent::none(total, self.describe(&format!("cannot encode spans: {e:?}"))),
        };
        Counters::add(&self.counters.spans_trimmed, packed.trimmed);
        Counters::add(&self.counters.spans_dropped_too_large, packed.dropped);
        let mut sent = Sent {
            spans: 0,
            unsent: 0,
            dropped: packed.dropped,
            cause: None,
        };
        for (n, datagram) in packed.datagrams.iter().enumerate() {
            self.pace();
            if let Err(cause) = self.agent.send(&datagram.bytes) {
                // After one failure the socket is re-created (and the host re-resolved) on
                // the next export rather than the rest sent blindly.
                let unsent = &packed.datagrams[n..];
                Counters::add(&self.counters.send_errors, unsent.len());
                sent.unsent = unsent.iter().map(|d| d.spans).sum();
                sent.cause = Some(self.describe(&format!("{cause}; {} span(s) not sent", sent.unsent)));
                break;
            }
            Counters::add(&self.counters.datagrams_sent, 1);
            Counters::add(&self.counters.spans_sent, datagram.spans);
            sent.spans += datagram.spans;
        }
        sent
    }

    /// Waits until [`PACE`] has passed since the last datagram (of this batch or the one
    /// before).
    fn pace(&self) {
        let mut last = self
            .last_send
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = *last {
            let since = at.elapsed();
            if since < PACE {
                std::thread::sleep(PACE - since);
            }
        }
        *last = Some(std::time::Instant::now());
    }

    fn describe(&self, cause: &str) -> String {
        format!("jaeger agent {}: {cause}", self.agent.endpoint())
    }
}

/// What one export sent.
struct Sent {
    /// Spans in datagrams handed to the operating system.
    spans: usize,
    /// Spans not sent: the host did not resolve, the socket refused them, or encoding failed.
    unsent: usize,
    /// Spans too large for a datagram even after trimming.
    dropped: usize,
    /// Why `unsent` were not sent.
    cause: Option<String>,
}

impl Sent {
    fn none(spans: usize, cause: String) -> Self {
        Sent {
            spans: 0,
            unsent: spans,
            dropped: 0,
            cause: Some(cause),
        }
    }
}

/// The built-in pipeline's destination for the agent: counts per datagram, so a batch whose
/// last datagrams failed counts its first ones as exported, and a span too large for any
/// datagram only as `spans_dropped_too_large`.
///
/// An error the operating system reports for a datagram (ICMP port unreachable, seen by the
/// connected socket) surfaces on a later send: it may be counted against the datagram after
/// the one that caused it.
pub(crate) struct AgentSink {
    exporter: JaegerAgentExporter,
    report: Report,
}

impl AgentSink {
    pub(crate) fn new(exporter: JaegerAgentExporter, report: Report) -> Self {
        AgentSink { exporter, report }
    }
}

impl Deliver for AgentSink {
    fn set_resource(&mut self, resource: &Resource) {
        self.exporter.process = convert::process(resource);
    }

    fn deliver(&self, batch: Vec<SpanData>) {
        let sent = self.exporter.send_spans(batch);
        if sent.spans > 0 {
            self.report.success(sent.spans);
        }
        if let Some(cause) = sent.cause {
            self.report.failure(failure(cause), sent.unsent);
        }
    }

    fn shutdown(&self, _deadline: Instant) -> bool {
        let _ = self.exporter.shutdown_with_timeout(Duration::ZERO);
        true
    }
}

impl SpanExporter for JaegerAgentExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let sent = self.send_spans(batch);
        let mut problems: Vec<String> = sent.cause.into_iter().collect();
        if sent.dropped > 0 {
            problems.push(self.describe(&format!(
                "{} span(s) dropped: still over the {}-byte packet limit after trimming",
                sent.dropped, self.max_packet_size
            )));
        }
        match problems.is_empty() {
            true => Ok(()),
            false => Err(OTelSdkError::InternalFailure(problems.join("; "))),
        }
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        // Nothing is buffered (every export has been sent by the time it returns), so shutting
        // down only refuses further exports and closes the socket.
        if self.is_shutdown.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.agent.close();
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.process = convert::process(resource);
    }
}

/// What a [`JaegerAgentExporter`] has done since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JaegerAgentStats {
    /// Datagrams handed to the operating system.
    pub datagrams_sent: u64,
    /// Spans in those datagrams.
    pub spans_sent: u64,
    /// Spans that lost their events, or events and attributes, to fit in a datagram.
    pub spans_trimmed: u64,
    /// Spans dropped because they did not fit in a datagram even after trimming.
    pub spans_dropped_too_large: u64,
    /// Datagrams not sent: the host did not resolve, or the socket refused them.
    pub send_errors: u64,
}

/// Reads a [`JaegerAgentExporter`]'s counters from anywhere; cheap to clone.
#[derive(Debug, Clone)]
pub struct JaegerAgentStatsHandle(Arc<Counters>);

impl JaegerAgentStatsHandle {
    /// The counters so far.
    pub fn stats(&self) -> JaegerAgentStats {
        self.0.snapshot()
    }
}

#[derive(Debug, Default)]
struct Counters {
    datagrams_sent: AtomicU64,
    spans_sent: AtomicU64,
    spans_trimmed: AtomicU64,
    spans_dropped_too_large: AtomicU64,
    send_errors: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: usize) {
        if n > 0 {
            counter.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> JaegerAgentStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        JaegerAgentStats {
            datagrams_sent: get(&self.datagrams_sent),
            spans_sent: get(&self.spans_sent),
            spans_trimmed: get(&self.spans_trimmed),
            spans_dropped_too_large: get(&self.spans_dropped_too_large),
            send_errors: get(&self.send_errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_brackets_ipv6_literals() {
        assert_eq!(agent::Agent::new("::1".into(), 6831).endpoint(), "[::1]:6831");
        assert_eq!(agent::Agent::new("agent".into(), 6831).endpoint(), "agent:6831");
    }

    #[test]
    fn new_does_no_io() {
        // An unresolvable host is fine until the first export.
        let exporter = JaegerAgentExporter::new("does-not-exist.invalid", 1);
        assert_eq!(exporter.stats(), JaegerAgentStats::default());
    }
}
