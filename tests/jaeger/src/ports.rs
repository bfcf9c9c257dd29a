//! Free loopback ports, for processes that must be told a port number.

use std::net::{TcpListener, UdpSocket};

/// `n` distinct TCP ports free on 127.0.0.1 right now. They are held until all are chosen,
/// so the list has no duplicates; another process may still take one before its user binds
/// it (callers retry a start that failed to bind).
pub fn tcp(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free TCP port on 127.0.0.1"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("bound address").port())
        .collect()
}

/// A UDP port free on 127.0.0.1 right now, and not in `avoid`.
pub fn udp(avoid: &[u16]) -> u16 {
    loop {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a free UDP port on 127.0.0.1");
        let port = socket.local_addr().expect("bound address").port();
        if !avoid.contains(&port) {
            return port;
        }
    }
}
