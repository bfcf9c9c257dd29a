//! Attribute keys and values.
//!
//! Values keep their types end to end: an integer stays an integer in Jaeger and in OTLP, a
//! float stays a float. Nothing is stringified on the way.

use std::borrow::Cow;
use std::fmt;

use crate::model::SmallStr;

/// The name of an attribute, such as `http.method`. Two words: a static name is borrowed,
/// an owned one is kept as a boxed string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(SmallStr);

impl Key {
    /// A key from a static string, without allocating.
    pub const fn from_static(key: &'static str) -> Self {
        Key(SmallStr::from_static(key))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Bytes it owns on the heap (none for a literal).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }

    /// The same key (a pointer compare first: most keys are literals).
    pub(crate) fn same(&self, other: &Key) -> bool {
        self.0.same(&other.0)
    }

    pub(crate) fn into_otel(self) -> opentelemetry::Key {
        match self.0.into_cow() {
            Cow::Borrowed(s) => opentelemetry::Key::from_static_str(s),
            Cow::Owned(s) => opentelemetry::Key::new(s),
        }
    }
}

impl From<&'static str> for Key {
    fn from(key: &'static str) -> Self {
        Key(SmallStr::from_static(key))
    }
}

impl From<String> for Key {
    fn from(key: String) -> Self {
        Key(SmallStr::from_string(key))
    }
}

impl From<Cow<'static, str>> for Key {
    fn from(key: Cow<'static, str>) -> Self {
        Key(SmallStr::from_cow(key))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Key").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed attribute value: what an OTLP or Jaeger backend can store.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `true` or `false`.
    Bool(bool),
    /// A signed integer (unsigned values that do not fit become strings, so nothing is lost).
    I64(i64),
    /// A floating point number.
    F64(f64),
    /// Text.
    String(Cow<'static, str>),
    /// An array of booleans.
    BoolArray(Vec<bool>),
    /// An array of integers.
    I64Array(Vec<i64>),
    /// An array of floats.
    F64Array(Vec<f64>),
    /// An array of strings.
    StringArray(Vec<Cow<'static, str>>),
}

impl Value {
    /// Cuts string values (and each string of an array) to at most `max_chars` characters,
    /// on a character boundary, as `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` asks.
    pub(crate) fn truncated(self, max_chars: Option<usize>) -> Self {
        let Some(max) = max_chars else { return self };
        match self {
            Value::String(s) => Value::String(truncate_chars(s, max)),
            Value::StringArray(items) => {
                Value::StringArray(items.into_iter().map(|s| truncate_chars(s, max)).collect())
            }
            other => other,
        }
    }

    /// What the value owns on the heap (owned strings and arrays), without allocating: the
    /// export queue's byte budget counts it on the application's thread.
    pub(crate) fn heap_bytes(&self) -> usize {
        let text = |s: &Cow<'static, str>| match s {
            Cow::Owned(s) => s.capacity(),
            Cow::Borrowed(_) => 0,
        };
        match self {
            Value::Bool(_) | Value::I64(_) | Value::F64(_) => 0,
            Value::String(s) => text(s),
            Value::BoolArray(v) => v.capacity(),
            Value::I64Array(v) => v.capacity() * std::mem::size_of::<i64>(),
            Value::F64Array(v) => v.capacity() * std::mem::size_of::<f64>(),
            Value::StringArray(v) => {
                v.capacity() * std::mem::size_of::<Cow<'static, str>>() + v.iter().map(text).sum::<usize>()
            }
        }
    }

    pub(crate) fn from_otel(value: opentelemetry::Value) -> Self {
        use opentelemetry::{Array, Value as O};
        let text = |s: opentelemetry::StringValue| Cow::Owned(s.as_str().to_owned());
        match value {
            O::Bool(v) => Value::Bool(v),
            O::I64(v) => Value::I64(v),
            O::F64(v) => Value::F64(v),
            O::String(v) => Value::String(text(v)),
            O::Array(Array::Bool(v)) => Value::BoolArray(v),
            O::Array(Array::I64(v)) => Value::I64Array(v),
            O::Array(Array::F64(v)) => Value::F64Array(v),
            O::Array(Array::String(v)) => Value::StringArray(v.into_iter().map(text).collect()),
            other => Value::String(Cow::Owned(other.to_string())),
        }
    }

    pub(crate) fn into_otel(self) -> opentelemetry::Value {
        use opentelemetry::{Array, StringValue, Value as O};
        match self {
            Value::Bool(v) => O::Bool(v),
            Value::I64(v) => O::I64(v),
            Value::F64(v) => O::F64(v),
            Value::String(v) => O::String(StringValue::from(v)),
            Value::BoolArray(v) => O::Array(Array::Bool(v)),
            Value::I64Array(v) => O::Array(Array::I64(v)),
            Value::F64Array(v) => O::Array(Array::F64(v)),
            Value::StringArray(v) => O::Array(Array::String(v.into_iter().map(StringValue::from).collect())),
        }
    }
}

fn truncate_chars(s: Cow<'static, str>, max: usize) -> Cow<'static, str> {
    match s.char_indices().nth(max) {
        None => s,
        Some((byte_end, _)) => Cow::Owned(s[..byte_end].to_owned()),
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T: fmt::Debug>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
            write!(f, "{items:?}")
        }
        match self {
            Value::Bool(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::String(v) => write!(f, "{v:?}"),
            Value::BoolArray(v) => list(f, v),
            Value::I64Array(v) => list(f, v),
            Value::F64Array(v) => list(f, v),
            Value::StringArray(v) => list(f, v),
        }
    }
}

/// Conversion into an attribute [`Value`].
///
/// Implemented for integers, floats, `bool`, strings and slices, arrays and `Vec`s of them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a span attribute value",
    label = "not an attribute value",
    note = "attribute values are integers, floats, bools, strings, or arrays of them; \
            format other types first, e.g. `format!(\"{{:?}}\", value)`"
)]
pub trait IntoValue {
    /// Converts `self` into a typed attribute value.
    fn into_value(self) -> Value;
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl<T: IntoValue + Clone> IntoValue for &T {
    fn into_value(self) -> Value {
        self.clone().into_value()
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

macro_rules! lossless_ints {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::I64(i64::from(self))
            }
        }
    )*};
}
lossless_ints!(i8, i16, i32, i64, u8, u16, u32);

