//! The data that spans carry, shared by the engine below and the API above: span kinds,
//! statuses, attribute keys and values, and the two-word string they are stored in. This
//! module imports nothing else of the crate.

mod kind;
mod small_str;
mod status;
mod value;

pub use kind::SpanKind;
pub(crate) use small_str::SmallStr;
pub use status::Status;
pub use value::{ArrayElement, IntoValue, Key, KeyValue, ToValue, Value};
