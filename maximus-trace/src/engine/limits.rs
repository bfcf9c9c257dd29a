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
    fn default() -> Self {
        Limits::from(&crate::config::Limits::default())
    }
}

impl From<&crate::config::Limits> for Limits {
    fn from(configured: &crate::config::Limits) -> Self {
        Limits {
            attribute_count: configured.attribute_count as usize,
            event_count: configured.event_count as usize,
            link_count: configured.link_count as usize,
            attributes_per_event: ATTRIBUTES_PER_EVENT,
            value_length: configured.attribute_value_length,
        }
    }
}

/// `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT` at the spec's default (not configurable here).
const ATTRIBUTES_PER_EVENT: usize = DEFAULT as usize;

/// Before any `init()`: the spec's defaults.
const DEFAULT: u32 = crate::config::DEFAULT_COUNT_LIMIT;

const NONE: usize = usize::MAX;

static ATTRIBUTE_COUNT: AtomicUsize = AtomicUsize::new(DEFAULT as usize);
static EVENT_COUNT: AtomicUsize = AtomicUsize::new(DEFAULT as usize);
static LINK_COUNT: AtomicUsize = AtomicUsize::new(DEFAULT as usize);
static VALUE_LENGTH: AtomicUsize = AtomicUsize::new(NONE);

/// The limits in force.
pub(crate) fn current() -> Limits {
    Limits {
        attribute_count: ATTRIBUTE_COUNT.load(Ordering::Relaxed),
        event_count: EVENT_COUNT.load(Ordering::Relaxed),
        link_count: LINK_COUNT.load(Ordering::Relaxed),
        attributes_per_event: ATTRIBUTES_PER_EVENT,
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

pub(crate) fn set(limits: &crate::config::Limits) {
    let limits = Limits::from(limits);
    ATTRIBUTE_COUNT.store(limits.attribute_count, Ordering::Relaxed);
    EVENT_COUNT.store(limits.event_count, Ordering::Relaxed);
    LINK_COUNT.store(limits.link_count, Ordering::Relaxed);
    VALUE_LENGTH.store(limits.value_length.unwrap_or(NONE), Ordering::Relaxed);
}