// Values beyond i64 become decimal strings: OpenTelemetry has no unsigned type, and a string
// keeps every digit where a float would silently round.
macro_rules! wide_ints {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                match i64::try_from(self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(Cow::Owned(self.to_string())),
                }
            }
        }
    )*};
}
wide_ints!(u64, usize, isize, i128, u128);

impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::F64(self)
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> Value {
        Value::F64(f64::from(self))
    }
}

impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::String(Cow::Owned(self.to_owned()))
    }
}

impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::String(Cow::Owned(self))
    }
}

impl IntoValue for Cow<'static, str> {
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

impl IntoValue for char {
    fn into_value(self) -> Value {
        Value::String(Cow::Owned(self.to_string()))
    }
}

/// Element types allowed inside array attributes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an element of an array attribute value",
    note = "array attributes hold integers, floats, bools or strings"
)]
pub trait ArrayElement: Sized {
    /// Builds the typed array value from its elements.
    fn into_array(items: Vec<Self>) -> Value;
}

impl ArrayElement for bool {
    fn into_array(items: Vec<Self>) -> Value {
        Value::BoolArray(items)
    }
}

impl ArrayElement for f64 {
    fn into_array(items: Vec<Self>) -> Value {
        Value::F64Array(items)
    }
}

impl ArrayElement for String {
    fn into_array(items: Vec<Self>) -> Value {
        Value::StringArray(items.into_iter().map(Cow::Owned).collect())
    }
}

impl ArrayElement for &str {
    fn into_array(items: Vec<Self>) -> Value {
        Value::StringArray(items.into_iter().map(|s| Cow::Owned(s.to_owned())).collect())
    }
}

macro_rules! int_elements {
    ($($t:ty),*) => {$(
        impl ArrayElement for $t {
            fn into_array(items: Vec<Self>) -> Value {
                Value::I64Array(items.into_iter().map(i64::from).collect())
            }
        }
    )*};
}
int_elements!(i8, i16, i32, i64, u8, u16, u32);

