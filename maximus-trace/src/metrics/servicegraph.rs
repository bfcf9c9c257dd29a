//! Service graph edges, as the OpenTelemetry Collector's `servicegraph` connector builds them
//! (opentelemetry-collector-contrib `connector/servicegraphconnector/README.md`): a client (or
//! producer) span and the server (or consumer) span whose parent it is form one request
//! between two services. The first half seen waits, keyed by trace id and the client's span id,
//! until its other half arrives or its time runs out.
//!
//! Both halves are only seen here when both services export through this pipeline (an
//! in-process server, a mock, a monolith with several `service.name`s); otherwise run the
//! collector's connector, which sees every service. Client spans to a database
//! (`db.system`) and, once unpaired, client spans naming a `peer.service` make edges on their
//! own, as the connector's database and virtual-node edges do.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry_sdk::trace::SpanData;

use super::histogram::{EDGE_LATENCY_S, Histogram};

/// Halves waiting for their other half; beyond this, new halves are dropped and counted.
const MAX_PENDING: usize = 1_000;

/// The connector's `connection_type` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Connection {
    Direct,
    Messaging,
    Database,
    VirtualNode,
}

impl Connection {
    pub fn label(self) -> &'static str {
        match self {
            Connection::Direct => "",
            Connection::Messaging => "messaging_system",
            Connection::Database => "database",
            Connection::VirtualNode => "virtual_node",
        }
    }
}

/// One edge of the graph: `client` calls `server`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct EdgeKey {
    pub client: String,
    pub server: String,
    pub connection: Connection,
}

/// What was seen on one edge.
#[derive(Clone, Debug)]
pub(crate) struct Edge {
    pub requests: u64,
    pub failed: u64,
    pub client_seconds: Histogram,
    pub server_seconds: Histogram,
}

