//! Panics unwinding through spans: recorded as `exception` events with status ERROR.

use std::cell::RefCell;
use std::sync::Once;

use crate::engine::record::{EventRecord, Record};
use crate::model::{KeyValue, Status};

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
