//! Scopes (RFC 6749 §3.3): parsing the space-delimited list and the subset rules.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::OAuthError;

/// A set of scope tokens, kept sorted so that the string form is canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses `scope` as sent by a client. Tokens are separated by single or repeated spaces;
    /// each must be made of the characters RFC 6749 §3.3 allows.
    pub fn parse(raw: &str) -> Result<Self, OAuthError> {
        let mut set = BTreeSet::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_scope_char) {
                return Err(OAuthError::invalid_scope(
                    "scope contains a character RFC 6749 section 3.3 does not allow",
                ));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the set holds `scope` (e.g. `openid`).
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }

    /// The scopes to grant: what was asked for if the client may have all of it, else
    /// `invalid_scope`; nothing asked means the client's defaults.
    pub fn resolve(
        requested: Option<&str>,
        allowed: &Scopes,
        default: &Scopes,
    ) -> Result<Scopes, OAuthError> {
        let scopes = match requested {
            Some(raw) => Scopes::parse(raw)?,
            None => default.clone(),
        };
        if scopes.is_empty() && requested.is_some() {
            return Err(OAuthError::invalid_scope("scope is empty"));
        }
        if !scopes.is_subset_of(allowed) {
            return Err(OAuthError::invalid_scope(
                "the requested scope is not allowed for this client",
            ));
        }
        Ok(scopes)
    }
}

impl<S: Into<String>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> Self {
        Self(items.into_iter().map(Into::into).collect())
    }
}

fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

/// Stored as a list of strings (the DynamoDB client record keeps `L` of `S`); read back through
/// [`Scopes::parse`], so a stored token that breaks RFC 6749 §3.3 is refused, not trusted.
impl serde::Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let tokens = Vec::<String>::deserialize(d)?;
        let invalid = || serde::de::Error::custom("holds an invalid scope");
        // Each stored entry is one scope token: an entry "a b" written by hand is refused, not
        // read as the two scopes it would become once joined.
        if tokens.iter().any(|t| t.is_empty() || t.contains(' ')) {
            return Err(invalid());
        }
        Scopes::parse(&tokens.join(" ")).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn s(v: &str) -> Scopes {
        Scopes::parse(v).unwrap_or_default()
    }

    #[test]
    fn a_stored_list_holds_one_scope_token_per_entry() {
        let read = |json: &str| serde_json::from_str::<Scopes>(json);
        assert_eq!(read(r#"["read", "write"]"#).unwrap(), s("read write"));
        for bad in [
            r#"["read write"]"#,
            r#"[""]"#,
            r#"["read", " "]"#,
            r#"["a\"b"]"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_is_canonical_and_deduplicated() {
        assert_eq!(s("b a  b").to_string(), "a b");
    }

    #[test]
    fn forbidden_characters_are_invalid_scope() {
        for bad in ["a\"b", "a\\b", "é", "a\tb"] {
            let err = Scopes::parse(bad).err().map(|e| e.code);
            assert_eq!(err, Some(ErrorCode::InvalidScope), "{bad:?}");
        }
    }

    #[test]
    fn absent_scope_means_client_defaults() {
        let got = Scopes::resolve(None, &s("a b c"), &s("a")).ok();
        assert_eq!(got, Some(s("a")));
    }

    #[test]
    fn requested_scope_must_be_a_subset_of_allowed() {
        assert_eq!(
            Scopes::resolve(Some("a b"), &s("a b c"), &s("a")).ok(),
            Some(s("a b"))
        );
        let err = Scopes::resolve(Some("a d"), &s("a b c"), &s("a"))
            .err()
            .map(|e| e.code);
        assert_eq!(err, Some(ErrorCode::InvalidScope));
    }

    #[test]
    fn blank_requested_scope_is_invalid() {
        let err = Scopes::resolve(Some("  "), &s("a"), &s("a"))
            .err()
            .map(|e| e.code);
        assert_eq!(err, Some(ErrorCode::InvalidScope));
    }
}
