//! One process-wide `tracing` subscriber that forwards to one of two others, chosen per arm:
//! `tracing` allows one global default per process, and the bench compares two subscribers
//! (`SpanLayer` and tracing-opentelemetry) on the same `#[tracing::instrument]` code in one
//! run. A scoped default (`set_default`) would not reach the threads of the two-thread shape
//! and adds a thread-local lookup per call; this adds one relaxed load and a branch per call
//! to both arms alike. Switched only between arms, when no span is open. A folder module, as
//! `workload/`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};

struct Switch {
    first: Dispatch,
    second: Dispatch,
    use_second: AtomicBool,
}

static SWITCH: OnceLock<&'static Switch> = OnceLock::new();

/// Installs the global subscriber over `first` and `second` (once), forwarding to `first`.
pub fn install(first: Dispatch, second: Dispatch) {
    let switch: &'static Switch = Box::leak(Box::new(Switch {
        first,
        second,
        use_second: AtomicBool::new(false),
    }));
    SWITCH.set(switch).ok().expect("install the switch once");
    tracing::subscriber::set_global_default(Forward(switch)).expect("install the tracing subscriber");
}

/// Forwards to the second subscriber (`true`) or the first.
pub fn use_second(second: bool) {
    if let Some(switch) = SWITCH.get() {
        switch.use_second.store(second, Ordering::Relaxed);
    }
}

struct Forward(&'static Switch);

impl Forward {
    #[inline(always)]
    fn current(&self) -> &Dispatch {
        if self.0.use_second.load(Ordering::Relaxed) {
            &self.0.second
        } else {
            &self.0.first
        }
    }
}

impl Subscriber for Forward {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        let (a, b) = (
            self.0.first.register_callsite(metadata),
            self.0.second.register_callsite(metadata),
        );
        if a.is_always() && b.is_always() {
            Interest::always()
        } else if a.is_never() && b.is_never() {
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
