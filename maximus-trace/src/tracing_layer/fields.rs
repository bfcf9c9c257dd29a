//! `tracing` field values as typed attribute values: integers stay integers, floats floats,
//! booleans booleans, strings strings; `Debug` and `Display` values (`?x`, `%x`) and errors
//! become their text. What each field means (an attribute, a message, a convention) is for
//! the [`TakeField`] that receives it.

use std::fmt;

use tracing::field::{Field, Visit};

use crate::model::{IntoValue, Value};

/// Receives the fields of a span or an event, one by one, with their typed values.
pub(super) trait TakeField {
    fn take(&mut self, name: &'static str, value: Value);
}

/// A [`TakeField`] as `tracing`'s visitor: `values.record(&mut Typed(&mut fields))`.
pub(super) struct Typed<'a, T>(pub &'a mut T);

impl<T: TakeField> Visit for Typed<'_, T> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .take(field.name(), Value::String(format!("{value:?}").into()));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.take(field.name(), Value::String(value.to_owned().into()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The message, as `Display` shows it (`Debug` of an error is for programmers).
        self.0.take(field.name(), Value::String(value.to_string().into()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.take(field.name(), Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.take(field.name(), value.into_value());
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.0.take(field.name(), value.into_value());
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.0.take(field.name(), value.into_value());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.take(field.name(), Value::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.take(field.name(), Value::Bool(value));
    }
}

/// A value as text: a string as it is, anything else as it displays.
pub(super) fn text(value: Value) -> String {
    match value {
        Value::String(s) => s.into_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_taken_as_they_are_other_values_as_they_display() {
        assert_eq!(text(Value::String("a \"b\"".into())), "a \"b\"");
        assert_eq!(text(Value::I64(-3)), "-3");
        assert_eq!(text(Value::Bool(true)), "true");
    }
}
