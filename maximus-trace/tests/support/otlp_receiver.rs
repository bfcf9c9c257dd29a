//! A stand-in OTLP/HTTP collector on 127.0.0.1: a tiny HTTP/1.1 server on a std `TcpListener`
//! that records every export request (path, headers, decoded protobuf body) and answers
//! `200 OK` with an empty `ExportTraceServiceResponse`. A silent receiver accepts connections
//! and never answers, like a collector that hangs.
// Shared by several test crates; each uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// Requests larger than this are refused rather than buffered.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// One export request as it arrived.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    pub method: String,
    pub path: String,
    /// Header names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: ExportTraceServiceRequest,
    /// The protobuf bytes as received (for checks on every exported byte).
    pub raw: Vec<u8>,
}

impl ExportRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn spans(&self) -> impl Iterator<Item = &Span> {
        self.body
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Answers every request, after `delay` (a slow collector).
    Answer {
        delay: Duration,
    },
    Silent,
}

/// A scripted reply: status line (`"503 Service Unavailable"`) and extra headers.
pub type Scripted = (&'static str, &'static [(&'static str, &'static str)]);

#[derive(Default)]
struct State {
    requests: Vec<ExportRequest>,
    /// Counting only: spans received are counted, requests not kept (so what the test
    /// measures of the heap is not the receiver's).
    counting: bool,
    spans_counted: usize,
    /// Bodies posted to `/v1/metrics`.
    metrics: Vec<opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest>,
    /// Requests whose body was not a valid `ExportTraceServiceRequest` (answered 400).
    rejected: Vec<String>,
    connections_accepted: usize,
    /// Replies for the next trace posts (status line, extra headers), before answering 200.
    script: std::collections::VecDeque<Scripted>,
    /// When each trace post arrived, answered from the script or not.
    attempts: Vec<Instant>,
    /// How long the next trace post is held before it is answered (a collector that hangs
    /// once, then recovers).
    stall_next: Option<Duration>,
    /// Clones of every accepted stream, shut down when the receiver drops so no thread of
    /// ours (or the exporter's) stays blocked on them.
    streams: Vec<TcpStream>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stopping: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }

    /// Waits until `done` holds or `timeout` passes; returns the state either way.
    fn wait_until(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> MutexGuard<'_, State> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while !done(&state) {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state
    }
}

