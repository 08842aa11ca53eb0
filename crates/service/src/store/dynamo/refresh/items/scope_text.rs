//! A scope stored as one space-separated string, read back through [`Scopes::parse`].

use serde::{Deserialize, Deserializer, Serializer};
use tollgate_oauth::scope::Scopes;

pub fn serialize<S: Serializer>(scope: &Scopes, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(scope)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Scopes, D::Error> {
    let text = String::deserialize(d)?;
    Scopes::parse(&text).map_err(|_| serde::de::Error::custom("scope is invalid"))
}
