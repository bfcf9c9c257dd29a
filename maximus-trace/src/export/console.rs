//! A person-readable exporter: each finished trace as an indented tree with durations and
//! attributes, like the "Trace Timeline" of the design notes.
//!
//! Spans end child-first, so spans wait here until their trace's local root ends; then the
//! whole tree is printed at once. `force_flush` and shutdown print whatever is left.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Prints finished traces as trees to a writer (standard output by default).
pub struct ConsoleExporter {
    state: Mutex<State>,
}

struct State {
    out: Box<dyn Write + Send>,
    pending: HashMap<TraceId, (Instant, Vec<SpanData>)>,
    service: String,
}

impl std::fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleExporter").finish_non_exhaustive()
    }
}

impl ConsoleExporter {
    /// Prints to standard output.
    pub fn stdout() -> Self {
        Self::with_writer(Box::new(std::io::stdout()))
    }

    /// Prints to any writer (a file, a buffer in tests).
    pub fn with_writer(out: Box<dyn Write + Send>) -> Self {
        ConsoleExporter {
            state: Mutex::new(State {
                out,
                pending: HashMap::new(),
                service: "unknown_service".to_owned(),
            }),
        }
    }

    fn print_complete(state: &mut State, only_complete: bool) -> std::io::Result<()> {
        let mut ready: Vec<(std::time::SystemTime, TraceId)> = state
            .pending
            .iter()
            .filter(|(_, (since, spans))| !only_complete || is_complete(*since, spans))
            .map(|(id, (_, spans))| (earliest_start(spans), *id))
            .collect();
        // Traces in the order they began, as a person reads a log.
        ready.sort_by_key(|(start, _)| *start);
        let ready = ready.into_iter().map(|(_, id)| id);
        for id in ready {
            if let Some((_, spans)) = state.pending.remove(&id) {
                let text = render_trace(&state.service, &spans);
                state.out.write_all(text.as_bytes())?;
            }
        }
        state.out.flush()
    }
}

fn earliest_start(spans: &[SpanData]) -> std::time::SystemTime {
    spans
        .iter()
        .map(|s| s.start_time)
        .min()
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// How long spans continuing a remote trace wait for the rest of their local tree.
const REMOTE_TREE_WAIT: Duration = Duration::from_secs(2);

/// A trace is printed once its root ended. A trace continued from another process has no
/// root here: it is printed once its remote-parented span ended and the others had time to.
fn is_complete(since: Instant, spans: &[SpanData]) -> bool {
    spans.iter().any(|s| s.parent_span_id == SpanId::INVALID)
        || (since.elapsed() >= REMOTE_TREE_WAIT && spans.iter().any(|s| s.parent_span_is_remote))
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut state = self
            .state
            .lock()
            .map_err(|_| internal("console exporter lock poisoned"))?;
        for span in batch {
            let entry = state.pending.entry(span.span_context.trace_id());
            entry.or_insert_with(|| (Instant::now(), Vec::new())).1.push(span);
        }
        Self::print_complete(&mut state, true).map_err(|e| internal(&e.to_string()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut state = self
            .state
            .lock()
            .map_err(|_| internal("console exporter lock poisoned"))?;
        Self::print_complete(&mut state, false).map_err(|e| internal(&e.to_string()))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(name) = resource.get(&opentelemetry::Key::from_static_str("service.name")) {
            if let Ok(state) = self.state.get_mut() {
                state.service = name.to_string();
            }
        }
    }
}

fn internal(message: &str) -> opentelemetry_sdk::error::OTelSdkError {
    opentelemetry_sdk::error::OTelSdkError::InternalFailure(message.to_owned())
}

/// Renders the spans of one trace as a tree. Spans whose parent is not among them (a
/// remote parent, or a parent that has not ended yet) are drawn as roots.
pub fn render_trace(service: &str, spans: &[SpanData]) -> String {
    let mut out = String::new();
    let Some(first) = spans.first() else { return out };
    let _ = writeln!(out, "trace {} ({service})", first.span_context.trace_id());
    let ids: std::collections::HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut roots: Vec<&SpanData> = spans
        .iter()
        .filter(|s| !ids.contains(&s.parent_span_id))
        .collect();
    roots.sort_by_key(|s| s.start_time);
    for (i, root) in roots.iter().enumerate() {
        render_span(&mut out, spans, root, "", i + 1 == roots.len());
    }
    out
}

fn render_span(out: &mut String, all: &[SpanData], span: &SpanData, indent: &str, last: bool) {
    let branch = if last { "└─ " } else { "├─ " };
    let duration = span.end_time.duration_since(span.start_time).unwrap_or_default();
    let _ = write!(out, "{indent}{branch}{}", span.name);
    if span.span_kind != SpanKind::Internal {
        let _ = write!(out, " [{}]", kind_name(&span.span_kind));
    }
    let _ = write!(out, "  {:.3} ms", duration.as_secs_f64() * 1000.0);
    match &span.status {
        Status::Error { description } => {
            let _ = write!(out, "  ERROR: {description}");
        }
        Status::Ok => out.push_str("  OK"),
        Status::Unset => {}
    }
    for kv in &span.attributes {
        let _ = write!(out, "  {}={}", kv.key, one_line(&kv.value.to_string()));
    }
    out.push('\n');
    let child_indent = format!("{indent}{}", if last { "   " } else { "│  " });
    for event in span.events.iter() {
        let _ = write!(out, "{child_indent}· {}", event.name);
        for kv in &event.attributes {
            let _ = write!(out, "  {}={}", kv.key, one_line(&kv.value.to_string()));
        }
        out.push('\n');
    }
    let mut children: Vec<&SpanData> = all
        .iter()
        .filter(|s| s.parent_span_id == span.span_context.span_id())
        .collect();
    children.sort_by_key(|s| s.start_time);
    for (i, child) in children.iter().enumerate() {
        render_span(out, all, child, &child_indent, i + 1 == children.len());
    }
}

/// The first line of a multi-line value (a stack trace), with a count of the rest: the tree
/// stays a tree.
fn one_line(value: &str) -> String {
    let mut lines = value.lines();
    let first = lines.next().unwrap_or("");
    match lines.count() {
        0 => first.to_owned(),
        more => format!("{first} (+{more} lines)"),
    }
}

fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "client",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}
