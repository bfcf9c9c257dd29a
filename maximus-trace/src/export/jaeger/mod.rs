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
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

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
/// only if it is still too large. Sending never blocks: the socket is non-blocking and a full
/// send buffer counts as a failed send. Resolving the host (on the first export, and after a
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

    fn export_spans(&self, spans: Vec<SpanData>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let next_seq_no = || self.next_seq_no.fetch_add(1, Ordering::Relaxed);
        let packed = packing::pack(spans, &self.process, self.max_packet_size, next_seq_no)
            // `{e:?}`: the thrift crate's `Display` leaves out the error's detail.
            .map_err(|e| self.failure(&format!("cannot encode spans: {e:?}")))?;
        Counters::add(&self.counters.spans_trimmed, packed.trimmed);
        Counters::add(&self.counters.spans_dropped_too_large, packed.dropped);
        let mut problems = Vec::new();
        if let Err(cause) = self.send(&packed.datagrams) {
            problems.push(cause);
        }
        if packed.dropped > 0 {
            problems.push(format!(
                "{} span(s) dropped: still over the {}-byte packet limit after trimming",
                packed.dropped, self.max_packet_size
            ));
        }
        if !problems.is_empty() {
            return Err(self.failure(&problems.join("; ")));
        }
        Ok(())
    }

    /// Sends the datagrams in order, stopping at the first failure: after one, the socket is
    /// re-created (and the host re-resolved) on the next export rather than retried blindly.
    fn send(&self, datagrams: &[packing::Datagram]) -> Result<(), String> {
        for (n, datagram) in datagrams.iter().enumerate() {
            self.pace();
            if let Err(cause) = self.agent.send(&datagram.bytes) {
                let unsent = &datagrams[n..];
                Counters::add(&self.counters.send_errors, unsent.len());
                let spans: usize = unsent.iter().map(|d| d.spans).sum();
                return Err(format!("{cause}; {spans} span(s) not sent"));
            }
            Counters::add(&self.counters.datagrams_sent, 1);
            Counters::add(&self.counters.spans_sent, datagram.spans);
        }
        Ok(())
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

    fn failure(&self, cause: &str) -> OTelSdkError {
        OTelSdkError::InternalFailure(format!("jaeger agent {}: {cause}", self.agent.endpoint()))
    }
}

impl SpanExporter for JaegerAgentExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.export_spans(batch)
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
