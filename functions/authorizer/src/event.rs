//! The three event shapes API Gateway sends an authorizer, read in one pass into the few fields
//! the decision needs, borrowing from the event's bytes; every other field is skipped unread.
//! A field the decision reads that has the wrong type, or is given twice, makes the event
//! unreadable.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Which kind of event arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    RestToken,
    RestRequest,
    HttpApi,
}

impl Shape {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RestToken => "rest_token",
            Self::RestRequest => "rest_request",
            Self::HttpApi => "http_api_v2",
        }
    }
}

/// The fields of any of the three shapes that the decision reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    #[serde(borrow, default)]
    version: Option<Text<'a>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    authorization_token: Option<Text<'a>>,
    #[serde(borrow, default)]
    method_arn: Option<Text<'a>>,
    #[serde(borrow, default)]
    route_arn: Option<Text<'a>>,
    #[serde(borrow, default)]
    raw_path: Option<Text<'a>>,
    #[serde(borrow, default)]
    path: Option<Text<'a>>,
    #[serde(borrow, default)]
    headers: Option<Authorization<'a>>,
    #[serde(borrow, default)]
    multi_value_headers: Option<Authorization<'a>>,
    #[serde(borrow, default)]
    identity_source: Option<Vec<Credential<'a>>>,
}

/// A text field, borrowed from the event's bytes when it has no escapes.
#[derive(Debug)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

fn text(t: Option<Text<'_>>) -> Option<Cow<'_, str>> {
    t.map(|t| t.0)
}

/// What the handler needs from any event: the credential as sent and the route called.
#[derive(Debug)]
pub struct Incoming<'a> {
    pub shape: Shape,
    pub credential: Option<Cow<'a, str>>,
    pub arn: Option<Cow<'a, str>>,
    /// The request path as the backend will see it (`rawPath`, or a REST event's `path`).
    pub raw_path: Option<Cow<'a, str>>,
}

/// One credential value as sent: text, or something that is not.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential<'a> {
    Text(Cow<'a, str>),
    NotText,
}

/// The `Authorization` entries of a header map, under any letter case; the other headers are
/// skipped. A value may be text or (multi-value headers) an array of them.
#[derive(Debug, Default)]
pub struct Authorization<'a> {
    /// How many entries were named `authorization` in some letter case.
    names: usize,
    /// An entry held an array of more than one value.
    several: bool,
    values: Vec<Credential<'a>>,
}

