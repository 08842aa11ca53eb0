//! What one revocation is, as the token service writes it and the authorizer reads it: a key
//! naming what it refuses, an optional cut-off, and when it may be forgotten; and its items in
//! the revocations table.
//!
//! Entries are keyed on what a token *says* (`sid`, `sub`, `client_id` with its `iat`, `jti`),
//! never on the token's bytes: an ES256 signature `(r, s)` has a twin `(r, n − s)`, so a hash of
//! the text would miss the twin of a revoked token.

use aws_lc_rs::digest::{SHA256, digest};

/// The partition every feed item is written to: one Query of it reads what changed.
pub const FEED: &str = "feed";
/// The sort key of a key item (one per key, read by `/introspect`).
pub const KEY_ITEM_SK: &str = "key";
/// The sparse index of live feed items, keyed (`pk`, `live_until`): a cold start reads only
/// entries still in force, however long DynamoDB's TTL takes to delete the others.
pub const LIVE_INDEX: &str = "live";

/// Attribute names of the revocations table.
pub mod attr {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    /// Tokens issued at or before this second are refused (user and client cut-offs).
    pub const CUTOFF: &str = "cutoff";
    /// DynamoDB's TTL attribute: when no token the entry refuses can still pass a verifier.
    pub const EXPIRES_AT: &str = "expires_at";
    /// The live index's sort key: `expires_at` again, zero-padded text ([`super::live_until`]),
    /// on feed items only (key items stay out of the index).
    pub const LIVE_UNTIL: &str = "live_until";
}

/// What an entry outlives the last instant a token it refuses could still pass a verifier:
/// the verifier's leeway past `exp` (at most [`MAX_LEEWAY_SECONDS`]) and the writers' and
/// readers' clocks disagreeing. An entry forgotten too early would let its token pass again.
pub const EXPIRY_MARGIN_SECONDS: u64 = 600;
/// The largest verifier leeway the margin above covers; the authorizer refuses a larger one.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

/// What an entry refuses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// Every access token of a session (its `sid`, the refresh-token family's id).
    Session(String),
    /// A user's tokens issued at or before the cut-off: the SHA-256 of `sub`.
    Subject([u8; 32]),
    /// A client's tokens issued at or before the cut-off.
    Client(String),
    /// One access token, by its `jti`.
    Token(String),
}

impl Key {
    /// The key of a user, by the SHA-256 of their `sub` (the table holds no user id).
    pub fn subject(sub: &str) -> Self {
        Self::Subject(subject_hash(sub))
    }

    /// Whether entries of this kind carry a cut-off (an issue time), rather than refusing
    /// every token they name.
    pub fn has_cutoff(&self) -> bool {
        matches!(self, Self::Subject(_) | Self::Client(_))
    }

    /// The key as stored: `sid#…`, `sub#<hex>`, `client#…`, `jti#…`.
    pub fn encode(&self) -> String {
        match self {
            Self::Session(s) => format!("sid#{s}"),
            Self::Subject(h) => format!("sub#{}", hex(h)),
            Self::Client(c) => format!("client#{c}"),
            Self::Token(j) => format!("jti#{j}"),
        }
    }

    /// The key stored as `text`, if it is one: a known kind, a non-empty value, and for a
    /// user exactly 64 lower-case hex digits.
    pub fn decode(text: &str) -> Option<Self> {
        let (kind, value) = text.split_once('#')?;
        if value.is_empty() {
            return None;
        }
        Some(match kind {
            "sid" => Self::Session(value.to_owned()),
            "sub" => Self::Subject(unhex(value)?),
            "client" => Self::Client(value.to_owned()),
            "jti" => Self::Token(value.to_owned()),
            _ => return None,
        })
    }
}

/// The SHA-256 of a `sub`, as user cut-offs are keyed.
pub fn subject_hash(sub: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, sub.as_bytes()).as_ref());
    out
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// One revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Key,
    /// For user and client keys: tokens with `iat` at or before it are refused. `None` for
    /// sessions and single tokens, which are refused whatever their issue time.
    pub cutoff: Option<u64>,
    /// Seconds since the epoch after which no token the entry refuses can pass a verifier.
    pub expires_at: u64,
}

