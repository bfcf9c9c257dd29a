//! A minimal HTTP/1.1 GET client over std's `TcpStream`: enough for Jaeger's query API
//! (plain `http://`, JSON answers, `content-length` or chunked bodies).

use std::fmt;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use url::Url;

/// Answers larger than this are cut off (a search result for one service is far smaller).
const MAX_RESPONSE: u64 = 32 * 1024 * 1024;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

#[derive(Debug)]
pub enum Error {
    /// The URL is not `http://host[:port]/...`.
    Url(String),
    /// No connection (DNS, refused, timed out).
    Connect(String),
    /// The connection broke or the answer is not HTTP.
    Protocol(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(e) | Error::Connect(e) | Error::Protocol(e) => f.write_str(e),
        }
    }
}

/// `GET url`, waiting at most `timeout` for each network operation.
pub fn get(url: &Url, timeout: Duration) -> Result<Response, Error> {
    if url.scheme() != "http" {
        return Err(Error::Url(format!(
            "{url}: only http:// is supported (use Jaeger's plain query port, 16686, or a port-forward)"
        )));
    }
    let host = url
        .host_str()
        .ok_or_else(|| Error::Url(format!("{url}: no host")))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let mut stream = connect(host, port, timeout)?;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\n\
         User-Agent: maximus-trace-doctor\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| Error::Protocol(format!("sending the request to {authority} failed: {e}")))?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .map_err(|e| Error::Protocol(format!("reading the answer of {authority} failed: {e}")))?;
    parse(&raw)
}

fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Error> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::Connect(format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last = format!("{host} resolved to no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    Err(Error::Connect(last))
}

/// Splits status line, headers and body; undoes chunked transfer encoding.
fn parse(raw: &[u8]) -> Result<Response, Error> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| Error::Protocol("the answer has no HTTP header".to_owned()))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let body = &raw[split + 4..];
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| Error::Protocol(format!("not an HTTP status line: {head:.80}")))?;
    let header = |name: &str| {
        lines.clone().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_ascii_lowercase())
        })
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(body).ok_or_else(|| Error::Protocol("malformed chunked body".to_owned()))?
    } else {
        match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
            Some(len) => body[..len.min(body.len())].to_vec(),
            None => body.to_vec(),
        }
    };
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_bodies_are_cut_at_the_length() {
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}garbage").unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "{}"));
    }

    #[test]
    fn chunked_bodies_are_reassembled() {
        let raw = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n";
        let r = parse(raw).unwrap();
        assert_eq!((r.status, r.body.as_str()), (404, "{\"a\":1}"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(b"hello").is_err());
        assert!(parse(b"HTTP/1.1 OK\r\n\r\n").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
    }

    #[test]
    fn https_is_refused_with_a_hint() {
        let err = get(
            &Url::parse("https://jaeger:16686").unwrap(),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("16686"), "{err}");
    }
}