impl Default for Edge {
    fn default() -> Self {
        Edge {
            requests: 0,
            failed: 0,
            client_seconds: Histogram::new(EDGE_LATENCY_S),
            server_seconds: Histogram::new(EDGE_LATENCY_S),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// One side of a request, waiting for the other.
#[derive(Debug)]
struct Half {
    side: Side,
    service: String,
    seconds: f64,
    failed: bool,
    connection: Connection,
    peer: Option<String>,
    expires: Instant,
}

#[derive(Debug)]
pub(crate) struct ServiceGraph {
    pending: HashMap<(TraceId, SpanId), Half>,
    edges: BTreeMap<EdgeKey, Edge>,
    unpaired: BTreeMap<EdgeKey, u64>,
    dropped: BTreeMap<EdgeKey, u64>,
    ttl: Duration,
}

impl ServiceGraph {
    /// `ttl`: how long a half waits for the other (it must outlast the batch delay, since the
    /// two halves may be exported in different batches).
    pub fn new(ttl: Duration) -> Self {
        ServiceGraph {
            pending: HashMap::new(),
            edges: BTreeMap::new(),
            unpaired: BTreeMap::new(),
            dropped: BTreeMap::new(),
            ttl,
        }
    }

    /// Takes one ended span; `default_service` is the pipeline's `service.name`, which a
    /// span's own `service.name` attribute overrides.
    pub fn observe(&mut self, span: &SpanData, default_service: &str, now: Instant) {
        let (side, connection) = match span.span_kind {
            SpanKind::Client => (Side::Client, Connection::Direct),
            SpanKind::Producer => (Side::Client, Connection::Messaging),
            SpanKind::Server => (Side::Server, Connection::Direct),
            SpanKind::Consumer => (Side::Server, Connection::Messaging),
            SpanKind::Internal => return,
        };
        let service = string_attribute(span, "service.name").unwrap_or_else(|| default_service.to_owned());
        let seconds = super::duration(span).as_secs_f64();
        let failed = matches!(span.status, Status::Error { .. });
        if side == Side::Client && connection == Connection::Direct {
            if let Some(database) = database(span) {
                let key = EdgeKey {
                    client: service,
                    server: database,
                    connection: Connection::Database,
                };
                self.record(key, Some(seconds), None, failed);
                return;
            }
        }
        let trace_id = span.span_context.trace_id();
        let key = match side {
            Side::Client => (trace_id, span.span_context.span_id()),
            Side::Server if span.parent_span_id == SpanId::INVALID => return,
            Side::Server => (trace_id, span.parent_span_id),
        };
        let half = Half {
            side,
            service,
            seconds,
            failed,
            connection,
            peer: (side == Side::Client)
                .then(|| string_attribute(span, "peer.service"))
                .flatten(),
            expires: now + self.ttl,
        };
        match self.pending.remove(&key) {
            Some(other) if other.side != side => match side {
                Side::Client => self.pair(half, other),
                Side::Server => self.pair(other, half),
            },
            _ if self.pending.len() >= MAX_PENDING => {
                *self.dropped.entry(half.alone()).or_default() += 1;
            }
            _ => {
                self.pending.insert(key, half);
            }
        }
    }

    /// Settles every half whose time ran out: a client naming its `peer.service` becomes an
    /// edge to that (virtual) node; the rest are counted as unpaired.
    pub fn expire(&mut self, now: Instant) {
        if self.pending.values().all(|h| h.expires > now) {
            return;
        }
        let expired: Vec<(TraceId, SpanId)> = self
            .pending
            .iter()
            .filter(|(_, h)| h.expires <= now)
            .map(|(k, _)| *k)
            .collect();
        for key in expired {
            let Some(half) = self.pending.remove(&key) else {
                continue;
            };
            match half.peer.clone() {
                Some(peer) if half.side == Side::Client => {
                    let key = EdgeKey {
                        client: half.service,
                        server: peer,
                        connection: Connection::VirtualNode,
                    };
                    self.record(key, Some(half.seconds), None, half.failed);
                }
                _ => *self.unpaired.entry(half.alone()).or_default() += 1,
            }
        }
    }

    pub fn edges(&self) -> &BTreeMap<EdgeKey, Edge> {
        &self.edges
    }

    pub fn unpaired(&self) -> &BTreeMap<EdgeKey, u64> {
        &self.unpaired
    }

    pub fn dropped(&self) -> &BTreeMap<EdgeKey, u64> {
        &self.dropped
    }

    fn pair(&mut self, client: Half, server: Half) {
        let key = EdgeKey {
            client: client.service,
            server: server.service,
            connection: client.connection,
        };
        self.record(
            key,
            Some(client.seconds),
            Some(server.seconds),
            client.failed || server.failed,
        );
    }

    fn record(&mut self, key: EdgeKey, client: Option<f64>, server: Option<f64>, failed: bool) {
        let edge = self.edges.entry(key).or_default();
        edge.requests += 1;
        edge.failed += u64::from(failed);
        if let Some(seconds) = client {
            edge.client_seconds.record(seconds);
        }
        if let Some(seconds) = server {
            edge.server_seconds.record(seconds);
        }
    }
}

impl Half {
    /// The edge label set of a half without its other side (for the unpaired and dropped
    /// counters): the missing side is empty.
    fn alone(&self) -> EdgeKey {
        let (client, server) = match self.side {
            Side::Client => (self.service.clone(), String::new()),
            Side::Server => (String::new(), self.service.clone()),
        };
        EdgeKey {
            client,
            server,
            connection: self.connection,
        }
    }
}

/// The database a client span talks to: `db.name` (or the newer `db.namespace`), else the
/// `db.system`; `None` when the span is not a database call.
fn database(span: &SpanData) -> Option<String> {
    let system = string_attribute(span, "db.system").or_else(|| string_attribute(span, "db.system.name"))?;
    Some(
        string_attribute(span, "db.name")
            .or_else(|| string_attribute(span, "db.namespace"))
            .unwrap_or(system),
    )
}

/// The last value set for `key` (later values replace earlier ones), when not empty.
fn string_attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .rev()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
        .filter(|v| !v.is_empty())
}