/// A header value: a text, an array of credentials, or anything else (not text).
enum HeaderValue<'a> {
    One(Credential<'a>),
    List(Vec<Credential<'a>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Credential<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match HeaderValue::<'a>::deserialize(d)? {
            HeaderValue::One(c) => Ok(c),
            HeaderValue::List(_) => Ok(Credential::NotText),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for HeaderValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = HeaderValue<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(HeaderValue::One(Credential::Text(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(HeaderValue::One(Credential::Text(Cow::Owned(v.to_owned()))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = Vec::new();
                while let Some(c) = seq.next_element::<Credential<'a>>()? {
                    list.push(c);
                }
                Ok(HeaderValue::List(list))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(HeaderValue::One(Credential::NotText))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(HeaderValue::One(Credential::NotText))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(HeaderValue::One(Credential::NotText))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(HeaderValue::One(Credential::NotText))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(HeaderValue::One(Credential::NotText))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(HeaderValue::One(Credential::NotText))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Authorization<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Authorization<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of headers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut auth = Authorization::default();
                while let Some(Text(name)) = map.next_key::<Text<'a>>()? {
                    if !name.eq_ignore_ascii_case("authorization") {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    auth.names += 1;
                    match map.next_value::<HeaderValue<'a>>()? {
                        HeaderValue::One(c) => auth.values.push(c),
                        HeaderValue::List(list) => {
                            auth.several |= list.len() > 1;
                            auth.values.extend(list);
                        }
                    }
                }
                Ok(auth)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

impl<'a> Event<'a> {
    /// The one credential an event carries. `Authorization` under several names
    /// (`authorization` and `Authorization`), several multi-value entries, or identity sources
    /// and headers that disagree are refused: API Gateway caches the answer under its own
    /// identity source, so the value decided on must be the only one there is.
    fn single_credential(&mut self) -> Result<Option<Cow<'a, str>>, &'static str> {
        let mut seen: Vec<Credential<'a>> = Vec::new();
        for map in [self.headers.take(), self.multi_value_headers.take()]
            .into_iter()
            .flatten()
        {
            if map.several {
                return Err("several Authorization values");
            }
            if map.names > 1 {
                return Err("Authorization sent under several names");
            }
            seen.extend(map.values);
        }
        seen.extend(self.identity_source.take().unwrap_or_default());
        let mut values = seen.into_iter();
        let Some(first) = values.next() else {
            return Ok(None);
        };
        let Credential::Text(first) = first else {
            return Err("Authorization is not text");
        };
        if values.any(|v| v != Credential::Text(Cow::Borrowed(first.as_ref()))) {
            return Err("Authorization values disagree");
        }
        Ok(Some(first))
    }

    /// What the decision needs, by shape: a payload 2.0 event by its `version`, a REST one by
    /// its `type`.
    pub fn incoming(mut self) -> Result<Incoming<'a>, &'static str> {
        if self.version.as_ref().map(|v| v.0.as_ref()) == Some("2.0") {
            return Ok(Incoming {
                shape: Shape::HttpApi,
                credential: self.single_credential()?,
                arn: text(self.route_arn),
                raw_path: text(self.raw_path),
            });
        }
        match self.kind.as_ref().map(|k| k.0.as_ref()) {
            Some("TOKEN") => Ok(Incoming {
                shape: Shape::RestToken,
                credential: text(self.authorization_token),
                arn: text(self.method_arn),
                raw_path: None,
            }),
            Some("REQUEST") => Ok(Incoming {
                shape: Shape::RestRequest,
                credential: self.single_credential()?,
                arn: text(self.method_arn),
                raw_path: text(self.path),
            }),
            _ => Err("not an API Gateway authorizer event"),
        }
    }
}

/// Why an event that did not read is refused, by the shape it claims (read again loosely: this
/// is the refusal path only).
pub fn unreadable(event: &Value) -> &'static str {
    if event.get("version").and_then(Value::as_str) == Some("2.0") {
        return "unreadable v2 event";
    }
    match event.get("type").and_then(Value::as_str) {
        Some("TOKEN") => "unreadable TOKEN event",
        Some("REQUEST") => "unreadable REQUEST event",
        _ => "not an API Gateway authorizer event",
    }
}

/// Reads an event from its bytes, as the runtime receives it.
pub fn read_slice(bytes: &[u8]) -> Result<Incoming<'_>, &'static str> {
    match serde_json::from_slice::<Event<'_>>(bytes) {
        Ok(e) => e.incoming(),
        Err(_) => Err(serde_json::from_slice::<Value>(bytes)
            .map_or("not an API Gateway authorizer event", |v| unreadable(&v))),
    }
}

/// Reads an event already parsed into a `Value` (tests, fuzzing), borrowing from it.
pub fn read_value(event: &Value) -> Result<Incoming<'_>, &'static str> {
    match Event::deserialize(event) {
        Ok(e) => e.incoming(),
        Err(_) => Err(unreadable(event)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn credential(event: Value) -> Result<Option<String>, &'static str> {
        let mut e = Event::deserialize(&event).map_err(|_| "unreadable")?;
        e.single_credential().map(|c| c.map(Cow::into_owned))
    }

    #[test]
    fn an_event_carries_one_credential_or_is_refused() {
        let one = json!({"headers": {"Authorization": "Bearer a"},
            "multiValueHeaders": {"Authorization": ["Bearer a"]}, "identitySource": ["Bearer a"]});
        assert_eq!(credential(one), Ok(Some("Bearer a".into())));
        assert_eq!(credential(json!({"headers": {}})), Ok(None));
        for bad in [
            json!({"headers": {"Authorization": "Bearer a", "authorization": "Bearer a"}}),
            json!({"multiValueHeaders": {"Authorization": ["Bearer a", "Bearer b"]}}),
            json!({"headers": {"Authorization": "Bearer a"}, "multiValueHeaders": {"Authorization": ["Bearer b"]}}),
            json!({"identitySource": ["Bearer a", "Bearer b"]}),
            json!({"headers": {"authorization": "Bearer a"}, "identitySource": ["Bearer b"]}),
            json!({"headers": {"authorization": 5}}),
            json!({"headers": {"authorization": null}}),
            json!({"identitySource": [["Bearer a"]]}),
        ] {
            assert!(credential(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_name_given_twice_in_the_bytes_is_refused() {
        // A `Value` would keep only the last; the bytes say there were two.
        let raw = br#"{"type":"REQUEST","methodArn":"arn","headers":{"Authorization":"Bearer a","Authorization":"Bearer b"}}"#;
        assert_eq!(
            read_slice(raw).err(),
            Some("Authorization sent under several names")
        );
        let twice =
            br#"{"type":"TOKEN","authorizationToken":"Bearer a","authorizationToken":"Bearer b"}"#;
        assert_eq!(read_slice(twice).err(), Some("unreadable TOKEN event"));
    }

    #[test]
    fn unknown_events_are_unreadable() {
        for (bad, why) in [
            (json!({}), "not an API Gateway authorizer event"),
            (
                json!({"type": "TOKEN", "authorizationToken": 5}),
                "unreadable TOKEN event",
            ),
            (
                json!({"type": "REQUEST", "path": []}),
                "unreadable REQUEST event",
            ),
            (
                json!({"version": "2.0", "routeArn": 1}),
                "unreadable v2 event",
            ),
            (json!([1, 2]), "not an API Gateway authorizer event"),
        ] {
            assert_eq!(read_value(&bad).err(), Some(why), "{bad}");
            let bytes = serde_json::to_vec(&bad).unwrap();
            assert_eq!(read_slice(&bytes).err(), Some(why), "{bad}");
        }
        assert!(read_slice(b"not json").is_err());
    }

    #[test]
    fn escaped_text_is_read_as_its_value() {
        let raw = br#"{"type":"TOKEN","authorizationToken":"Bearer \u0061b","methodArn":"a\/b"}"#;
        let i = read_slice(raw).unwrap();
        assert_eq!(i.credential.as_deref(), Some("Bearer ab"));
        assert_eq!(i.arn.as_deref(), Some("a/b"));
    }
}
