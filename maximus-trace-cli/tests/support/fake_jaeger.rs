//! A stand-in for Jaeger's query service on 127.0.0.1: a std `TcpListener` answering trace
//! searches with the trace ids a receiver has seen, in one of three behaviours.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// The trace ids (32 hex digits) that have reached the backend so far.
pub type Seen = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Jaeger v2 (as v2.12 answers): `/api/v3/traces` answers with OTLP-JSON (chunked, as Go
    /// sends large bodies); an empty search is a 404 saying `No traces found`; without
    /// `query.start_time_min`/`max` it is a 400, without `query.num_traces` a 500.
    V3,
    /// Jaeger 1.x: no v3 API (plain 404), `/api/traces` answers with Jaeger's JSON.
    LegacyOnly,
    /// Both APIs exist but never find anything.
    Never,
}

pub struct FakeJaeger {
    addr: SocketAddr,
    paths: Arc<Mutex<Vec<String>>>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeJaeger {
    pub fn start(mode: Mode, seen: Seen) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let paths = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = {
            let (paths, stopping) = (Arc::clone(&paths), Arc::clone(&stopping));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, mode, &seen, &paths);
                    }
                }
            })
        };
        FakeJaeger {
            addr,
            paths,
            stopping,
            thread: Some(thread),
        }
    }

    /// The URL to give `--jaeger-ui`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request target received (path and query).
    pub fn requests(&self) -> Vec<String> {
        self.paths.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for FakeJaeger {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, mode: Mode, seen: &Seen, paths: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("").to_owned();
    paths
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(target.clone());
    let path = target.split('?').next().unwrap_or("");
    let ids = if mode == Mode::Never { Vec::new() } else { seen() };
    let has = |name: &str| target.contains(&format!("{name}="));
    let mut stream = stream;
    match (mode, path) {
        (Mode::V3 | Mode::Never, "/api/v3/traces")
            if !has("query.start_time_min") || !has("query.start_time_max") =>
        {
            let body = r#"{"error":{"httpCode":400,"message":"query.start_time_min and query.start_time_max are required"}}"#;
            respond(&mut stream, "400 Bad Request", body, false);
        }
        (Mode::V3 | Mode::Never, "/api/v3/traces") if !has("query.num_traces") => {
            let body = r#"{"error":{"httpCode":500,"message":"search depth must be greater than 0 and less than max traces"}}"#;
            respond(&mut stream, "500 Internal Server Error", body, false);
        }
        (Mode::V3 | Mode::Never, "/api/v3/traces") if ids.is_empty() => {
            let body = r#"{"error":{"httpCode":404,"message":"No traces found"}}"#;
            respond(&mut stream, "404 Not Found", body, false);
        }
        (Mode::V3, "/api/v3/traces") => respond(&mut stream, "200 OK", &otlp_json(&ids), true),
        (Mode::LegacyOnly | Mode::Never, "/api/traces") => {
            respond(&mut stream, "200 OK", &legacy_json(&ids), false)
        }
        _ => respond(&mut stream, "404 Not Found", "404 page not found\n", false),
    }
}

fn otlp_json(ids: &[String]) -> String {
    let spans: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"traceId":"{id}","spanId":"00f067aa0ba902b7","name":"x"}}"#))
        .collect();
    format!(
        r#"{{"result":{{"resourceSpans":[{{"resource":{{}},"scopeSpans":[{{"scope":{{}},"spans":[{}]}}]}}]}}}}"#,
        spans.join(",")
    )
}

fn legacy_json(ids: &[String]) -> String {
    let traces: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"traceID":"{id}","spans":[],"processes":{{}}}}"#))
        .collect();
    format!(
        r#"{{"data":[{}],"total":0,"limit":0,"offset":0,"errors":null}}"#,
        traces.join(",")
    )
}

fn respond(stream: &mut TcpStream, status: &str, body: &str, chunked: bool) {
    let head = if chunked {
        format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
    } else {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
    };
    let _ = stream.write_all(head.as_bytes());
    if chunked {
        // Two chunks, so a client that ignores the encoding sees garbage.
        let (a, b) = body.split_at(body.len() / 2);
        let _ = write!(
            stream,
            "{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        );
    } else {
        let _ = stream.write_all(body.as_bytes());
    }
}
