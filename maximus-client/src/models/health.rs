use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{HealthStatus, RangeViolation, Validate};

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `healthy`, `degraded`, ...
    pub status: HealthStatus,
    /// A human-readable summary.
    #[serde(default)]
    pub message: Option<String>,
    /// Per-component status, by component name: any JSON object.
    ///
    /// Servers that send a list instead are read into the same map: an object entry is keyed
    /// by its `name` (else `component`, else `id`) and kept whole; a string entry is a name
    /// with no details (`null`); any other entry is keyed by its position (`"0"`, `"1"`, ...).
    /// A later entry with the same name replaces an earlier one.
    #[serde(default, deserialize_with = "components_by_name")]
    pub components: Option<Map<String, Value>>,
}

impl HealthResponse {
    /// The status of component `name`: its value when a string (`"healthy"`), or its
    /// `status` field when an object (`{"status": "healthy", ...}`).
    pub fn component_status(&self, name: &str) -> Option<&str> {
        let component = self.components.as_ref()?.get(name)?;
        component
            .as_str()
            .or_else(|| component.get("status").and_then(Value::as_str))
    }
}

/// Keys a component in a list may be named by, by precedence.
const NAME_KEYS: [&str; 3] = ["name", "component", "id"];

/// `components` as a map, from an object or a list (see the field).
fn components_by_name<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Map<String, Value>>, D::Error> {
    deserializer.deserialize_any(ComponentsVisitor)
}

struct ComponentsVisitor;

impl<'de> serde::de::Visitor<'de> for ComponentsVisitor {
    type Value = Option<Map<String, Value>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of components by name, a list of components, or null")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Map::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        let mut position = 0usize;
        while let Some(entry) = seq.next_element::<Value>()? {
            let (name, details) = named(entry, position);
            map.insert(name, details);
            position += 1;
        }
        Ok(Some(map))
    }
}

/// A listed component's name and what is kept of it (see [`HealthResponse::components`]).
fn named(entry: Value, position: usize) -> (String, Value) {
    let name = match &entry {
        Value::String(name) => return (name.clone(), Value::Null),
        Value::Object(fields) => NAME_KEYS
            .iter()
            .find_map(|key| fields.get(*key).and_then(Value::as_str)),
        _ => None,
    };
    match name {
        Some(name) => (name.to_owned(), entry),
        None => (position.to_string(), entry),
    }
}

impl Validate for HealthResponse {
    fn validate(&self) -> Result<(), RangeViolation> {
        Ok(())
    }
}
