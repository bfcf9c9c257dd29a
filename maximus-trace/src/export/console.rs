//! A person-readable exporter: each finished trace as an indented tree with durations and
//! attributes, like the "Trace Timeline" of the design notes.
//!
//! Spans end child-first, so spans wait here until their trace's local root ends; then the
//! whole tree is printed at once. `force_flush` and shutdown print whatever is left.
//!
//! The copies that `print_traces(true)` adds to pipelines share one set of pending trees per
//! process, so that a trace crossing two pipelines of one process (a client and an
//! in-process server reporting as another service) prints as one tree, each span that
//! belongs to another service than the trace's first one labelled with its service.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Prints finished traces as trees to a writer (standard output by default).
pub struct ConsoleExporter {
    trees: Arc<Mutex<Trees>>,
    /// This exporter's `service.name` (from its pipeline's resource).
    service: Arc<str>,
    /// Part of the process-wide trees: a flush prints only the trees that are complete,
    /// since another pipeline may still hold part of the others.
    shared: bool,
}

/// Spans waiting for the rest of their trace, and where trees are printed.
struct Trees {
    out: Box<dyn Write + Send>,
    pending: HashMap<TraceId, Pending>,
}

struct Pending {
    since: Instant,
    spans: Vec<SpanData>,
    /// The service of each span of `spans`, at the same index.
    services: Vec<Arc<str>>,
}

impl std::fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleExporter")
            .field("service", &self.service)
            .finish_non_exhaustive()
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
            trees: Arc::new(Mutex::new(Trees {
                out,
                pending: HashMap::new(),
            })),
            service: Arc::from("unknown_service"),
            shared: false,
        }
    }

    /// Prints to standard output through the process-wide trees (`print_traces(true)`).
    pub(crate) fn shared_stdout() -> Self {
        static TREES: OnceLock<Arc<Mutex<Trees>>> = OnceLock::new();
        let trees = TREES.get_or_init(|| {
            Arc::new(Mutex::new(Trees {
                out: Box::new(std::io::stdout()),
                pending: HashMap::new(),
            }))
        });
        ConsoleExporter {
            trees: Arc::clone(trees),
            service: Arc::from("unknown_service"),
            shared: true,
        }
    }

    fn print(&self, which: Which) -> OTelSdkResult {
        let mut trees = self
            .trees
            .lock()
            .map_err(|_| internal("console exporter lock poisoned"))?;
        trees.print(which).map_err(|e| internal(&e.to_string()))
    }
}

/// Which pending traces to print.
#[derive(Clone, Copy, PartialEq)]
enum Which {
    Complete,
    All,
}

impl Trees {
    fn print(&mut self, which: Which) -> std::io::Result<()> {
        let mut ready: Vec<(std::time::SystemTime, TraceId)> = self
            .pending
            .iter()
            .filter(|(_, pending)| which == Which::All || is_complete(pending.since, &pending.spans))
            .map(|(id, pending)| (earliest_start(&pending.spans), *id))
            .collect();
        // Traces in the order they began, as a person reads a log.
        ready.sort_by_key(|(start, _)| *start);
        for (_, id) in ready {
            if let Some(pending) = self.pending.remove(&id) {
                let text = render_services(&pending.spans, &pending.services);
                self.out.write_all(text.as_bytes())?;
            }
        }
        self.out.flush()
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
        let mut trees = self
            .trees
            .lock()
            .map_err(|_| internal("console exporter lock poisoned"))?;
        for span in batch {
            let pending = trees
                .pending
                .entry(span.span_context.trace_id())
                .or_insert_with(|| Pending {
                    since: Instant::now(),
                    spans: Vec::new(),
                    services: Vec::new(),
                });
            pending.spans.push(span);
            pending.services.push(Arc::clone(&self.service));
        }
        trees.print(Which::Complete).map_err(|e| internal(&e.to_string()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.print(if self.shared { Which::Complete } else { Which::All })
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.print(Which::All)
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(name) = resource.get(&opentelemetry::Key::from_static_str("service.name")) {
            self.service = Arc::from(name.to_string());
        }
    }
}

fn internal(message: &str) -> opentelemetry_sdk::error::OTelSdkError {
    opentelemetry_sdk::error::OTelSdkError::InternalFailure(message.to_owned())
}

/// Renders the spans of one trace as a tree. Spans whose parent is not among them (a
/// remote parent, or a parent that has not ended yet) are drawn as roots.
pub fn render_trace(service: &str, spans: &[SpanData]) -> String {
    let service: Arc<str> = Arc::from(service);
    render_services(spans, &vec![service; spans.len()])
}

/// [`render_trace`] for spans of several services (`services[i]` is the service of
/// `spans[i]`): the header names the service of the trace's earliest root, and spans of
/// another service are prefixed with theirs.
fn render_services(spans: &[SpanData], services: &[Arc<str>]) -> String {
    let mut out = String::new();
    let Some(first) = spans.first() else { return out };
    let ids: std::collections::HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut roots: Vec<usize> = (0..spans.len())
        .filter(|&i| !ids.contains(&spans[i].parent_span_id))
        .collect();
    roots.sort_by_key(|&i| spans[i].start_time);
    let main = roots.first().map_or(&services[0], |&i| &services[i]);
    let _ = writeln!(out, "trace {} ({main})", first.span_context.trace_id());
    let tree = Tree {
        spans,
        services,
        main,
    };
    for (n, &root) in roots.iter().enumerate() {
        tree.render(&mut out, root, "", n + 1 == roots.len());
    }
    out
}

/// The spans of one trace being rendered.
struct Tree<'a> {
    spans: &'a [SpanData],
    services: &'a [Arc<str>],
    /// The service named in the header.
    main: &'a str,
}

impl Tree<'_> {
    fn render(&self, out: &mut String, index: usize, indent: &str, last: bool) {
        let span = &self.spans[index];
        let branch = if last { "└─ " } else { "├─ " };
        let duration = span.end_time.duration_since(span.start_time).unwrap_or_default();
        let _ = write!(out, "{indent}{branch}");
        if *self.services[index] != *self.main {
            let _ = write!(out, "{}: ", self.services[index]);
        }
        out.push_str(&span.name);
        render_details(out, span, duration);
        let child_indent = format!("{indent}{}", if last { "   " } else { "│  " });
        render_events(out, span, &child_indent);
        let mut children: Vec<usize> = (0..self.spans.len())
            .filter(|&i| self.spans[i].parent_span_id == span.span_context.span_id())
            .collect();
        children.sort_by_key(|&i| self.spans[i].start_time);
        for (n, &child) in children.iter().enumerate() {
            self.render(out, child, &child_indent, n + 1 == children.len());
        }
    }
}

/// Kind, duration, status and attributes, on the span's line.
fn render_details(out: &mut String, span: &SpanData, duration: Duration) {
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
}

/// The span's events, one line each, under its line.
fn render_events(out: &mut String, span: &SpanData, indent: &str) {
    for event in span.events.iter() {
        let _ = write!(out, "{indent}· {}", event.name);
        for kv in &event.attributes {
            let _ = write!(out, "  {}={}", kv.key, one_line(&kv.value.to_string()));
        }
        out.push('\n');
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
