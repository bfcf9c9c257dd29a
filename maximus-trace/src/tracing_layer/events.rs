//! A `tracing` event as an event of a span: named after its message (else the event's own
//! name), with `level`, `target` and its fields as attributes.

use std::borrow::Cow;

use tracing::{Event, Level};

use super::fields::{TakeField, Typed, text};
use crate::model::{KeyValue, Status, Value};
use crate::span::SpanRef;

/// Whether an event comes from this crate (its own warnings): never recorded, so that a
/// warning about recording cannot feed itself.
pub(super) fn is_ours(event: &Event<'_>) -> bool {
    event.metadata().target().starts_with("maximus_trace")
}

/// Adds `event` to `span`; `mark_error`: an `ERROR` event also sets the span's status to
/// error, described by the event's message (else its `error` field).
pub(super) fn record(span: &SpanRef, event: &Event<'_>, mark_error: bool) {
    if !span.is_recording() {
        return;
    }
    let metadata = event.metadata();
    let mut fields = EventFields {
        message: None,
        error: None,
        attributes: vec![
            KeyValue::new("level", Value::String(Cow::Borrowed(metadata.level().as_str()))),
            KeyValue::new("target", Value::String(Cow::Borrowed(metadata.target()))),
        ],
    };
    event.record(&mut Typed(&mut fields));
    let is_error = mark_error && *metadata.level() == Level::ERROR;
    let description = is_error.then(|| fields.message.clone().or(fields.error).unwrap_or_default());
    let name = fields.message.map_or(Cow::Borrowed(metadata.name()), Cow::Owned);
    span.add_event(name, fields.attributes);
    if let Some(description) = description {
        span.set_status(Status::error(description));
    }
}

/// An event's `message`, its `error` field, and every field but the message as attributes.
struct EventFields {
    message: Option<String>,
    error: Option<String>,
    attributes: Vec<KeyValue>,
}

impl TakeField for EventFields {
    fn take(&mut self, name: &'static str, value: Value) {
        match name {
            "message" => self.message = Some(text(value)),
            name => {
                if name == "error" {
                    self.error = Some(text(value.clone()));
                }
                self.attributes.push(KeyValue::new(name, value));
            }
        }
    }
}
