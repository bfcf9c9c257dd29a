//! The span fields that tracing-opentelemetry users already write, read the same way:
//! `otel.name` and `otel.kind` (what the span is), `otel.status_code` and
//! `otel.status_description` (how it ended), and `error` (it failed).

use std::borrow::Cow;

use super::fields::text;
use crate::model::{SpanKind, Status, Value};

/// `otel.name`: the span's name, replacing the `tracing` one.
pub(super) const NAME: &str = "otel.name";
/// `otel.kind`: `server`, `client`, `producer`, `consumer` or `internal`, in any case.
pub(super) const KIND: &str = "otel.kind";
const STATUS_CODE: &str = "otel.status_code";
const STATUS_DESCRIPTION: &str = "otel.status_description";
/// The name tracing-opentelemetry's documentation used before `otel.status_description`.
const STATUS_MESSAGE: &str = "otel.status_message";
const ERROR: &str = "error";

/// What a span's fields say about the span itself.
#[derive(Debug, Default)]
pub(super) struct Conventions {
    pub name: Option<String>,
    pub kind: Option<SpanKind>,
    pub status: StatusFields,
}

/// The fields that decide a span's status. Kept with the span: `otel.status_code` and
/// `otel.status_description` may be recorded at different times.
#[derive(Debug, Default)]
pub(super) struct StatusFields {
    /// `otel.status_code`: `Some(true)` for `ok`, `Some(false)` for `error`; `unset` (or
    /// anything else) says nothing.
    ok: Option<bool>,
    description: Option<String>,
    /// An `error` field that is not `false`: its text (empty for `true`).
    error: Option<String>,
}

impl Conventions {
    /// Takes a field that is a convention; gives back those that are attributes (an
    /// `error` field is both).
    pub(super) fn take(&mut self, name: &'static str, value: Value) -> Option<Value> {
        match name {
            NAME => self.name = Some(text(value)),
            KIND => self.kind = kind(&text(value)),
            STATUS_CODE => self.status.ok = status_code(&text(value)),
            STATUS_DESCRIPTION | STATUS_MESSAGE => self.status.description = Some(text(value)),
            ERROR => {
                self.status.error = match &value {
                    Value::Bool(false) => None,
                    Value::Bool(true) => Some(String::new()),
                    other => Some(text(other.clone())),
                };
                return Some(value);
            }
            _ => return Some(value),
        }
        None
    }
}

impl StatusFields {
    /// Whether these fields say anything about the status.
    pub(super) fn is_empty(&self) -> bool {
        self.ok.is_none() && self.description.is_none() && self.error.is_none()
    }

    /// Adds fields recorded later: each one replaces its earlier value.
    pub(super) fn update(&mut self, later: StatusFields) {
        let StatusFields {
            ok,
            description,
            error,
        } = later;
        self.ok = ok.or(self.ok);
        self.description = description.or(self.description.take());
        self.error = error.or(self.error.take());
    }

    /// The status the fields ask for: `otel.status_code` first, else an `error` field.
    pub(super) fn status(&self) -> Status {
        let description = |d: &str| Status::error(Cow::Owned(d.to_owned()));
        match (self.ok, &self.error) {
            (Some(true), _) => Status::Ok,
            (Some(false), _) => description(self.description.as_deref().unwrap_or_default()),
            (None, Some(error)) => description(self.description.as_deref().unwrap_or(error)),
            (None, None) => Status::Unset,
        }
    }
}

fn kind(value: &str) -> Option<SpanKind> {
    let is = |name: &str| value.eq_ignore_ascii_case(name);
    Some(match () {
        () if is("server") => SpanKind::Server,
        () if is("client") => SpanKind::Client,
        () if is("producer") => SpanKind::Producer,
        () if is("consumer") => SpanKind::Consumer,
        () if is("internal") => SpanKind::Internal,
        () => return None,
    })
}

fn status_code(value: &str) -> Option<bool> {
    match value {
        v if v.eq_ignore_ascii_case("ok") => Some(true),
        v if v.eq_ignore_ascii_case("error") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(fields: &[(&'static str, Value)]) -> (Conventions, Vec<&'static str>) {
        let mut conventions = Conventions::default();
        let attributes = fields
            .iter()
            .filter_map(|(name, value)| conventions.take(name, value.clone()).map(|_| *name))
            .collect();
        (conventions, attributes)
    }

    #[test]
    fn otel_fields_are_conventions_not_attributes() {
        let (c, attributes) = read(&[
            ("otel.name", Value::String("GET /users".into())),
            ("otel.kind", Value::String("Server".into())),
            ("user.id", Value::I64(7)),
        ]);
        assert_eq!(c.name.as_deref(), Some("GET /users"));
        assert_eq!(c.kind, Some(SpanKind::Server));
        assert_eq!(attributes, ["user.id"]);
    }

    #[test]
    fn unknown_kind_is_ignored() {
        assert_eq!(
            read(&[("otel.kind", Value::String("sideways".into()))]).0.kind,
            None
        );
    }

    #[test]
    fn status_code_error_takes_the_description() {
        let (c, _) = read(&[
            ("otel.status_code", Value::String("ERROR".into())),
            ("otel.status_description", Value::String("quota".into())),
        ]);
        assert_eq!(c.status.status(), Status::error("quota"));
    }

    #[test]
    fn error_field_marks_error_and_stays_an_attribute() {
        let (c, attributes) = read(&[("error", Value::String("timed out".into()))]);
        assert_eq!(c.status.status(), Status::error("timed out"));
        assert_eq!(attributes, ["error"]);
        assert_eq!(
            read(&[("error", Value::Bool(true))]).0.status.status(),
            Status::error("")
        );
        assert_eq!(
            read(&[("error", Value::Bool(false))]).0.status.status(),
            Status::Unset
        );
    }

    #[test]
    fn status_code_ok_wins_over_an_error_field() {
        let (c, _) = read(&[
            ("error", Value::Bool(true)),
            ("otel.status_code", Value::String("ok".into())),
        ]);
        assert_eq!(c.status.status(), Status::Ok);
    }

    #[test]
    fn a_description_recorded_later_completes_the_error() {
        let (mut c, _) = read(&[("otel.status_code", Value::String("error".into()))]);
        let (later, _) = read(&[("otel.status_description", Value::String("late".into()))]);
        c.status.update(later.status);
        assert_eq!(c.status.status(), Status::error("late"));
    }
}
