//! User details stored as the text of one JSON object.

use serde::{Deserialize, Deserializer, Serializer};
use serde_json::{Map, Value};

pub fn serialize<S: Serializer>(details: &Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&text(details).map_err(serde::ser::Error::custom)?)
}

/// The stored text of `details` (also what a rotation sets a family's `live.details` to).
pub fn text(details: &Map<String, Value>) -> Result<String, serde_json::Error> {
    serde_json::to_string(details)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    let text = String::deserialize(d)?;
    serde_json::from_str(&text)
        .map_err(|_| serde::de::Error::custom("details is not a JSON object"))
}
