//! Recording errors and panics on spans as OpenTelemetry `exception` events.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::Once;

use crate::engine::record::{EventRecord, Record};
use crate::span::Status;
use crate::value::KeyValue;

/// The attributes of an `exception` event for `error`: its Rust type, its message, and as
/// stack trace the chain of `source()` errors plus a backtrace when `RUST_BACKTRACE` asks.
pub(crate) fn exception_attributes<E: std::error::Error + ?Sized>(error: &E, message: &str) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("exception.type", std::any::type_name::<E>()),
        KeyValue::new("exception.message", message.to_owned()),
    ];
    let stacktrace = stacktrace(error);
    if !stacktrace.is_empty() {
        attributes.push(KeyValue::new("exception.stacktrace", stacktrace));
    }
    attributes
}

fn stacktrace<E: std::error::Error + ?Sized>(error: &E) -> String {
    let mut out = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = writeln!(out, "caused by: {cause}");
        source = cause.source();
    }
    let backtrace = Backtrace::capture();
    if backtrace.status() == BacktraceStatus::Captured {
        let _ = write!(out, "{backtrace}");
    }
    out
}

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
