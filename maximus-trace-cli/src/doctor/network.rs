//! Can the endpoint be reached: its name resolves, its TCP port accepts a connection, or (for
//! the Jaeger agent's UDP port) a datagram is not refused.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::mpsc;
use std::time::Duration;

use super::agent_probe;

/// Bounds each lookup and connection attempt.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the ICMP "port unreachable" that a closed UDP port answers with.
const UDP_REFUSAL_WAIT: Duration = Duration::from_millis(300);

/// Resolves `host:port`; the lookup runs on its own thread so a hung resolver costs at most
/// [`NETWORK_TIMEOUT`].
pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let (tx, rx) = mpsc::channel();
    let target = (host.to_owned(), port);
    let spawned = std::thread::Builder::new()
        .name("doctor-dns".into())
        .spawn(move || {
            let result = target.to_socket_addrs().map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start a lookup: {e}"));
    }
    match rx.recv_timeout(NETWORK_TIMEOUT) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(format!("{host} resolves to no address")),
        Ok(Err(e)) => Err(format!("{host} does not resolve: {e}")),
        Err(_) => Err(format!("looking up {host} took more than {NETWORK_TIMEOUT:?}")),
    }
}

/// The first address that accepts a TCP connection, else why none did.
pub fn tcp_connect(addrs: &[SocketAddr]) -> Result<SocketAddr, String> {
    let mut failures = Vec::new();
    for addr in addrs {
        match TcpStream::connect_timeout(addr, NETWORK_TIMEOUT) {
            Ok(_) => return Ok(*addr),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                failures.push(format!("{addr}: connection refused (nothing listens there)"))
            }
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::WouldBlock => failures.push(
                format!("{addr}: no answer within {NETWORK_TIMEOUT:?} (a firewall, or the wrong host)"),
            ),
            Err(e) => failures.push(format!("{addr}: {e}")),
        }
    }
    Err(failures.join("; "))
}

/// What a UDP probe can tell.
#[derive(Debug, PartialEq)]
pub enum UdpProbe {
    /// Sent, and no refusal came back (UDP cannot confirm that anything listens).
    NotRefused(SocketAddr),
    /// The host answered that nothing listens on the port (ICMP port unreachable).
    Refused(SocketAddr),
}

/// Sends an empty but valid `emitBatch` (no spans) to the agent from a connected socket, which
/// is the only kind of UDP socket told about an ICMP "port unreachable" answer.
pub fn udp_probe(addrs: &[SocketAddr], service: &str) -> Result<UdpProbe, String> {
    // Like the exporter, prefer IPv4: agents rarely listen on `::1`.
    let addr = *addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .ok_or("no address to probe")?;
    let local: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    socket
        .connect(addr)
        .map_err(|e| format!("no route to {addr}: {e}"))?;
    let datagram = agent_probe::empty_batch(service).map_err(|e| format!("cannot encode the probe: {e}"))?;
    let refused = |e: &std::io::Error| e.kind() == ErrorKind::ConnectionRefused;
    match socket.send(&datagram) {
        Err(e) if refused(&e) => return Ok(UdpProbe::Refused(addr)),
        Err(e) => return Err(format!("sending to {addr} failed: {e}")),
        Ok(_) => {}
    }
    let _ = socket.set_read_timeout(Some(UDP_REFUSAL_WAIT));
    let mut buf = [0u8; 64];
    match socket.recv(&mut buf) {
        Err(e) if refused(&e) => Ok(UdpProbe::Refused(addr)),
        _ => Ok(UdpProbe::NotRefused(addr)),
    }
}
