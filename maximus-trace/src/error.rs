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
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Once, OnceLock, PoisonError};

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
        // Captured here, so that the stack's top is the capture path (`CAPTURE_PATH`).
        Self::with_frames(error, message, backtraces_on().then(capture_frames))
    }

    /// `error`, with its `source()` chain and the stack `frames` (tests pass theirs rather
    /// than turn the process's backtraces on).
    fn with_frames<E: std::error::Error + ?Sized>(
        error: &E,
        message: String,
        frames: Option<backtrace::Backtrace>,
    ) -> Self {
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
            frames,
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
///
/// Never inlined, and not ending in a tail call (which would leave no frame of its own), so
/// that even a binary without debuginfo has a symbol that marks where our frames end.
#[inline(never)]
fn capture_frames() -> backtrace::Backtrace {
    let frames = backtrace::Backtrace::new_unresolved();
    std::hint::black_box(());
    frames
}

/// The functions that lead from the user's call down to [`capture_frames`], by their last
/// path segment: a rendered stack starts below the last of them. Inlined into the user's
/// function (release builds), they are symbols of the user's frame rather than frames.
/// A new caller of `capture_frames` belongs here.
const CAPTURE_PATH: [&str; 4] = ["record_error", "error_ops", "of_error", "capture_frames"];

/// How many symbols from the top of a stack can be ours: the backtrace crate's own and the
/// capture path, with room to spare.
const CAPTURE_DEPTH: usize = 64;

/// A symbol of a stack: its demangled name and source file, when known.
#[derive(Clone, Copy, Debug)]
struct Symbol<'a> {
    name: Option<&'a str>,
    file: Option<&'a Path>,
}

/// Whether `symbol` is one of [`CAPTURE_PATH`] (or a closure in one). Its name is a path in
/// either mangling (`maximus_trace::span::SpanRef::record_error`, legacy, or
/// `<maximus_trace::span::SpanRef>::record_error::<shop::Declined>`, v0), or, from debuginfo
/// reduced to line tables, the function's name alone (`record_error<shop::Declined>`): then
/// its file tells whether it is ours.
fn on_capture_path(symbol: Symbol<'_>) -> bool {
    let Some(name) = symbol.name else {
        return false;
    };
    let path = plain_path(name);
    match path.split("::").collect::<Vec<_>>().as_slice() {
        [function] => CAPTURE_PATH.contains(function) && symbol.file.is_some_and(in_this_crate),
        [krate, rest @ ..] => *krate == "maximus_trace" && rest.iter().any(|s| CAPTURE_PATH.contains(s)),
        [] => false,
    }
}

/// Whether a source file is one of this crate's, which `file!()` names relative to the
/// workspace (`maximus-trace/src/error.rs`) or absolute (from a registry); debuginfo names
/// them absolute.
fn in_this_crate(file: &Path) -> bool {
    let Some(src) = Path::new(file!())
        .parent()
        .filter(|src| !src.as_os_str().is_empty())
    else {
        return false;
    };
    file.ancestors().any(|dir| dir.ends_with(src))
}

/// A demangled symbol's path without generic arguments or the brackets of an impl:
/// `<a::Type as a::Trait>::f::<u8>` is `a::Type::f`.
fn plain_path(symbol: &str) -> String {
    // An arrow's `>` closes nothing.
    let symbol = symbol.replace("->", "-~");
    // `<Self>::rest` or `<Self as Trait>::rest`: the self type, then the rest.
    let impl_close = symbol
        .starts_with('<')
        .then(|| depths(&symbol).find(|&(_, c, d)| c == '>' && d == 1))
        .flatten();
    if let Some((close, ..)) = impl_close {
        let self_type = &symbol[1..close];
        let as_trait = depths(self_type).find(|&(i, _, d)| d == 0 && self_type[i..].starts_with(" as "));
        let self_type = as_trait.map_or(self_type, |(at, ..)| &self_type[..at]);
        return plain_path(self_type) + &plain_path(&symbol[close + 1..]);
    }
    let mut path: String = depths(&symbol)
        .filter(|&(.., d)| d == 0)
        .map(|(_, c, _)| c)
        .collect();
    // `f::<u8>` left `f::`.
    while path.ends_with("::") {
        path.truncate(path.len() - 2);
    }
    path
}

