//! The `error_description` of an OAuth error (RFC 6749 §5.2): text Tollgate wrote, in the
//! characters the RFC allows (`%x20-21 / %x23-5B / %x5D-7E`: printable ASCII without `"` and
//! `\`). It is built only from text in the code and from figures Tollgate holds, so nothing a
//! caller sent (a parameter's name or value, a header) can reach a description.

use std::borrow::Cow;
use std::fmt;

/// Whether `b` may appear in an `error_description` (RFC 6749 §5.2).
pub const fn is_description_byte(b: u8) -> bool {
    matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Whether every character of `text` may appear in an `error_description`.
pub const fn is_description_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !is_description_byte(bytes[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// A figure a description may name: never text from a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// A count, a limit or a number of seconds.
    Number(u64),
    /// A moment, written as RFC 3339 UTC (`2026-03-31T00:00:00Z`).
    Time(u64),
    /// A name written in the code (a parameter's or a grant's).
    Name(&'static str),
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Time(t) => f.write_str(&crate::clock::rfc3339(*t)),
            Self::Name(n) => f.write_str(n),
        }
    }
}

/// An `error_description`. Built from a `&'static str` (text in the code) or with
/// [`Description::with`] (such a text with [`Fact`]s in it), so a request's text has no way in. A character outside the RFC's set is a
/// bug in Tollgate: debug builds panic on it, release builds write `?` instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(Cow<'static, str>);

impl Description {
    /// A text written in the code.
    pub fn fixed(text: &'static str) -> Self {
        Self(clean(Cow::Borrowed(text)))
    }

    /// `template` with each `{}` replaced by the next of `facts` (a `{}` without a fact is
    /// left out; a fact without a `{}` is not written).
    pub fn with(template: &'static str, facts: &[Fact]) -> Self {
        let mut out = String::with_capacity(template.len() + 16);
        let mut facts = facts.iter();
        let mut pieces = template.split("{}");
        if let Some(first) = pieces.next() {
            out.push_str(first);
        }
        for piece in pieces {
            if let Some(fact) = facts.next() {
                out.push_str(&fact.to_string());
            }
            out.push_str(piece);
        }
        Self(clean(Cow::Owned(out)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text itself when it is within the RFC's set; otherwise a bug: a panic in debug builds
/// (tests find it), each offending character replaced by `?` in release builds.
fn clean(text: Cow<'static, str>) -> Cow<'static, str> {
    if is_description_text(&text) {
        return text;
    }
    debug_assert!(
        false,
        "an error_description has a character outside RFC 6749 §5.2's set: {text:?}"
    );
    Cow::Owned(within_the_set(&text))
}

/// `text` with each character outside the RFC's set replaced by `?`.
fn within_the_set(text: &str) -> String {
    text.chars()
        .map(|c| match u8::try_from(c) {
            Ok(b) if is_description_byte(b) => c,
            _ => '?',
        })
        .collect()
}

impl From<&'static str> for Description {
    fn from(text: &'static str) -> Self {
        Self::fixed(text)
    }
}

impl std::ops::Deref for Description {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Description {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Description {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl serde::Serialize for Description {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_printable_ascii_without_quote_and_backslash() {
        let allowed: Vec<u8> = (0..=255u8).filter(|b| is_description_byte(*b)).collect();
        let expected: Vec<u8> = (0x20..=0x7Eu8)
            .filter(|b| !matches!(b, b'"' | b'\\'))
            .collect();
        assert_eq!(allowed, expected);
    }

    #[test]
    fn facts_fill_the_template_in_order() {
        let d = Description::with(
            "{} requests a minute; try again in {} s, after {}; use the {} grant",
            &[
                Fact::Number(5),
                Fact::Number(42),
                Fact::Time(1_774_915_200),
                Fact::Name("refresh_token"),
            ],
        );
        assert_eq!(
            d,
            "5 requests a minute; try again in 42 s, after 2026-03-31T00:00:00Z; use the refresh_token grant"
        );
        assert!(is_description_text(&d));
        assert_eq!(Description::with("no {} here {}", &[]), "no  here ");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "outside RFC 6749")]
    fn a_text_outside_the_set_is_a_bug_debug_builds_catch() {
        let _ = Description::fixed("scope contains a character RFC 6749 §3.3 does not allow");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "outside RFC 6749")]
    fn a_name_outside_the_set_is_caught_too() {
        let _ = Description::with("{} was sent twice", &[Fact::Name("grant\"type")]);
    }

    #[test]
    fn release_builds_replace_what_is_outside_the_set() {
        assert_eq!(
            within_the_set("a \"quoted\" \\ §3.3\n\u{202e}"),
            "a ?quoted? ? ?3.3??"
        );
    }
}
