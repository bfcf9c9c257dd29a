//! The `tracing` spans entered on this thread that made one of ours current, innermost last.
//!
//! An entry owns the frame it made current ([`Pushed`]: the record the frame points at stays
//! alive, and the frame goes with the entry, when the span exits here or with the thread).
//! So a `tracing` span closed while still entered (its guard forgotten) leaves no frame
//! pointing at freed memory. And `on_exit` finds which of our spans to take off the stack
//! by the `tracing` id, without looking the span up in the registry again: that lookup costs
//! more than the rest of an exit.

use std::cell::RefCell;

use tracing::span::Id;

use crate::engine::Handle;
use crate::engine::local::{self, Pushed};

/// One entered span: its `tracing` id, and the frame it made current here.
struct Entered {
    id: u64,
    _frame: Pushed,
}

thread_local! {
    static ENTERED: RefCell<Vec<Entered>> = const { RefCell::new(Vec::new()) };
}

/// Makes `handle`'s span current on this thread while the `tracing` span `id` is entered
/// here (until [`exit`] with the same id).
pub(super) fn enter(id: &Id, handle: &Handle) {
    // A frame only with its entry (none while the thread is exiting).
    let _ = ENTERED.try_with(|entered| {
        if let Ok(mut entered) = entered.try_borrow_mut() {
            entered.push(Entered {
                id: id.into_u64(),
                _frame: local::push_kept(handle),
            });
        }
    });
}

/// Takes the span [`enter`] made current for `id` off this thread's stack; nothing when `id`
/// made none current here (a span this layer does not record).
pub(super) fn exit(id: &Id) {
    let id = id.into_u64();
    let entry = ENTERED
        .try_with(|entered| {
            let mut entered = entered.try_borrow_mut().ok()?;
            // The innermost one, nearly always the last (guards drop in order).
            if entered.last()?.id == id {
                return entered.pop();
            }
            let at = entered.iter().rposition(|e| e.id == id)?;
            Some(entered.remove(at))
        })
        .ok()
        .flatten();
    // Pops the frame, then lets the record go: outside the borrow.
    drop(entry);
}