/// `text`'s characters with their index and how deep in angle brackets they are (a bracket
/// counts as inside).
fn depths(text: &str) -> impl Iterator<Item = (usize, char, usize)> + '_ {
    let mut depth = 0usize;
    text.char_indices().map(move |(i, c)| {
        if c == '<' {
            depth += 1;
        }
        let at = depth;
        if c == '>' {
            depth = depth.saturating_sub(1);
        }
        (i, c, at)
    })
}

/// The index of the caller's symbol among a stack's symbols (innermost first, inlined ones
/// included): the one after the last symbol of the capture path near the top, or 0 when
/// none is found (a stripped binary).
///
/// Symbols, not frames: in a release build the capture path is inlined into the caller's
/// frame, so skipping that whole frame would lose the caller.
fn caller_start(symbols: &[Symbol<'_>]) -> usize {
    symbols
        .iter()
        .take(CAPTURE_DEPTH)
        .rposition(|&symbol| on_capture_path(symbol))
        .map_or(0, |i| i + 1)
}

/// Rendered stacks by their frames' addresses: a storm of the same error is symbolised once.
static RESOLVED: LazyLock<Mutex<StackCache>> = LazyLock::new(|| Mutex::new(StackCache::new(MAX_RESOLVED)));

/// Distinct stacks kept rendered, so the cache's memory stays bounded.
const MAX_RESOLVED: usize = 256;

fn resolved(frames: &backtrace::Backtrace) -> Arc<str> {
    let key: Vec<usize> = frames.frames().iter().map(|f| f.ip() as usize).collect();
    let cache = || RESOLVED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(text) = cache().get(&key) {
        return text;
    }
    // Resolved outside the lock: it takes milliseconds.
    let mut frames = frames.clone();
    frames.resolve();
    let text: Arc<str> = Arc::from(format_frames(&frames));
    cache().insert(key, Arc::clone(&text));
    text
}

/// Rendered stacks by frame addresses, at most `capacity` of them; when full, a new stack
/// replaces the least recently used one, so a service with more distinct error sites than
/// the capacity still finds its frequent stacks here.
///
/// Written here rather than taken from a crate: none of our dependencies offers one, and a
/// scan of 256 entries for the oldest costs nothing beside the symbolisation (milliseconds)
/// that precedes every insert.
struct StackCache {
    capacity: usize,
    /// Each stack's text and when it was last used.
    entries: HashMap<Vec<usize>, (Arc<str>, u64)>,
    clock: u64,
}

impl StackCache {
    fn new(capacity: usize) -> Self {
        StackCache {
            capacity,
            entries: HashMap::new(),
            clock: 0,
        }
    }

    fn get(&mut self, key: &[usize]) -> Option<Arc<str>> {
        self.clock += 1;
        let (text, used) = self.entries.get_mut(key)?;
        *used = self.clock;
        Some(Arc::clone(text))
    }

    fn insert(&mut self, key: Vec<usize>, text: Arc<str>) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        self.entries.insert(key, (text, self.clock));
    }
}

/// As std's `Backtrace` displays a capture: from the caller of the recording on, each
/// symbol's demangled name and its `at file:line:column`, numbered by frame (the symbols
/// inlined into a frame share its number).
fn format_frames(frames: &backtrace::Backtrace) -> String {
    let resolved: Vec<(usize, Option<&backtrace::BacktraceSymbol>)> = frames
        .frames()
        .iter()
        .enumerate()
        .flat_map(|(i, frame)| match frame.symbols() {
            [] => vec![(i, None)],
            symbols => symbols.iter().map(|s| (i, Some(s))).collect(),
        })
        .collect();
    let names: Vec<Option<String>> = resolved
        .iter()
        .map(|(_, symbol)| symbol.and_then(|s| s.name()).map(|n| format!("{n:#}")))
        .collect();
    let symbols: Vec<Symbol<'_>> = resolved
        .iter()
        .zip(&names)
        .map(|((_, symbol), name)| Symbol {
            name: name.as_deref(),
            file: symbol.and_then(|s| s.filename()),
        })
        .collect();
    let start = caller_start(&symbols);
    let first_frame = resolved.get(start).map_or(0, |(frame, _)| *frame);
    let mut out = String::new();
    for ((frame, symbol), name) in resolved.iter().zip(&names).skip(start) {
        let name = name.as_deref().unwrap_or("<unknown>");
        let _ = writeln!(out, "{:4}: {name}", frame - first_frame);
        if let Some((file, line)) = symbol.and_then(|s| Some((s.filename()?, s.lineno()?))) {
            let _ = match symbol.and_then(|s| s.colno()) {
                Some(col) => writeln!(out, "             at {}:{line}:{col}", file.display()),
                None => writeln!(out, "             at {}:{line}", file.display()),
            };
        }
    }
    out
}

