//! `GET /metrics` for Prometheus, on one small thread over a std `TcpListener` (a scrape every
//! few seconds needs no HTTP framework). Connections are served one at a time with short
//! timeouts; the thread stops when the pipeline shuts down.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::aggregate::Aggregator;
use super::prometheus;

/// Bounds how long one slow client can hold the (single) serving thread.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest request head read; scrapers send a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;

#[derive(Debug)]
pub(crate) struct PrometheusListener {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PrometheusListener {
    /// Binds `addr` (`host:port`; port 0 picks a free one) and starts serving.
    pub fn start(addr: &str, aggregator: Arc<Aggregator>) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = {
            let stopping = Arc::clone(&stopping);
            std::thread::Builder::new()
                .name("maximus-trace-metrics".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stopping.load(Ordering::SeqCst) {
                            return;
                        }
                        match stream {
                            Ok(stream) => serve(stream, &aggregator),
                            Err(e) => log::debug!("maximus-trace: metrics listener accept failed: {e}"),
                        }
                    }
                })?
        };
        Ok(PrometheusListener {
            addr: local,
            stopping,
            thread: Some(thread),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for the thread, unless it cannot be woken.
    pub fn stop(&mut self) {
        let Some(thread) = self.thread.take() else { return };
        self.stopping.store(true, Ordering::SeqCst);
        // The thread blocks in `accept`: one connection of our own wakes it to see the flag.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        match TcpStream::connect_timeout(&wake, IO_TIMEOUT) {
            Ok(_) => {
                let _ = thread.join();
            }
            // Left to end at its next connection rather than hanging the shutdown.
            Err(e) => log::debug!("maximus-trace: could not wake the metrics listener: {e}"),
        }
    }
}

impl Drop for PrometheusListener {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(mut stream: TcpStream, aggregator: &Aggregator) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => ("200 OK", aggregator.scrape()),
        ("GET" | "HEAD", _) => (
            "404 Not Found",
            "Span metrics are served at /metrics\n".to_owned(),
        ),
        _ => ("405 Method Not Allowed", "Use GET /metrics\n".to_owned()),
    };
    let content_type = if status.starts_with("200") {
        prometheus::CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = stream.write_all(body.as_bytes());
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

/// Reads up to the blank line that ends the request head; `None` on a timeout, a closed
/// connection or an oversized head. The request line is what matters; headers are ignored.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        head.extend_from_slice(&chunk[..n]);
        if head.len() > MAX_HEAD {
            return None;
        }
    }
    let line_end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    Some(String::from_utf8_lossy(&head[..line_end]).trim().to_owned())
}
