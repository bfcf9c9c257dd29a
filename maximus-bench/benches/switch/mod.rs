//! One process-wide `tracing` subscriber that forwards to one of several others, chosen per
//! arm: `tracing` allows one global default per process, and the bench compares subscribers
//! (the registry alone, `SpanLayer`, tracing-opentelemetry) on the same
//! `#[tracing::instrument]` code in one run. A scoped default (`set_default`) would not reach the threads of the two-thread shape
//! and adds a thread-local lookup per call; this adds one relaxed load and a branch per call
//! to both arms alike. Switched only between arms, when no span is open. A folder module, as
//! `workload/`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};

struct Switch {
    dispatches: Vec<Dispatch>,
    current: AtomicUsize,
}

static SWITCH: OnceLock<&'static Switch> = OnceLock::new();

/// Installs the global subscriber over `dispatches` (once, at least one), forwarding to the
/// first.
pub fn install(dispatches: Vec<Dispatch>) {
    assert!(!dispatches.is_empty(), "a subscriber to forward to");
    let switch: &'static Switch = Box::leak(Box::new(Switch {
        dispatches,
        current: AtomicUsize::new(0),
    }));
    SWITCH.set(switch).ok().expect("install the switch once");
    tracing::subscriber::set_global_default(Forward(switch)).expect("install the tracing subscriber");
}

/// Forwards to the subscriber at `index` of those [`install`] was given.
pub fn use_index(index: usize) {
    if let Some(switch) = SWITCH.get() {
        assert!(
            index < switch.dispatches.len(),
            "one of the installed subscribers"
        );
        switch.current.store(index, Ordering::Relaxed);
    }
}

struct Forward(&'static Switch);

impl Forward {
    #[inline(always)]
    fn current(&self) -> &Dispatch {
        let index = self.0.current.load(Ordering::Relaxed);
        // In bounds: `use_index` checks; `get` keeps a bounds panic out of every call.
        self.0.dispatches.get(index).unwrap_or(&self.0.dispatches[0])
    }
}

impl Subscriber for Forward {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        let interests: Vec<Interest> = self
            .0
            .dispatches
            .iter()
            .map(|d| d.register_callsite(metadata))
            .collect();
        if interests.iter().all(Interest::is_always) {
            Interest::always()
        } else if interests.iter().all(Interest::is_never) {
            Interest::never()
        } else {
            Interest::sometimes()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.current().enabled(metadata)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.current().new_span(span)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        self.current().record(span, values)
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.current().record_follows_from(span, follows)
    }

    fn event(&self, event: &Event<'_>) {
        self.current().event(event)
    }

    fn enter(&self, span: &Id) {
        self.current().enter(span)
    }

    fn exit(&self, span: &Id) {
        self.current().exit(span)
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.current().clone_span(id)
    }

    fn try_close(&self, id: Id) -> bool {
        self.current().try_close(id)
    }

    fn current_span(&self) -> tracing_core::span::Current {
        self.current().current_span()
    }
}
