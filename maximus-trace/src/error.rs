//! Recording errors and panics on spans as OpenTelemetry `exception` events.
//!
//! Recording an error must cost the caller microseconds, even with `RUST_BACKTRACE=1` set as
//! in many production services: symbolising a backtrace takes tens of milliseconds. So the
//! caller's thread keeps only what it must (the error type's name, the message, the
//! `source()` chain as text, and the raw frames when backtraces are on), and the export
//! thread renders the `exception.*` attributes, resolving each distinct stack once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock, PoisonError};

use crate::engine::limits;
use crate::engine::record::{Attr, EventRecord, Record};
use crate::model::Status;
use crate::model::KeyValue;

/// An error recorded on a span, rendered into attributes on the export thread.
#[derive(Clone, Debug)]
pub(crate) struct Exception {
    /// `std::any::type_name` of the error, made readable when rendered.
    type_name: &'static str,
    message: String,
    /// `caused by: ...` lines, one per `source()`.
    causes: String,
    /// The stack at the call, unresolved.
    frames: Option<backtrace::Backtrace>,
    /// `exception.type`, `.message`, `.stacktrace`, rendered once (the OTLP encoder reads
    /// them twice: to size and to write).
    rendered: OnceLock<Vec<Attr>>,
}

impl Exception {
    /// `error`, with its `source()` chain and, when `RUST_BACKTRACE` asks, the stack.
    pub(crate) fn of_error<E: std::error::Error + ?Sized>(error: &E, message: String) -> Self {
        let mut causes = String::new();
        let mut source = error.source();
        while let Some(cause) = source {
            let _ = writeln!(causes, "caused by: {cause}");
            source = cause.source();
        }
        Exception {
            type_name: std::any::type_name::<E>(),
            message,
            causes,
            frames: backtraces_on().then(capture_frames),
            rendered: OnceLock::new(),
        }
    }

    /// A value that is only `Display` (the `Err` of a `#[trace_span]` function): its type
    /// and message.
    pub(crate) fn of_display<E: ?Sized>(message: String) -> Self {
        Exception {
            type_name: std::any::type_name::<E>(),
            message,
            causes: String::new(),
            frames: None,
            rendered: OnceLock::new(),
        }
    }

    /// Bytes it holds on the heap (frames estimated at 32 bytes each before resolution).
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Exception>()
            + self.message.capacity()
            + self.causes.capacity()
            + self.frames.as_ref().map_or(0, |f| f.frames().len() * 32)
    }

    /// The error's message.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The `exception.*` attributes (rendered on first use, on the export thread).
    pub(crate) fn attributes(&self) -> &[Attr] {
        self.rendered.get_or_init(|| {
            let limits = limits::current();
            let mut attributes = vec![
                KeyValue::new("exception.type", readable_type_name(self.type_name)),
                KeyValue::new("exception.message", self.message.clone()),
            ];
            let mut stacktrace = self.causes.clone();
            if let Some(frames) = &self.frames {
                stacktrace.push_str(&resolved(frames));
            }
            if !stacktrace.is_empty() {
                attributes.push(KeyValue::new("exception.stacktrace", stacktrace));
            }
            attributes
                .into_iter()
                .map(|kv| Attr::from_key_value(kv, &limits))
                .collect()
        })
    }
}

// ---- backtraces ----

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

/// Whether errors carry a backtrace: as std decides for `Backtrace::capture` (the
/// `RUST_LIB_BACKTRACE` variable, else `RUST_BACKTRACE`, set and not `0`), read once.
static BACKTRACES: AtomicU8 = AtomicU8::new(UNKNOWN);

fn backtraces_on() -> bool {
    match BACKTRACES.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => {
            let var = std::env::var_os("RUST_LIB_BACKTRACE").or_else(|| std::env::var_os("RUST_BACKTRACE"));
            let on = var.is_some_and(|v| v != "0");
            BACKTRACES.store(if on { ON } else { OFF }, Ordering::Relaxed);
            on
        }
    }
}