// ---- type names ----

/// A type's name as a Rust developer writes it, from `std::any::type_name`'s definition
/// paths (`alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>`
/// reads `Box<dyn Error>`):
///
/// - the standard library's types by their public path in `std`: `std::io::Error`, not
///   `std::io::error::Error`; `std::num::ParseIntError`, not `core::num::error::ParseIntError`;
///   `std::sync::mpsc::SendError<i32>`, `std::collections::hash_map::Entry<'_, K, V>`;
/// - the prelude's bare (`String`, `Vec<u8>`, `Box<..>`, `Option`, `Result`, `Fn(u8)`), and so
///   are the `Error` and `Any` traits, which code names after a `use`: `Box<dyn Error>`;
/// - any other crate's types as `crate::Type`: `reqwest::Error`, `serde_json::Error`,
///   `shop::PaymentDeclined`. The name alone would make every crate's `Error` read `Error`, the
///   full path names private modules (`serde_json::error::Error`). Most crates export their
///   errors at the root, so this is usually the path to write too; when it is not
///   (`tokio::runtime::task::error::JoinError` reads `tokio::JoinError`), it still names the
///   crate and the type;
/// - a closure or async block as the function it is in, then `{closure}`:
///   `shop::checkout::{closure}`;
/// - trait objects without their auto traits (`Send`, `Sync`, `Unpin`, `UnwindSafe`,
///   `RefUnwindSafe`): `dyn Error`. The concrete type behind a trait object cannot be known.
pub(crate) fn readable_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        let len = rest.find(|c| !is_path_char(c)).unwrap_or(rest.len());
        if len == 0 {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        } else {
            push_readable_path(&mut out, &rest[..len]);
            rest = &rest[len..];
        }
    }
    out
}

/// Characters of a path in a type name (braces for `{{closure}}` segments).
fn is_path_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ':' | '{' | '}' | '#')
}

const STD_CRATES: [&str; 3] = ["std", "core", "alloc"];

/// Traits a trait object names after `+` that a reader does not need.
const AUTO_TRAITS: [&str; 5] = ["Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe"];

/// Appends one path, readable; an auto trait after ` + ` takes the ` + ` away instead.
fn push_readable_path(out: &mut String, path: &str) {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let auto_trait = segments.len() > 1
        && STD_CRATES.contains(&segments[0])
        && AUTO_TRAITS.contains(&segments[segments.len() - 1]);
    if auto_trait && out.ends_with(" + ") {
        out.truncate(out.len() - " + ".len());
    } else {
        out.push_str(&readable_path(&segments));
    }
}

/// One path of a type name, by the rules of [`readable_type_name`].
fn readable_path(segments: &[&str]) -> String {
    // The item is the last named segment; closures (`{{closure}}`) follow it.
    let Some(item_at) = segments.iter().rposition(|s| !s.starts_with('{')) else {
        return segments.join("::");
    };
    let item = segments[item_at];
    let mut out = match item_at {
        0 => item.to_owned(),
        _ if STD_CRATES.contains(&segments[0]) => std_path(&segments[1..item_at], item),
        _ => format!("{}::{item}", segments[0]),
    };
    for closure in &segments[item_at + 1..] {
        // `{{closure}}` as the compiler's messages write it: `{closure}`.
        let closure = closure
            .strip_prefix('{')
            .and_then(|c| c.strip_suffix('}'))
            .filter(|c| c.starts_with('{'))
            .unwrap_or(closure);
        out.push_str("::");
        out.push_str(closure);
    }
    out
}

/// Items of std written bare, by (first module below the crate, name): the prelude's, the
/// `Error` trait and `Any` (not in the prelude, but `dyn Error` is how code names them after
/// a `use std::error::Error`; `std::io::Error` and `std::fmt::Error` keep their module).
const BARE: [(&str, &str); 11] = [
    ("string", "String"),
    ("string", "ToString"),
    ("boxed", "Box"),
    ("vec", "Vec"),
    ("option", "Option"),
    ("result", "Result"),
    ("ops", "Fn"),
    ("ops", "FnMut"),
    ("ops", "FnOnce"),
    ("error", "Error"),
    ("any", "Any"),
];

