//! Where a token's retirement is recorded: on its family, not on the token.
//!
//! A rotation writes two items: the family (its live token moves from the old hash to the new
//! one, and the family records the token it retired: when, for which successor, the successor
//! sealed under it, whether the answer was confirmed) and the successor's own record. The old
//! token's record is not written: whether a token is still live is the family's to say (it
//! names the one live token), so a token whose record says `active` while its family names
//! another was rotated. Tokens retired before this (rotated in their own record, with their own
//! `rotated_at`, `successor_hash`, `sealed_successor` and `unconfirmed`) read as they were.
//!
//! Only the latest retirement is kept: the grace window and the lost-answer retry give back a
//! successor only while it is still the live token, and a token retired before it was already
//! followed by a used one, so presenting it is reuse either way.

use crate::refresh::{StoredFamily, StoredToken, Successor, TokenStatus};

/// The token a family's latest rotation retired, as the family records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredToken {
    pub token_hash: String,
    pub rotated_at: u64,
    /// The hash of the successor that rotation made live.
    pub successor_hash: String,
    /// That successor, sealed under the retired token (`crate::refresh::grace`), when the
    /// client's grace window was on or the rotation's answer was lost.
    pub sealed_successor: Option<String>,
    /// The rotation's answer was lost: a retry gets the successor for the lost-answer window.
    pub unconfirmed: bool,
}

impl Successor {
    /// What the rotation to this successor records of `old` on their family. Sent again, it
    /// records it again whole: a re-send carries the seal and the unconfirmed mark the first
    /// send may have lacked.
    pub fn retiring(&self, old: &StoredToken, now: u64) -> RetiredToken {
        RetiredToken {
            token_hash: old.token_hash.clone(),
            rotated_at: now,
            successor_hash: self.token_hash.clone(),
            sealed_successor: self.sealed.clone(),
            unconfirmed: self.unconfirmed,
        }
    }
}

impl StoredToken {
    /// The token as it stands in `family` (as read now): rotated when the family names another
    /// live token, with what the family recorded of its retirement when it is the one the
    /// latest rotation retired. A token whose own record says rotated (the shape written
    /// before retirements moved to the family) keeps what its record says.
    pub fn as_of(mut self, family: Option<&StoredFamily>) -> Self {
        let Some(family) = family.filter(|f| f.family_id == self.family_id) else {
            return self;
        };
        if self.status == TokenStatus::Rotated {
            return self;
        }
        if family.current_token != self.token_hash {
            self.status = TokenStatus::Rotated;
        }
        if let Some(r) = family
            .retired
            .as_ref()
            .filter(|r| r.token_hash == self.token_hash)
        {
            self.status = TokenStatus::Rotated;
            self.rotated_at = Some(r.rotated_at);
            self.successor_hash = Some(r.successor_hash.clone());
            self.sealed_successor.clone_from(&r.sealed_successor);
            self.unconfirmed = r.unconfirmed;
        }
        self
    }
}

/// A token of family `f` for the domain's unit tests: active unless told otherwise, issued at
/// 0, expiring at 1,000 (its family at 2,000).
#[cfg(test)]
pub(crate) fn test_token(hash: &str, status: TokenStatus) -> StoredToken {
    use crate::refresh::RefreshGrant;
    use tollgate_oauth::scope::Scopes;
    StoredToken {
        token_hash: hash.into(),
        family_id: "f".into(),
        grant: RefreshGrant {
            client_id: "app".into(),
            sub: "u".into(),
            scope: Scopes::default(),
            details: serde_json::Map::new(),
            auth_time: 0,
        },
        status,
        issued_at: 0,
        expires_at: 1_000,
        family_expires_at: 2_000,
        rotated_at: None,
        sealed_successor: None,
        successor_hash: None,
        unconfirmed: false,
        in_family: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(hash: &str, status: TokenStatus) -> StoredToken {
        test_token(hash, status)
    }

    fn family(current: &str, retired: Option<RetiredToken>) -> StoredFamily {
        StoredFamily {
            family_id: "f".into(),
            client_id: "app".into(),
            sub: "u".into(),
            revoked: false,
            current_token: current.into(),
            created_at: 0,
            refreshed_at: None,
            access_until: None,
            expires_at: 2_000,
            retired,
            live: None,
        }
    }

    fn retired(hash: &str) -> RetiredToken {
        RetiredToken {
            token_hash: hash.into(),
            rotated_at: 50,
            successor_hash: "h2".into(),
            sealed_successor: Some("sealed".into()),
            unconfirmed: true,
        }
    }

    #[test]
    fn the_live_token_stays_active() {
        let t = token("h2", TokenStatus::Active);
        let f = family("h2", Some(retired("h1")));
        assert_eq!(t.clone().as_of(Some(&f)), t);
    }

    #[test]
    fn the_latest_retired_token_reads_its_retirement_from_the_family() {
        let t = token("h1", TokenStatus::Active).as_of(Some(&family("h2", Some(retired("h1")))));
        assert_eq!(t.status, TokenStatus::Rotated);
        assert_eq!(t.rotated_at, Some(50));
        assert_eq!(t.successor_hash.as_deref(), Some("h2"));
        assert_eq!(t.sealed_successor.as_deref(), Some("sealed"));
        assert!(t.unconfirmed);
    }

    #[test]
    fn an_older_token_reads_rotated_with_nothing_to_give_back() {
        let t = token("h0", TokenStatus::Active).as_of(Some(&family("h2", Some(retired("h1")))));
        assert_eq!(t.status, TokenStatus::Rotated);
        assert_eq!((t.rotated_at, t.sealed_successor), (None, None));
        let first = token("h0", TokenStatus::Active).as_of(Some(&family("h1", None)));
        assert_eq!(first.status, TokenStatus::Rotated);
    }

    #[test]
    fn a_token_rotated_in_its_own_record_keeps_it() {
        let mut old = token("h1", TokenStatus::Rotated);
        old.rotated_at = Some(7);
        old.sealed_successor = Some("its own".into());
        let mut other = retired("h1");
        other.rotated_at = 99;
        let read = old.clone().as_of(Some(&family("h2", Some(other))));
        assert_eq!(read, old);
    }

    #[test]
    fn without_its_family_a_token_reads_as_its_record() {
        let t = token("h1", TokenStatus::Active);
        assert_eq!(t.clone().as_of(None), t);
        let mut elsewhere = family("h9", Some(retired("h1")));
        elsewhere.family_id = "g".into();
        assert_eq!(t.clone().as_of(Some(&elsewhere)), t);
    }
}