impl<T: ArrayElement> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        T::into_array(self)
    }
}

impl<T: ArrayElement + Clone> IntoValue for &[T] {
    fn into_value(self) -> Value {
        T::into_array(self.to_vec())
    }
}

impl<T: ArrayElement, const N: usize> IntoValue for [T; N] {
    fn into_value(self) -> Value {
        T::into_array(Vec::from(self))
    }
}

/// Conversion of a borrowed value into an attribute [`Value`] (cloning what it needs).
///
/// This is what `#[trace_span(key = expr)]` uses, so an expression such as `user.name` can
/// be recorded without moving it out of the function's arguments.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a span attribute value",
    label = "not an attribute value",
    note = "attribute values are integers, floats, bools, strings, or arrays of them; \
            format other types first, e.g. `format!(\"{{:?}}\", value)`"
)]
pub trait ToValue {
    /// The attribute value for `self`.
    fn to_value(&self) -> Value;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for &mut T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

macro_rules! to_value_by_clone {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                self.clone().into_value()
            }
        }
    )*};
}
to_value_by_clone!(
    bool,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    char,
    String,
    Cow<'static, str>,
    Value
);

impl ToValue for str {
    fn to_value(&self) -> Value {
        self.into_value()
    }
}

impl<T: ArrayElement + Clone> ToValue for [T] {
    fn to_value(&self) -> Value {
        T::into_array(self.to_vec())
    }
}

impl<T: ArrayElement + Clone> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        T::into_array(self.clone())
    }
}

impl<T: ArrayElement + Clone, const N: usize> ToValue for [T; N] {
    fn to_value(&self) -> Value {
        T::into_array(self.to_vec())
    }
}

/// One attribute: a key and its typed value.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    /// The attribute's name.
    pub key: Key,
    /// The attribute's value.
    pub value: Value,
}

impl KeyValue {
    /// An attribute from any key and any value that converts into an attribute value.
    pub fn new(key: impl Into<Key>, value: impl IntoValue) -> Self {
        KeyValue {
            key: key.into(),
            value: value.into_value(),
        }
    }

    pub(crate) fn into_otel(self, max_value_chars: Option<usize>) -> opentelemetry::KeyValue {
        opentelemetry::KeyValue::new(
            self.key.into_otel(),
            self.value.truncated(max_value_chars).into_otel(),
        )
    }

    /// An OpenTelemetry attribute (from a custom sampler) as ours.
    pub(crate) fn from_otel(kv: opentelemetry::KeyValue) -> Self {
        KeyValue {
            key: Key::from(kv.key.as_str().to_owned()),
            value: Value::from_otel(kv.value),
        }
    }
}

impl<K: Into<Key>, V: IntoValue> From<(K, V)> for KeyValue {
    fn from((key, value): (K, V)) -> Self {
        KeyValue::new(key, value)
    }
}

impl From<&KeyValue> for KeyValue {
    fn from(kv: &KeyValue) -> Self {
        kv.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_stay_integers() {
        assert_eq!(42.into_value(), Value::I64(42));
        assert_eq!(7u8.into_value(), Value::I64(7));
    }

    #[test]
    fn unsigned_beyond_i64_becomes_exact_string() {
        assert_eq!(
            u64::MAX.into_value(),
            Value::String("18446744073709551615".into())
        );
        assert_eq!(5usize.into_value(), Value::I64(5));
    }

    #[test]
    fn arrays_keep_element_type() {
        assert_eq!(vec![1, 2].into_value(), Value::I64Array(vec![1, 2]));
        assert_eq!(
            ["a", "b"].into_value(),
            Value::StringArray(vec!["a".into(), "b".into()])
        );
        assert_eq!(vec![true].into_value(), Value::BoolArray(vec![true]));
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let v = Value::String("héllo".into()).truncated(Some(2));
        assert_eq!(v, Value::String("hé".into()));
        let v = Value::I64(5).truncated(Some(0));
        assert_eq!(v, Value::I64(5));
    }
}