/// A local OTLP/HTTP receiver; stops (and closes every connection) when dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl OtlpReceiver {
    /// A receiver that records and answers every request.
    pub fn start() -> Self {
        Self::spawn(
            "127.0.0.1:0",
            Behaviour::Answer {
                delay: Duration::ZERO,
            },
        )
    }

    /// A receiver on a given address: a collector coming back on the port it had.
    pub fn start_on(addr: SocketAddr) -> Self {
        Self::spawn(
            addr,
            Behaviour::Answer {
                delay: Duration::ZERO,
            },
        )
    }

    /// A receiver that answers each request only after `delay`.
    pub fn slow(delay: Duration) -> Self {
        Self::spawn("127.0.0.1:0", Behaviour::Answer { delay })
    }

    /// A receiver that answers its first trace posts with `replies` (not recording them), then
    /// records and answers as [`OtlpReceiver::start`] does: a collector that refuses for a
    /// while.
    pub fn scripted(replies: &[Scripted]) -> Self {
        let receiver = Self::start();
        receiver
            .shared
            .update(|s| s.script = replies.iter().copied().collect());
        receiver
    }

    /// A receiver that holds its first trace post for `stall` before answering it, then
    /// answers every request at once: a collector that hangs once and recovers.
    pub fn stalls_once(stall: Duration) -> Self {
        let receiver = Self::start();
        receiver.shared.update(|s| s.stall_next = Some(stall));
        receiver
    }

    /// When each trace post arrived (scripted replies included).
    pub fn attempts(&self) -> Vec<Instant> {
        self.shared.lock().attempts.clone()
    }

    /// A receiver that answers every request and only counts the spans it receives.
    pub fn counting() -> Self {
        let receiver = Self::start();
        receiver.shared.update(|s| s.counting = true);
        receiver
    }

    /// Waits until a counting receiver has counted `n` spans (or the time is up); the count.
    pub fn wait_for_count(&self, n: usize, timeout: Duration) -> usize {
        self.shared
            .wait_until(timeout, |s| s.spans_counted >= n)
            .spans_counted
    }

    /// A receiver that accepts connections and never reads or answers.
    pub fn silent() -> Self {
        Self::spawn("127.0.0.1:0", Behaviour::Silent)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn spawn(addr: impl std::net::ToSocketAddrs, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind(addr).expect("bind a loopback TCP port");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            changed: Condvar::new(),
            stopping: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("otlp-receiver".into())
                .spawn(move || accept_loop(&listener, &shared, behaviour))
                .unwrap()
        };
        OtlpReceiver {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The URL to give `otlp_endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// Every request recorded so far.
    pub fn requests(&self) -> Vec<ExportRequest> {
        self.shared.lock().requests.clone()
    }

    /// Waits until at least `n` spans have arrived (or `timeout` passed) and returns every
    /// span received so far.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<Span> {
        let count = |s: &State| s.requests.iter().map(|r| r.spans().count()).sum::<usize>();
        let state = self.shared.wait_until(timeout, |s| count(s) >= n);
        assert!(
            state.rejected.is_empty(),
            "undecodable export requests: {:?}",
            state.rejected
        );
        state.requests.iter().flat_map(|r| r.spans().cloned()).collect()
    }

    /// Waits until a metrics export arrived (or `timeout` passed); returns all received.
    pub fn wait_for_metrics(
        &self,
        timeout: Duration,
    ) -> Vec<opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest> {
        self.shared
            .wait_until(timeout, |s| !s.metrics.is_empty())
            .metrics
            .clone()
    }

    /// Waits until at least `n` connections were accepted; returns how many were.
    pub fn wait_for_connections(&self, n: usize, timeout: Duration) -> usize {
        self.shared
            .wait_until(timeout, |s| s.connections_accepted >= n)
            .connections_accepted
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wakes the blocking `accept`; it sees `stopping` and returns.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for stream in std::mem::take(&mut self.shared.lock().streams) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, behaviour: Behaviour) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let Ok(clone) = stream.try_clone() else { continue };
        shared.update(|s| {
            s.connections_accepted += 1;
            s.streams.push(clone);
        });
        if let Behaviour::Answer { delay } = behaviour {
            let shared = Arc::clone(shared);
            std::thread::spawn(move || serve(stream, &shared, delay));
        }
        // A silent receiver keeps only the clone: the connection stays open, unanswered.
    }
}

/// Serves requests on one keep-alive connection until the client closes it.
fn serve(stream: TcpStream, shared: &Shared, delay: Duration) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let (method, path, headers, body) = request;
        let close = headers
            .iter()
            .any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case("close"));
        std::thread::sleep(delay);
        if path == "/v1/metrics" {
            use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
            let status = match ExportMetricsServiceRequest::decode(body.as_slice()) {
                Ok(decoded) => {
                    shared.update(|s| s.metrics.push(decoded));
                    "200 OK"
                }
                Err(_) => "400 Bad Request",
            };
            let head = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
            if writer.write_all(head.as_bytes()).is_err() || close {
                return;
            }
            continue;
        }
        let mut scripted = None;
        let mut stall = None;
        shared.update(|s| {
            s.attempts.push(Instant::now());
            scripted = s.script.pop_front();
            stall = s.stall_next.take();
        });
        if let Some(stall) = stall {
            std::thread::sleep(stall);
        }
        if let Some((status, extra)) = scripted {
            let extra: String = extra.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
            let head = format!("HTTP/1.1 {status}\r\n{extra}content-length: 0\r\n\r\n");
            if writer.write_all(head.as_bytes()).is_err() || close {
                return;
            }
            continue;
        }
        let status = match ExportTraceServiceRequest::decode(body.as_slice()) {
            Ok(decoded) if shared.lock().counting => {
                let spans: usize = decoded
                    .resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .map(|s| s.spans.len())
                    .sum();
                drop(decoded);
                shared.update(|s| s.spans_counted += spans);
                "200 OK"
            }
            Ok(decoded) => {
                shared.update(|s| {
                    s.requests.push(ExportRequest {
                        method,
                        path,
                        headers,
                        body: decoded,
                        raw: body,
                    })
                });
                "200 OK"
            }
            Err(e) => {
                shared.update(|s| s.rejected.push(format!("{method} {path}: {e}")));
                "400 Bad Request"
            }
        };
        let reply = ExportTraceServiceResponse::default().encode_to_vec();
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n\r\n",
            reply.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&reply).is_err() || close {
            return;
        }
    }
}

type Request = (String, String, Vec<(String, String)>, Vec<u8>);

/// Reads one request: request line, headers, then a `content-length` body. `None` at the end
/// of the connection or on anything this small server does not speak.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let request_line = read_line(reader)?;
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = match headers.iter().find(|(n, _)| n == "content-length") {
        Some((_, v)) => v.parse::<usize>().ok().filter(|n| *n <= MAX_BODY)?,
        None => 0,
    };
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, headers, body))
}

fn read_line(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
    }
}
