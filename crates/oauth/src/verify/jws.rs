//! The two JSON parts of a compact JWS, each read once into a typed shape that borrows from the
//! decoded bytes: the header members the verifier checks, and the payload's claims (the
//! registered ones typed, the others kept as the user details). Reading never fails on a
//! member's type: a mistyped member is named by the check that needs it, as before. It fails on
//! a member name given twice in any object, at any depth (RFC 7515 §4 and RFC 7519 §4: parsers
//! differ on which one wins, so such a token means different things to different readers).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::access_token::RESERVED_CLAIMS;

/// A member's value, as far as a check cares.
#[derive(Debug, PartialEq)]
pub(super) enum Member<'a> {
    Text(Cow<'a, str>),
    /// A non-negative whole number.
    Whole(u64),
    /// An array of texts only.
    Texts(Vec<Cow<'a, str>>),
    Null,
    Other,
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Member::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Member::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Member::Whole(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).map_or(Member::Other, Member::Whole))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Member::Other)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Member::Other)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Member::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Member::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut texts = Some(Vec::new());
        while let Some(item) = seq.next_element::<Member<'de>>()? {
            match (item, texts.as_mut()) {
                (Member::Text(t), Some(list)) => list.push(t),
                _ => texts = None,
            }
        }
        Ok(texts.map_or(Member::Other, Member::Texts))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        StrictVisitor.visit_map(map)?;
        Ok(Member::Other)
    }
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MemberVisitor)
    }
}

/// A member name, unescaped (`"cr\u0069t"` is `crit`), borrowed when it has no escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The member names of one object read so far: a name given twice is an error. Objects here
/// have a handful of members, so a list beats a hash set.
#[derive(Default)]
struct Seen<'de>(Vec<Cow<'de, str>>);

impl<'de> Seen<'de> {
    /// Takes the name (a borrowed one costs nothing to clone).
    fn first<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        if self.0.contains(&name) {
            return Err(E::custom("a member name is given twice"));
        }
        self.0.push(name);
        Ok(())
    }
}

fn set<'de, A: MapAccess<'de>>(
    slot: &mut Option<Member<'de>>,
    map: &mut A,
) -> Result<(), A::Error> {
    *slot = Some(map.next_value::<Member<'de>>()?);
    Ok(())
}

/// Any JSON value as a `Value`, refused when an object in it, at any depth, names a member
/// twice (`serde_json::Value` keeps the last one silently).
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
            let Strict(value) = map.next_value()?;
            if out.insert(name.into_owned(), value).is_some() {
                return Err(de::Error::custom("a member name is given twice"));
            }
        }
        Ok(Value::Object(out))
    }
}

/// The protected header: a JSON object.
#[derive(Debug, Default)]
pub(super) struct Header<'a> {
    pub alg: Option<Member<'a>>,
    pub typ: Option<Member<'a>>,
    pub kid: Option<Member<'a>>,
    /// A `crit` member, whatever its value (RFC 7515 §4.1.11).
    pub crit: bool,
}

impl<'de> Deserialize<'de> for Header<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Header<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JOSE header object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut h = Header::default();
                let mut seen = Seen::default();
                while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
                    seen.first(name.clone())?;
                    match name.as_ref() {
                        "alg" => set(&mut h.alg, &mut map)?,
                        "typ" => set(&mut h.typ, &mut map)?,
                        "kid" => set(&mut h.kid, &mut map)?,
                        other => {
                            h.crit |= other == "crit";
                            map.next_value::<Strict>()?;
                        }
                    }
                }
                Ok(h)
            }
        }
        d.deserialize_map(V)
    }
}

/// The claims set: a JSON object.
#[derive(Debug, Default)]
pub(super) struct Claims<'a> {
    pub iss: Option<Member<'a>>,
    pub aud: Option<Member<'a>>,
    pub sub: Option<Member<'a>>,
    pub exp: Option<Member<'a>>,
    pub nbf: Option<Member<'a>>,
    pub iat: Option<Member<'a>>,
    pub client_id: Option<Member<'a>>,
    pub scope: Option<Member<'a>>,
    pub jti: Option<Member<'a>>,
    pub sid: Option<Member<'a>>,
    /// Every claim not in [`RESERVED_CLAIMS`]: the user details the token function let through.
    pub details: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Claims<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Claims<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JWT claims set")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut c = Claims::default();
                let mut seen = Seen::default();
                while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
                    seen.first(name.clone())?;
                    match name.as_ref() {
                        "iss" => set(&mut c.iss, &mut map)?,
                        "aud" => set(&mut c.aud, &mut map)?,
                        "sub" => set(&mut c.sub, &mut map)?,
                        "exp" => set(&mut c.exp, &mut map)?,
                        "nbf" => set(&mut c.nbf, &mut map)?,
                        "iat" => set(&mut c.iat, &mut map)?,
                        "client_id" => set(&mut c.client_id, &mut map)?,
                        "scope" => set(&mut c.scope, &mut map)?,
                        "jti" => set(&mut c.jti, &mut map)?,
                        "sid" => set(&mut c.sid, &mut map)?,
                        other if RESERVED_CLAIMS.contains(&other) => {
                            map.next_value::<Strict>()?;
                        }
                        _ => {
                            let Strict(value) = map.next_value()?;
                            c.details.insert(name.into_owned(), value);
                        }
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_map(V)
    }
}

/// Whether `value` is `expected` or, as an array, contains it (RFC 7519 §4.1.3, for `aud`).
/// `None` when it is neither a text nor an array of texts.
pub(super) fn names(value: &Member<'_>, expected: &str) -> Option<bool> {
    match value {
        Member::Text(t) => Some(t == expected),
        Member::Texts(list) => Some(list.iter().any(|t| t == expected)),
        _ => None,
    }
}

/// Decodes one base64url segment (no padding, canonical), as jsonwebtoken did.
pub(super) fn b64(segment: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_member_names_are_read_as_their_text() {
        let h: Header = serde_json::from_str(r#"{"cr\u0069t":["x"],"\u0061lg":"ES256"}"#).unwrap();
        assert!(h.crit);
        assert_eq!(h.alg, Some(Member::Text("ES256".into())));
    }

    #[test]
    fn members_keep_their_type_without_failing() {
        let c: Claims = serde_json::from_str(
            r#"{"iss":["a","b"],"aud":[1],"exp":-1,"nbf":1.5,"iat":null,"sub":{"x":1},"email":"e","jti":"j"}"#,
        )
        .unwrap();
        assert_eq!(c.iss, Some(Member::Texts(vec!["a".into(), "b".into()])));
        assert_eq!(c.aud, Some(Member::Other));
        assert_eq!(c.exp, Some(Member::Other));
        assert_eq!(c.nbf, Some(Member::Other));
        assert_eq!(c.iat, Some(Member::Null));
        assert_eq!(c.sub, Some(Member::Other));
        assert_eq!(c.details.len(), 1, "reserved claims are not details");
        assert!(serde_json::from_str::<Claims>("[1]").is_err());
        assert!(serde_json::from_str::<Header>("\"x\"").is_err());
    }
}
