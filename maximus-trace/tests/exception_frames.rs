//! Where `exception.stacktrace` starts: at the user's function that recorded the error, in
//! a debug build as in a release one (`cargo test --release --test exception_frames`), where
//! the recording path is inlined into that function.
//!
//! Every test here turns backtraces on (and none turns them off): this binary is theirs.

mod support;

use maximus_trace::{Span, span};
use opentelemetry_sdk::trace::SpanData;
use support::{capture, find};

#[derive(Debug)]
struct CardDeclined;

impl std::fmt::Display for CardDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

impl std::error::Error for CardDeclined {}

/// The user's function: records on the current span through `maximus_trace::record_error`.
#[inline(never)]
fn charge_card() {
    maximus_trace::record_error(&CardDeclined);
    // Not a tail call: a function that ends by jumping to another leaves no frame.
    std::hint::black_box(());
}

/// Its caller, the frame below it.
#[inline(never)]
fn checkout() {
    let _span = span!("checkout");
    charge_card();
    std::hint::black_box(());
}

/// The user's function: records on a span it holds, through `Span::record_error`.
#[inline(never)]
fn refund(span: &Span) {
    span.record_error(&CardDeclined);
    // Not a tail call: a function that ends by jumping to another leaves no frame.
    std::hint::black_box(());
}

/// Whether a frame's name is this file's function `function`: by its path, or by its name
/// alone, as debuginfo reduced to line tables (`debug = "line-tables-only"`) names it.
fn is_function(frame: &str, function: &str) -> bool {
    frame == function || frame.strip_prefix("exception_frames::") == Some(function)
}

/// The names of the stack's frames, first to last (a frame's inlined functions included).
fn frame_names(spans: &[SpanData], name: &str) -> Vec<String> {
    let event = &find(spans, name).events.events[0];
    let stacktrace = event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "exception.stacktrace")
        .map(|kv| kv.value.to_string())
        .expect("an exception.stacktrace");
    stacktrace
        .lines()
        .filter_map(|line| {
            let (number, name) = line.trim_start().split_once(": ")?;
            number.parse::<usize>().is_ok().then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn the_stack_starts_at_the_function_that_called_record_error() {
    maximus_trace::__private::force_backtraces(true);
    let spans = capture(checkout);
    let frames = frame_names(&spans, "checkout");
    assert!(is_function(&frames[0], "charge_card"), "{frames:#?}");
    assert!(is_function(&frames[1], "checkout"), "{frames:#?}");
}

#[test]
fn the_stack_starts_at_the_function_that_called_span_record_error() {
    maximus_trace::__private::force_backtraces(true);
    let spans = capture(|| {
        let guard = span!("refund");
        refund(guard.span());
        std::hint::black_box(());
    });
    let frames = frame_names(&spans, "refund");
    assert!(is_function(&frames[0], "refund"), "{frames:#?}");
}
