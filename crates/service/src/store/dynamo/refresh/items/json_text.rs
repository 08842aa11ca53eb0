//! User details stored as the text of one JSON object.

use serde::{Deserialize, Deserializer, Serializer};
use serde_json::{Map, Value};

pub fn serialize<S: Serializer>(details: &Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
    let text = serde_json::to_string(details).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    let text = String::deserialize(d)?;
    serde_json::from_str(&text)
        .map_err(|_| serde::de::Error::custom("details is not a JSON object"))
}
