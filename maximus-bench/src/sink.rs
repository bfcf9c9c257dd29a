//! A loopback OTLP/HTTP sink: a tiny HTTP/1.1 server on a std `TcpListener` that reads each
//! request's `content-length` body, counts requests and bytes, and answers `200 OK` with an
//! empty body (an empty protobuf `ExportTraceServiceResponse`). It decodes nothing, so the
//! export bench measures the exporter, not the receiver. Adapted from
//! `maximus-trace/tests/support/otlp_receiver.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Threads of the sink carry this name, so CPU accounting can leave them out.
pub const THREAD_NAME: &str = "otlp-sink";

const MAX_BODY: usize = 64 * 1024 * 1024;
const REPLY: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";

#[derive(Default)]
struct Shared {
    requests: AtomicU64,
    body_bytes: AtomicU64,
    stopping: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
}

/// A running sink; stops and closes its connections when dropped.
pub struct OtlpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl OtlpSink {
    /// Listens on `127.0.0.1` and a free port.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(THREAD_NAME.into())
                .spawn(move || accept(&listener, &shared))?
        };
        Ok(OtlpSink {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The URL to give `otlp_endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// Export requests answered so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Request body bytes (protobuf) received so far.
    pub fn body_bytes(&self) -> u64 {
        self.shared.body_bytes.load(Ordering::Relaxed)
    }
}

impl Drop for OtlpSink {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wakes the blocking `accept`, which then sees `stopping`.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let streams =
            std::mem::take(&mut *self.shared.streams.lock().unwrap_or_else(PoisonError::into_inner));
        for stream in streams {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        if let Ok(clone) = stream.try_clone() {
            shared
                .streams
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(clone);
        }
        let shared = Arc::clone(shared);
        let _ = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || serve(stream, &shared));
    }
}

/// Answers requests on one keep-alive connection until the client closes it.
fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut body = Vec::new();
    while let Some(length) = read_request(&mut reader, &mut body) {
        shared.requests.fetch_add(1, Ordering::Relaxed);
        shared.body_bytes.fetch_add(length as u64, Ordering::Relaxed);
        if writer.write_all(REPLY).is_err() {
            return;
        }
    }
}

/// Reads one request (request line, headers, `content-length` body) into `body`; returns
/// the body's length, or `None` at the end of the connection or on anything unexpected.
fn read_request(reader: &mut BufReader<TcpStream>, body: &mut Vec<u8>) -> Option<usize> {
    let mut line = String::new();
    let mut length = 0;
    let mut first = true;
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if first {
            first = false;
            continue;
        }
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            length = value.trim().parse::<usize>().ok().filter(|n| *n <= MAX_BODY)?;
        }
    }
    body.resize(length, 0);
    reader.read_exact(body).ok()?;
    Some(length)
}
