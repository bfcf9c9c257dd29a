//! Recording errors and panics on spans as OpenTelemetry `exception` events.
//!
//! Recording an error must cost the caller microseconds, even with `RUST_BACKTRACE=1` set as
//! in many production services: symbolising a backtrace takes tens of milliseconds. So the
//! caller's thread keeps only what it must (the error type's name, the message, the
//! `source()` chain as text, and the raw frames when backtraces are on), and the export
//! thread renders the `exception.*` attributes, resolving each distinct stack once.

//!
//! Split by job: `stack.rs` captures and renders stacks, `type_name.rs` makes a type's
//! name read as Rust, `panic.rs` records the panics that unwind through spans.

mod panic;
mod stack;
mod type_name;

pub(crate) use panic::{install_panic_hook, record_panic};
pub use stack::force_backtraces;

use std::fmt::Write as _;
use std::sync::OnceLock;

use stack::{backtraces_on, capture_frames, resolved};
use type_name::readable_type_name;

use crate::engine::limits;
use crate::engine::record::Attr;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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
                "   0: maximus_trace::engine::exception::tests::recorded_here",
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
}
