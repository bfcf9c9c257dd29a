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
        Limits {
            attribute_count: 128,
            event_count: 128,
            link_count: 128,
            attributes_per_event: 128,
            value_length: None,
        }
    }
}

const NONE: usize = usize::MAX;

static ATTRIBUTE_COUNT: AtomicUsize = AtomicUsize::new(128);
static EVENT_COUNT: AtomicUsize = AtomicUsize::new(128);
static LINK_COUNT: AtomicUsize = AtomicUsize::new(128);
static VALUE_LENGTH: AtomicUsize = AtomicUsize::new(NONE);

/// The limits in force.
pub(crate) fn current() -> Limits {
    Limits {
        attribute_count: ATTRIBUTE_COUNT.load(Ordering::Relaxed),
        event_count: EVENT_COUNT.load(Ordering::Relaxed),
        link_count: LINK_COUNT.load(Ordering::Relaxed),
        attributes_per_event: 128,
        value_length: match VALUE_LENGTH.load(Ordering::Relaxed) {
            NONE => None,
            n => Some(n),
        },
    }
}

/// The value length limit alone (what attribute conversion outside a record needs).
pub(crate) fn value_length() -> Option<usize> {
    current().value_length
}

pub(crate) fn set(limits: &crate::config::Limits) {
    ATTRIBUTE_COUNT.store(limits.attribute_count as usize, Ordering::Relaxed);
    EVENT_COUNT.store(limits.event_count as usize, Ordering::Relaxed);
    LINK_COUNT.store(limits.link_count as usize, Ordering::Relaxed);
    VALUE_LENGTH.store(limits.attribute_value_length.unwrap_or(NONE), Ordering::Relaxed);
}