/// Overrides the environment (the benchmark measures both in one process).
#[doc(hidden)]
pub fn force_backtraces(on: bool) {
    BACKTRACES.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// The raw frames of the caller's stack: no symbol lookup (that is the expensive part).
#[inline(never)]
fn capture_frames() -> backtrace::Backtrace {
    backtrace::Backtrace::new_unresolved()
}

/// Distinct stacks resolved so far, by their frames' addresses: a storm of the same error
/// is symbolised once.
static RESOLVED: Mutex<Option<HashMap<Vec<usize>, Arc<str>>>> = Mutex::new(None);

/// More distinct stacks than this and the cache starts over (its memory stays bounded).
const MAX_RESOLVED: usize = 256;

fn resolved(frames: &backtrace::Backtrace) -> Arc<str> {
    let key: Vec<usize> = frames.frames().iter().map(|f| f.ip() as usize).collect();
    let cached = RESOLVED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|cache| cache.get(&key).cloned());
    if let Some(text) = cached {
        return text;
    }
    // Resolved outside the lock: it takes milliseconds.
    let mut frames = frames.clone();
    frames.resolve();
    let text: Arc<str> = Arc::from(format_frames(&frames));
    let mut cache = RESOLVED.lock().unwrap_or_else(PoisonError::into_inner);
    let cache = cache.get_or_insert_with(HashMap::new);
    if cache.len() >= MAX_RESOLVED {
        cache.clear();
    }
    cache.insert(key, Arc::clone(&text));
    text
}

/// As std's `Backtrace` displays a capture: frames from the caller of the capture on,
/// numbered, each symbol's demangled name and its `at file:line:column`.
fn format_frames(frames: &backtrace::Backtrace) -> String {
    let names = |frame: &backtrace::BacktraceFrame| -> Vec<String> {
        frame
            .symbols()
            .iter()
            .map(|s| {
                s.name()
                    .map_or_else(|| "<unknown>".to_owned(), |n| format!("{n:#}"))
            })
            .collect()
    };
    // Start at the caller: skip the recording path (`record_error`, ..., `of_error`).
    let recording = |name: &String| {
        name.starts_with("maximus_trace::")
            && (name.ends_with("::record_error")
                || name.ends_with("::error_ops")
                || name.ends_with("::of_error"))
    };
    let start = frames
        .frames()
        .iter()
        .take(32)
        .rposition(|f| names(f).iter().any(recording))
        .map_or(0, |i| i + 1);
    let mut out = String::new();
    for (i, frame) in frames.frames()[start..].iter().enumerate() {
        let symbols = frame.symbols();
        if symbols.is_empty() {
            let _ = writeln!(out, "{i:4}: <unknown>");
        }
        for symbol in symbols {
            let name = symbol
                .name()
                .map_or_else(|| "<unknown>".to_owned(), |n| format!("{n:#}"));
            let _ = writeln!(out, "{i:4}: {name}");
            if let (Some(file), Some(line)) = (symbol.filename(), symbol.lineno()) {
                let _ = match symbol.colno() {
                    Some(col) => writeln!(out, "             at {}:{line}:{col}", file.display()),
                    None => writeln!(out, "             at {}:{line}", file.display()),
                };
            }
        }
    }
    out
}

// ---- type names ----

/// A type's name as a Rust developer writes it: `PaymentDeclined`, `std::io::Error`,
/// `String`, `Box<dyn Error>`, instead of `std::any::type_name`'s full paths
/// (`alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>`).
///
/// Types of the standard library keep their public path (`std::num::ParseIntError`, not
/// `core::num::error::ParseIntError`), the prelude's lose it (`String`, `Box`), others keep
/// their last segment; auto traits are dropped from trait objects. The concrete type behind
/// a trait object cannot be known: it stays `dyn Error`.
pub(crate) fn readable_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut path = String::new();
    let flush = |path: &mut String, out: &mut String| {
        if !path.is_empty() {
            out.push_str(&readable_path(path));
            path.clear();
        }
    };
    for c in name.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            path.push(c);
        } else {
            flush(&mut path, &mut out);
            out.push(c);
        }
    }
    flush(&mut path, &mut out);
    for auto in [
        " + Send",
        " + Sync",
        " + Unpin",
        " + UnwindSafe",
        " + RefUnwindSafe",
    ] {
        out = out.replace(auto, "");
    }
    out
}

