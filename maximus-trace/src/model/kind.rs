//! The role a span plays in a request.

/// What role a span plays in a request, as OpenTelemetry defines it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// Work inside one service. The default.
    #[default]
    Internal,
    /// An outgoing request (HTTP client call, database query).
    Client,
    /// The handling of an incoming request.
    Server,
    /// A message sent to a queue.
    Producer,
    /// A message taken from a queue.
    Consumer,
}

impl SpanKind {
    pub(crate) fn into_otel(self) -> opentelemetry::trace::SpanKind {
        use opentelemetry::trace::SpanKind as O;
        match self {
            SpanKind::Internal => O::Internal,
            SpanKind::Client => O::Client,
            SpanKind::Server => O::Server,
            SpanKind::Producer => O::Producer,
            SpanKind::Consumer => O::Consumer,
        }
    }
}
