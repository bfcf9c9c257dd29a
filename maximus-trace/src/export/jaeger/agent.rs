//! The UDP side: resolve the agent's address when first needed, keep one non-blocking socket
//! connected to it, and start over after any failure.
//!
//! Connected, so that the ICMP "port unreachable" of an agent that is not listening comes
//! back as an error: on loopback (the usual agent deployment) it is pending as soon as the
//! send returns, so a datagram nobody received is counted as failed, not as sent. From a
//! remote host the ICMP can arrive later and is then noticed at the next datagram.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// After a failed lookup, exports fail fast for this long instead of each waiting on DNS
/// again (a lookup can take seconds when the resolver is unreachable).
const RETRY_CONNECT_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(super) struct Agent {
    host: String,
    port: u16,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    link: Option<Link>,
    last_failure: Option<ConnectFailure>,
}

#[derive(Debug)]
struct ConnectFailure {
    cause: String,
    at: Instant,
}

/// A socket bound to an ephemeral port of the agent's address family, connected to it.
#[derive(Debug)]
struct Link {
    socket: UdpSocket,
    target: SocketAddr,
}

impl Agent {
    pub fn new(host: String, port: u16) -> Self {
        Agent {
            host,
            port,
            state: Mutex::default(),
        }
    }

    /// `host:port`, with brackets around an IPv6 literal.
    pub fn endpoint(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Sends one datagram, connecting first if needed. A failed send forgets the socket, so
    /// the next one resolves the host again (the agent may have moved).
    pub fn send(&self, datagram: &[u8]) -> Result<(), String> {
        let mut state = self.lock();
        let link = match state.link.take() {
            Some(link) => link,
            None => self.connect(&mut state)?,
        };
        link.send(datagram)?;
        state.link = Some(link);
        Ok(())
    }

    pub fn close(&self) {
        self.lock().link = None;
    }

    /// A panic elsewhere while holding the lock leaves nothing half-done here worth refusing.
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn connect(&self, state: &mut State) -> Result<Link, String> {
        if let Some(failure) = &state.last_failure {
            if failure.at.elapsed() < RETRY_CONNECT_AFTER {
                return Err(format!("{} (retrying shortly)", failure.cause));
            }
        }
        let connected = self.resolve().and_then(Link::bind);
        state.last_failure = connected.as_ref().err().map(|cause| ConnectFailure {
            cause: cause.clone(),
            at: Instant::now(),
        });
        connected
    }

    /// Prefers IPv4: an agent is usually listening on an IPv4 address, and `localhost`
    /// often resolves to `::1` first, where nothing would receive the datagrams.
    fn resolve(&self) -> Result<SocketAddr, String> {
        let addresses: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve host `{}`: {e}", self.host))?
            .collect();
        addresses
            .iter()
            .find(|a| a.is_ipv4())
            .or(addresses.first())
            .copied()
            .ok_or_else(|| format!("host `{}` resolved to no address", self.host))
    }
}

impl Link {
    fn bind(target: SocketAddr) -> Result<Link, String> {
        let local: SocketAddr = if target.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).map_err(|e| format!("cannot bind a local UDP socket: {e}"))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("cannot make the UDP socket non-blocking: {e}"))?;
        socket
            .connect(target)
            .map_err(|e| format!("cannot connect a UDP socket to {target}: {e}"))?;
        Ok(Link { socket, target })
    }

    fn send(&self, datagram: &[u8]) -> Result<(), String> {
        match self.socket.send(datagram) {
            Ok(sent) if sent != datagram.len() => {
                return Err(format!("sent only {sent} of {} bytes", datagram.len()));
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                return Err("the socket's send buffer is full".to_owned());
            }
            Err(e) => return Err(format!("send to {} failed: {e}", self.target)),
        }
        // The agent's refusal of this datagram (or, from afar, of an earlier one).
        match self.socket.take_error() {
            Ok(Some(e)) | Err(e) => Err(format!("{} refused the datagram: {e}", self.target)),
            Ok(None) => Ok(()),
        }
    }
}