/// One path of a type name.
fn readable_path(path: &str) -> String {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let Some(last) = segments.last() else {
        return path.to_owned();
    };
    match segments[0] {
        // Marker traits (`Send`, `Sync`, `UnwindSafe`) are written bare.
        "core" | "alloc" | "std" if segments.len() > 1 && matches!(segments[1], "marker" | "panic") => {
            (*last).to_owned()
        }
        "core" | "alloc" | "std" if segments.len() > 1 => {
            const PRELUDE: [&str; 7] = ["String", "Box", "Vec", "Option", "Result", "Error", "ToString"];
            // `core::error::Error` is the `Error` trait everyone imports.
            let prelude = PRELUDE.contains(last) && !(segments[1] == "io" || segments[1] == "fmt");
            if prelude {
                (*last).to_owned()
            } else {
                // The public module is the first below the crate: `core::num::error::X`
                // is `std::num::X`.
                format!("std::{}::{last}", segments[1])
            }
        }
        _ => (*last).to_owned(),
    }
}

// ---- panics ----

thread_local! {
    /// The message of the panic unwinding on this thread, captured by our panic hook so the
    /// spans it unwinds through can record it.
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that remembers the panic message for the spans being
/// unwound, then runs the previous hook unchanged.
pub(crate) fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-string payload".to_owned());
            let location = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            PANIC_MESSAGE.with(|m| *m.borrow_mut() = Some(format!("{message}{location}")));
            previous(info);
        }));
    });
}

/// Marks `record` as ended by a panic: status ERROR and an `exception` event with
/// `exception.type = "panic"`.
pub(crate) fn record_panic(record: &mut Record) {
    let message = PANIC_MESSAGE
        .try_with(|m| m.borrow().clone())
        .ok()
        .flatten()
        .unwrap_or_else(|| "panicked".to_owned());
    record.add_event(EventRecord::new(
        "exception".into(),
        [
            KeyValue::new("exception.type", "panic"),
            KeyValue::new("exception.message", message.clone()),
            KeyValue::new("exception.escaped", true),
        ],
    ));
    record.set_status(Status::error(format!("panic: {message}")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_read_as_a_rust_developer_writes_them() {
        for (raw, readable) in [
            ("alloc::string::String", "String"),
            ("std::io::error::Error", "std::io::Error"),
            ("core::num::error::ParseIntError", "std::num::ParseIntError"),
            ("core::fmt::Error", "std::fmt::Error"),
            ("shop::payment::PaymentDeclined", "PaymentDeclined"),
            (
                "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>",
                "Box<dyn Error>",
            ),
            ("dyn core::error::Error", "dyn Error"),
            ("&str", "&str"),
            ("anyhow::Error", "Error"),
            (
                "shop::Wrapper<alloc::vec::Vec<shop::Item>, std::io::error::Error>",
                "Wrapper<Vec<Item>, std::io::Error>",
            ),
        ] {
            assert_eq!(readable_type_name(raw), readable, "{raw}");
        }
    }

    #[test]
    fn an_error_renders_type_message_and_cause_chain() {
        let io = std::io::Error::other("disk full");
        let exception = Exception::of_error(&io, io.to_string());
        let attributes = exception.attributes();
        let text = |i: usize| match &attributes[i].value {
            crate::engine::record::AttrValue::Str(s) => s.as_str().to_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(attributes[0].key.as_str(), "exception.type");
        assert_eq!(text(0), "std::io::Error");
        assert_eq!(attributes[1].key.as_str(), "exception.message");
        assert_eq!(text(1), "disk full");
    }

    #[test]
    fn a_backtrace_starts_at_the_caller_and_is_resolved_once_per_stack() {
        force_backtraces(true);
        // The same call site twice: the same stack.
        let both: Vec<Exception> = (0..2)
            .map(|_| Exception::of_error(&std::io::Error::other("x"), "x".into()))
            .collect();
        let (a, b) = (&both[0], &both[1]);
        force_backtraces(false);
        let text = |e: &Exception| match &e.attributes()[2].value {
            crate::engine::record::AttrValue::Str(s) => s.as_str().to_owned(),
            other => panic!("{other:?}"),
        };
        let first = text(a);
        assert!(
            first.starts_with("   0: maximus_trace::error::tests::a_backtrace_starts_at_the_caller"),
            "{first}"
        );
        assert!(!first.contains("of_error"), "{first}");
        assert_eq!(first, text(b));
    }
}