impl Entry {
    /// A session ended at `now`, whose newest access token expires at `latest_exp` at the
    /// latest.
    pub fn session(sid: &str, latest_exp: u64) -> Self {
        Self {
            key: Key::Session(sid.to_owned()),
            cutoff: None,
            expires_at: latest_exp.saturating_add(EXPIRY_MARGIN_SECONDS),
        }
    }

    /// One access token, refused until its `exp` is past for every verifier.
    pub fn token(jti: &str, exp: u64) -> Self {
        Self {
            key: Key::Token(jti.to_owned()),
            cutoff: None,
            expires_at: exp.saturating_add(EXPIRY_MARGIN_SECONDS),
        }
    }

    /// A cut-off at `at` for a user or a client: refuses their tokens issued at or before
    /// `at`, for as long as any of them can live (`longest_lifetime` seconds).
    pub fn cut_off(key: Key, at: u64, longest_lifetime: u64) -> Self {
        Self {
            key,
            cutoff: Some(at),
            expires_at: at
                .saturating_add(longest_lifetime)
                .saturating_add(EXPIRY_MARGIN_SECONDS),
        }
    }

    /// The feed item's sort key for an entry written at `written_ms` (milliseconds since the
    /// epoch): zero-padded so that text order is time order.
    pub fn feed_sort_key(&self, written_ms: u64) -> String {
        format!("{written_ms:013}#{}", self.key.encode())
    }

    /// An entry read back from a feed item's sort key and attributes; `None` when the item
    /// is not one (an unknown kind, a cut-off kind without its cut-off).
    pub fn from_feed(sk: &str, cutoff: Option<u64>, expires_at: u64) -> Option<Self> {
        let (written, key) = sk.split_once('#')?;
        if written.len() != 13 || !written.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let key = Key::decode(key)?;
        if key.has_cutoff() && cutoff.is_none() {
            return None;
        }
        Some(Self {
            cutoff: cutoff.filter(|_| key.has_cutoff()),
            key,
            expires_at,
        })
    }
}

/// `expires_at` as the live index's sort key: text, zero-padded so that text order is time
/// order (every key attribute of Tollgate's tables is a string).
pub fn live_until(expires_at: u64) -> String {
    format!("{expires_at:012}")
}

/// The feed sort key from which a Query reads what was written after `after_ms`.
pub fn feed_cursor(after_ms: u64) -> String {
    format!("{after_ms:013}$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_back_as_written() {
        for key in [
            Key::Session("Ab-_1".into()),
            Key::subject("alice@example.com"),
            Key::Client("app".into()),
            Key::Token("j#1".into()),
        ] {
            assert_eq!(Key::decode(&key.encode()), Some(key.clone()), "{key:?}");
        }
        let sub = Key::subject("alice").encode();
        assert_eq!(
            sub,
            "sub#2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90"
        );
    }

    #[test]
    fn keys_that_are_not_ours_are_refused() {
        for bad in [
            "",
            "sid",
            "sid#",
            "user#x",
            "sub#abc",
            "sub#2BD806C97F0E00AF1A1FC3328FA763A9269723C8DB8FAC4F93AF71DB186D6E90",
            "SID#x",
        ] {
            assert_eq!(Key::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn feed_items_sort_by_time_and_read_back() {
        let e = Entry::cut_off(Key::Client("app".into()), 1_700_000_000, 900);
        let early = e.feed_sort_key(999);
        let late = e.feed_sort_key(1_700_000_000_123);
        assert!(early < late, "{early} {late}");
        assert!(feed_cursor(999) > early && feed_cursor(998) < early);
        assert!(live_until(999) < live_until(1_000) && live_until(1_000) < live_until(u64::MAX));
        assert_eq!(
            Entry::from_feed(&late, e.cutoff, e.expires_at),
            Some(e.clone())
        );
        assert_eq!(e.expires_at, 1_700_000_000 + 900 + EXPIRY_MARGIN_SECONDS);
        // A cut-off kind without its cut-off, or a sort key not ours, is not an entry.
        assert_eq!(Entry::from_feed(&late, None, e.expires_at), None);
        for sk in ["12#client#app", "x000000000123#client#app", "0000000000123"] {
            assert_eq!(Entry::from_feed(sk, Some(1), 2), None, "{sk}");
        }
        // A session's cut-off, if one were written, means nothing: it ends whatever the time.
        let s = Entry::from_feed("0000000000001#sid#s1", Some(5), 9);
        assert_eq!(s.and_then(|s| s.cutoff), None);
    }
}
