//! Stacks: captured raw on the caller's thread (no symbol lookup), rendered on the export
//! thread, each distinct stack once.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

/// Whether errors carry a backtrace: as std decides for `Backtrace::capture` (the
/// `RUST_LIB_BACKTRACE` variable, else `RUST_BACKTRACE`, set and not `0`), read once.
static BACKTRACES: AtomicU8 = AtomicU8::new(UNKNOWN);

pub(super) fn backtraces_on() -> bool {
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
pub(super) fn capture_frames() -> backtrace::Backtrace {
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
/// workspace (`maximus-trace/src/engine/exception/stack.rs`) or absolute (from a registry);
/// debuginfo names them absolute.
fn in_this_crate(file: &Path) -> bool {
    // This file is `src/engine/exception/stack.rs`: three levels below the crate's `src`.
    let Some(src) = Path::new(file!())
        .ancestors()
        .nth(3)
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

pub(super) fn resolved(frames: &backtrace::Backtrace) -> Arc<str> {
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
pub(super) fn format_frames(frames: &backtrace::Backtrace) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
                "<maximus_trace::engine::exception::Exception>::of_error::<std::io::error::Error>",
                true,
            ),
            (
                "maximus_trace::engine::exception::Exception::of_error::{{closure}}",
                true,
            ),
            ("maximus_trace::engine::exception::capture_frames", true),
            ("shop::record_error", false),
            ("shop::checkout", false),
            ("<shop::Cart as maximus_trace::Recorder>::record_error", false),
            (
                "maximus_trace::engine::exception::tests::record_error_twice",
                false,
            ),
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
            "maximus_trace::engine::exception::capture_frames",
            "<maximus_trace::engine::exception::Exception>::of_error::<shop::Declined>",
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
            at(
                "of_error<shop::Declined>",
                "/build/maximus-trace/src/engine/exception/mod.rs",
            ),
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
            "maximus_trace::engine::exception::capture_frames",
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