/// Where std's public path keeps more than one module: the modules `type_name` gives (below
/// the crate) and the public modules they are exported from.
const NESTED_MODULES: [(&str, &str); 8] = [
    ("sync::mpsc", "sync::mpsc"),
    ("sync::atomic", "sync::atomic"),
    ("collections::hash::map", "collections::hash_map"),
    ("collections::hash::set", "collections::hash_set"),
    ("collections::btree::map", "collections::btree_map"),
    ("collections::btree::set", "collections::btree_set"),
    ("os::fd", "os::fd"),
    ("os::unix::net", "os::unix::net"),
];

/// The collections exported at `std::collections` itself.
const COLLECTIONS: [&str; 7] = [
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "VecDeque",
    "BinaryHeap",
    "LinkedList",
];

/// The public path of the std item `item`, defined in `modules` below `std`, `core` or
/// `alloc`: the first module, which is public, unless [`NESTED_MODULES`] says otherwise
/// (`core::num::error::ParseIntError` is `std::num::ParseIntError`).
fn std_path(modules: &[&str], item: &str) -> String {
    let Some(&first) = modules.first() else {
        return format!("std::{item}");
    };
    if first == "marker" || BARE.contains(&(first, item)) || (first == "panic" && AUTO_TRAITS.contains(&item))
    {
        return item.to_owned();
    }
    if first == "collections" && COLLECTIONS.contains(&item) {
        return format!("std::collections::{item}");
    }
    let defined = modules.join("::");
    let public = NESTED_MODULES
        .iter()
        .find(|(internal, _)| {
            defined
                .strip_prefix(internal)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
        .map_or(first, |(_, public)| public);
    format!("std::{public}::{item}")
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
            // std: the public path, prelude items bare.
            ("alloc::string::String", "String"),
            ("std::io::error::Error", "std::io::Error"),
            ("std::io::error::ErrorKind", "std::io::ErrorKind"),
            ("core::num::error::ParseIntError", "std::num::ParseIntError"),
            ("core::num::dec2flt::ParseFloatError", "std::num::ParseFloatError"),
            ("core::fmt::Error", "std::fmt::Error"),
            (
                "std::sync::mpsc::SendError<i32>",
                "std::sync::mpsc::SendError<i32>",
            ),
            (
                "std::sync::poison::PoisonError<alloc::string::String>",
                "std::sync::PoisonError<String>",
            ),
            (
                "core::sync::atomic::AtomicUsize",
                "std::sync::atomic::AtomicUsize",
            ),
            (
                "std::collections::hash::map::HashMap<u8, u8>",
                "std::collections::HashMap<u8, u8>",
            ),
            (
                "std::collections::hash::map::Entry<'_, u8, u8>",
                "std::collections::hash_map::Entry<'_, u8, u8>",
            ),
            (
                "alloc::collections::btree::map::entry::Entry<'_, u8, u8>",
                "std::collections::btree_map::Entry<'_, u8, u8>",
            ),
            (
                "alloc::collections::TryReserveError",
                "std::collections::TryReserveError",
            ),
            (
                "std::os::unix::net::stream::UnixStream",
                "std::os::unix::net::UnixStream",
            ),
            (
                "core::result::Result<(), std::io::error::Error>",
                "Result<(), std::io::Error>",
            ),
            // Trait objects: no auto traits.
            (
                "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>",
                "Box<dyn Error>",
            ),
            (
                "alloc::boxed::Box<dyn core::ops::function::Fn(u8) -> u8 + core::marker::Send>",
                "Box<dyn Fn(u8) -> u8>",
            ),
            (
                "alloc::boxed::Box<dyn core::any::Any + core::marker::Send>",
                "Box<dyn Any>",
            ),
            ("dyn core::error::Error", "dyn Error"),
            (
                "dyn core::error::Error + my::Syncable",
                "dyn Error + my::Syncable",
            ),
            ("dyn core::error::Error + my::Send", "dyn Error + my::Send"),
            ("dyn core::marker::Send", "dyn Send"),
            // Other crates: the crate and the type.
            ("anyhow::Error", "anyhow::Error"),
            ("reqwest::error::Error", "reqwest::Error"),
            ("serde_json::error::Error", "serde_json::Error"),
            ("maximus_client::error::Error", "maximus_client::Error"),
            ("shop::payment::PaymentDeclined", "shop::PaymentDeclined"),
            (
                "shop::Wrapper<alloc::vec::Vec<shop::Item>, std::io::error::Error>",
                "shop::Wrapper<Vec<shop::Item>, std::io::Error>",
            ),
            // Closures and async blocks: the function they are in.
            ("main::main::{{closure}}", "main::main::{closure}"),
            (
                "shop::cart::checkout::{{closure}}::{{closure}}",
                "shop::checkout::{closure}::{closure}",
            ),
            // Primitives and type syntax stay.
            ("&str", "&str"),
            ("&mut [u8; 4]", "&mut [u8; 4]"),
            ("(u8, fn(&'_ str) -> u8)", "(u8, fn(&'_ str) -> u8)"),
        ] {
            assert_eq!(readable_type_name(raw), readable, "{raw}");
        }
    }

    #[test]
    fn an_error_renders_type_message_and_cause_chain() {
        let io = std::io::Error::other("disk full");
        let exception = Exception::of_error(&io, io.to_string());
        let attributes = exception.attributes();
        assert_eq!(attributes[0].key.as_str(), "exception.type");
        assert_eq!(text(&attributes[0]), "std::io::Error");
        assert_eq!(attributes[1].key.as_str(), "exception.message");
        assert_eq!(text(&attributes[1]), "disk full");
    }

    fn text(attribute: &Attr) -> String {
        match &attribute.value {
            crate::engine::record::AttrValue::Str(s) => s.as_str().to_owned(),
            other => panic!("{other:?}"),
        }
    }

    /// An error recorded with the stack of this function.
    #[inline(never)]
    fn recorded_here() -> Exception {
        let error = std::io::Error::other("x");
        Exception::with_frames(&error, "x".into(), Some(capture_frames()))
    }

    fn stacktrace(exception: &Exception) -> String {
        let attribute = exception
            .attributes()
            .iter()
            .find(|a| a.key.as_str() == "exception.stacktrace");
        text(attribute.expect("a stacktrace"))
    }

    #[test]
    fn a_backtrace_starts_at_the_function_that_captured_it() {
        let trace = stacktrace(&recorded_here());
        let first = trace.lines().next().unwrap_or_default();
        // By its path, or by its name alone with debuginfo reduced to line tables.
        assert!(
            [
                "   0: maximus_trace::error::tests::recorded_here",
                "   0: recorded_here"
            ]
            .contains(&first),
            "{trace}"
        );
    }

    #[test]
    fn the_same_stack_is_resolved_once() {
        // One call site twice: one stack.
        let both: Vec<Exception> = (0..2).map(|_| recorded_here()).collect();
        let [a, b] = [&both[0], &both[1]].map(|e| resolved(e.frames.as_ref().expect("frames")));
        assert!(Arc::ptr_eq(&a, &b));
    }

    fn named(name: &str) -> Symbol<'_> {
        Symbol {
            name: Some(name),
            file: None,
        }
    }

    #[test]
    fn the_capture_path_is_recognised_in_either_mangling() {
        for (symbol, ours) in [
            ("maximus_trace::span::SpanRef::record_error", true),
            (
                "<maximus_trace::span::SpanRef>::record_error::<shop::Declined>",
                true,
            ),
            (
                "<maximus_trace::span::Span>::record_error::<dyn core::error::Error + core::marker::Send>",
                true,
            ),
            ("maximus_trace::context::record_error::<shop::Declined>", true),
            (
                "maximus_trace::engine::handle::error_ops::<std::io::error::Error>",
                true,
            ),
            (
                "<maximus_trace::error::Exception>::of_error::<std::io::error::Error>",
                true,
            ),
            ("maximus_trace::error::Exception::of_error::{{closure}}", true),
            ("maximus_trace::error::capture_frames", true),
            ("shop::record_error", false),
            ("shop::checkout", false),
            ("<shop::Cart as maximus_trace::Recorder>::record_error", false),
            ("maximus_trace::error::tests::record_error_twice", false),
            (
                "core::bool::<impl bool>::then::<backtrace::capture::Backtrace>",
                false,
            ),
        ] {
            assert_eq!(on_capture_path(named(symbol)), ours, "{symbol}");
        }
    }

    #[test]
    fn a_symbols_plain_path_drops_generics_and_impl_brackets() {
        for (symbol, plain) in [
            ("<a::Type as a::Trait>::f::<u8>", "a::Type::f"),
            ("<a::Type<b::T>>::f", "a::Type::f"),
            (
                "<alloc::boxed::Box<dyn core::ops::function::Fn() -> u8> as a::X>::f",
                "alloc::boxed::Box::f",
            ),
            ("a::f::{closure#0}", "a::f::{closure#0}"),
        ] {
            assert_eq!(plain_path(symbol), plain, "{symbol}");
        }
    }

    #[test]
    fn a_function_named_alone_is_ours_by_its_file() {
        let at = |name, file| Symbol {
            name: Some(name),
            file: Some(Path::new(file)),
        };
        let ours = "/build/maximus-trace/src/context.rs";
        assert!(on_capture_path(at("record_error<shop::Declined>", ours)));
        assert!(on_capture_path(at(
            "error_ops<shop::Declined>",
            "/build/maximus-trace/src/engine/handle.rs"
        )));
        assert!(!on_capture_path(at(
            "record_error<shop::Declined>",
            "/build/shop/src/main.rs"
        )));
        assert!(!on_capture_path(at("charge", ours)));
        assert!(!on_capture_path(named("record_error<shop::Declined>")));
    }

    fn names<'a>(names: &[&'a str]) -> Vec<Symbol<'a>> {
        names.iter().map(|name| named(name)).collect()
    }

    #[test]
    fn a_stack_starts_at_the_caller_inlined_into_the_same_frame() {
        // Release with line tables: the capture path is inlined into `charge`'s frame.
        let symbols = names(&[
            "backtrace::capture::Backtrace::new_unresolved",
            "maximus_trace::error::capture_frames",
            "<maximus_trace::error::Exception>::of_error::<shop::Declined>",
            "maximus_trace::engine::handle::error_ops::<shop::Declined>",
            "<maximus_trace::span::SpanRef>::record_error::<shop::Declined>",
            "maximus_trace::context::record_error::<shop::Declined>",
            "shop::charge",
            "shop::checkout",
        ]);
        assert_eq!(caller_start(&symbols), 6);
    }

    #[test]
    fn a_stack_with_line_tables_only_starts_at_the_caller() {
        // `debug = "line-tables-only"`: functions named alone, ours told by their files.
        let at = |name, file| Symbol {
            name: Some(name),
            file: Some(Path::new(file)),
        };
        let symbols = [
            at("create", "/registry/backtrace-0.3.76/src/capture.rs"),
            at(
                "then<backtrace::capture::Backtrace>",
                "/rustc/library/core/src/bool.rs",
            ),
            at("of_error<shop::Declined>", "/build/maximus-trace/src/error.rs"),
            at(
                "error_ops<shop::Declined>",
                "/build/maximus-trace/src/engine/handle.rs",
            ),
            at("record_error<shop::Declined>", "/build/maximus-trace/src/span.rs"),
            at(
                "record_error<shop::Declined>",
                "/build/maximus-trace/src/context.rs",
            ),
            at("charge", "/build/shop/src/main.rs"),
            at("checkout", "/build/shop/src/main.rs"),
        ];
        assert_eq!(caller_start(&symbols), 6);
    }

    #[test]
    fn a_stack_without_debuginfo_starts_below_capture_frames() {
        // Release without debuginfo: inlined functions have no symbol of their own.
        let symbols = names(&[
            "backtrace::backtrace::trace_unsynchronized",
            "maximus_trace::error::capture_frames",
            "shop::charge",
            "shop::checkout",
        ]);
        assert_eq!(caller_start(&symbols), 2);
    }

    #[test]
    fn a_stack_without_names_is_shown_whole() {
        let unknown = Symbol {
            name: None,
            file: None,
        };
        assert_eq!(caller_start(&[unknown; 3]), 0);
    }

    #[test]
    fn a_full_cache_evicts_its_least_recently_used_stack_alone() {
        let mut cache = StackCache::new(3);
        for ip in 1..=3 {
            cache.insert(vec![ip], Arc::from(ip.to_string()));
        }
        assert!(cache.get(&[1]).is_some());
        cache.insert(vec![4], Arc::from("4"));
        assert!(cache.get(&[2]).is_none(), "the least recently used goes");
        for kept in [1, 3, 4] {
            assert!(cache.get(&[kept]).is_some(), "{kept} stays");
        }
    }

    #[test]
    fn a_stack_already_cached_replaces_nothing() {
        let mut cache = StackCache::new(2);
        cache.insert(vec![1], Arc::from("1"));
        cache.insert(vec![2], Arc::from("2"));
        cache.insert(vec![2], Arc::from("2"));
        assert!(cache.get(&[1]).is_some());
    }
}
