//! Span limits (`OTEL_SPAN_*_COUNT_LIMIT`, `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`), read where a
//! record is changed. Process-wide, set by the latest `init()` or `build()`.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The limits one record operation applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub attribute_count: usize,
    pub event_count: usize,
    pub link_count: usize,
    pub attributes_per_event: usize,
    /// Characters kept of a string value; `None`: no limit.
    pub value_length: Option<usize>,
}

impl Default for Limits {
    /// The OpenTelemetry specification's defaults.
    fn default() -> Self {
        Limits {
            attribute_count: DEFAULT_COUNT_LIMIT,
            event_count: DEFAULT_COUNT_LIMIT,
            link_count: DEFAULT_COUNT_LIMIT,
            attributes_per_event: DEFAULT_COUNT_LIMIT,
            value_length: None,
        }
    }
}

/// The specification's default for every count limit (attributes, events, links, and
/// attributes per event, which is not configurable here).
pub(crate) const DEFAULT_COUNT_LIMIT: usize = 128;

/// Before any `init()`: the spec's defaults.
const DEFAULT: usize = DEFAULT_COUNT_LIMIT;

const NONE: usize = usize::MAX;

static ATTRIBUTE_COUNT: AtomicUsize = AtomicUsize::new(DEFAULT);
static EVENT_COUNT: AtomicUsize = AtomicUsize::new(DEFAULT);
static LINK_COUNT: AtomicUsize = AtomicUsize::new(DEFAULT);
static VALUE_LENGTH: AtomicUsize = AtomicUsize::new(NONE);

/// The limits in force.
pub(crate) fn current() -> Limits {
    Limits {
        attribute_count: ATTRIBUTE_COUNT.load(Ordering::Relaxed),
        event_count: EVENT_COUNT.load(Ordering::Relaxed),
        link_count: LINK_COUNT.load(Ordering::Relaxed),
        attributes_per_event: DEFAULT_COUNT_LIMIT,
        value_length: value_length(),
    }
}

/// The value length limit alone (what attribute conversion outside a record needs).
pub(crate) fn value_length() -> Option<usize> {
    match VALUE_LENGTH.load(Ordering::Relaxed) {
        NONE => None,
        n => Some(n),
    }
}

/// Makes `limits` the ones in force.
pub(crate) fn set(limits: Limits) {
    ATTRIBUTE_COUNT.store(limits.attribute_count, Ordering::Relaxed);
    EVENT_COUNT.store(limits.event_count, Ordering::Relaxed);
    LINK_COUNT.store(limits.link_count, Ordering::Relaxed);
    VALUE_LENGTH.store(limits.value_length.unwrap_or(NONE), Ordering::Relaxed);
}
