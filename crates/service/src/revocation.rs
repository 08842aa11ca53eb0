//! Revocations that reach the authorizer: what ends access before a token expires, the port the
//! token service and the admin CLI record it through, and how long each entry must be kept. The
//! entries, their items and the question asked of them are `tollgate_revocation`'s, shared with
//! the authorizer; `/introspect` asks the same question of the entries it reads here, so both
//! answer alike.
//!
//! - A session ends (reuse detected, `/revoke`, `revoke-sessions --sub S --client C`, the user
//!   gone): an entry for its `sid`, kept until its newest access token has expired.
//! - A user's cut-off (`revoke-sessions --sub`) and a client's (`disable-client`,
//!   `delete-client`, `revoke-sessions --client`): every token issued at or before it, `sid` or
//!   not, kept for the longest access-token lifetime.
//! - One access token without a session (`/revoke` of a `client_credentials` token), by `jti`.

use async_trait::async_trait;
use tollgate_oauth::access_token::MAX_ACCESS_TOKEN_TTL;
pub use tollgate_revocation::{Entry, Facts, Key, Refusal, Revoked};

use crate::refresh::StoredFamily;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum RevocationStoreError {
    #[error("revocation store unavailable")]
    Unavailable(#[source] BoxError),
    #[error("revocation item malformed")]
    Malformed(#[source] BoxError),
}

/// Where revocations are recorded (the revocations table in AWS).
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Records `entry`: on the feed, which every authorizer reads within its freshness bound,
    /// and, for cut-offs and single tokens, under its key, which `/introspect` reads at once (a
    /// session's end is its family's revocation there). Idempotent: recording an entry again,
    /// or an older cut-off after a newer one, changes nothing that matters.
    async fn record(&self, entry: &Entry) -> Result<(), RevocationStoreError>;

    /// The recorded entries under `keys` (cut-offs and single tokens; a session key finds
    /// nothing), read consistently.
    async fn find(&self, keys: &[Key]) -> Result<Vec<Entry>, RevocationStoreError>;
}

impl StoredFamily {
    /// When its newest access token expires at the latest. A family written before this was
    /// recorded gives the end of any token it could have issued since its last rotation.
    pub fn access_tokens_until(&self) -> u64 {
        self.access_until.unwrap_or_else(|| {
            self.refreshed_at
                .unwrap_or(self.created_at)
                .saturating_add(MAX_ACCESS_TOKEN_TTL)
        })
    }
}

/// The entry that ends the session `family_id` at `now`. It is kept until every access token
/// the session issued has expired: the newest the family recorded, or one signed by a request
/// still in flight (its client's lifetime `access_lifetime` from now); without the family, for
/// the longest lifetime there is.
pub fn session_ended(
    family_id: &str,
    family: Option<&StoredFamily>,
    access_lifetime: u64,
    now: u64,
) -> Entry {
    let newest = family.map_or(now.saturating_add(MAX_ACCESS_TOKEN_TTL), |f| {
        f.access_tokens_until()
    });
    Entry::session(family_id, newest.max(now.saturating_add(access_lifetime)))
}

/// Every access token of the user `sub` issued at or before `now`.
pub fn user_cut_off(sub: &str, now: u64) -> Entry {
    Entry::cut_off(Key::subject(sub), now, MAX_ACCESS_TOKEN_TTL)
}

/// Every access token of the client issued at or before `now`.
pub fn client_cut_off(client_id: &str, now: u64) -> Entry {
    Entry::cut_off(Key::Client(client_id.to_owned()), now, MAX_ACCESS_TOKEN_TTL)
}

/// The keys `/introspect` reads for a token: its own (`jti`), its user's and its client's. Its
/// session is its family, read anyway.
pub fn keys_of(t: &Facts<'_>) -> Vec<Key> {
    let mut keys = vec![Key::subject(t.sub), Key::Client(t.client_id.to_owned())];
    keys.extend(t.jti.map(|j| Key::Token(j.to_owned())));
    keys
}

/// Whether `entries` (as read for a token) refuse it at `now`: the authorizer's question.
pub fn refused(entries: &[Entry], t: &Facts<'_>, now: u64) -> Option<Refusal> {
    let mut state = Revoked::default();
    for e in entries {
        state.insert(e, now);
    }
    state.refuses(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(access_until: Option<u64>, refreshed_at: Option<u64>) -> StoredFamily {
        StoredFamily {
            family_id: "f1".into(),
            client_id: "app".into(),
            sub: "u1".into(),
            revoked: true,
            current_token: "t".into(),
            created_at: 1_000,
            refreshed_at,
            access_until,
            expires_at: 100_000,
            retired: None,
            live: None,
        }
    }

    #[test]
    fn a_sessions_entry_outlives_its_newest_token_and_any_in_flight() {
        let margin = tollgate_revocation::entry::EXPIRY_MARGIN_SECONDS;
        // The newest token, issued with a lifetime longer than the client's is now.
        let f = family(Some(9_000), Some(5_400));
        assert_eq!(
            session_ended("f1", Some(&f), 900, 6_000).expires_at,
            9_000 + margin
        );
        // A request in flight signs with today's lifetime.
        assert_eq!(
            session_ended("f1", Some(&f), 3_600, 6_000).expires_at,
            9_600 + margin
        );
        // A family from before `access_until`: anything since its last rotation.
        let old = family(None, Some(5_400));
        assert_eq!(
            session_ended("f1", Some(&old), 900, 6_000).expires_at,
            5_400 + MAX_ACCESS_TOKEN_TTL + margin
        );
        assert_eq!(
            session_ended("f1", None, 900, 6_000).expires_at,
            6_000 + MAX_ACCESS_TOKEN_TTL + margin
        );
    }

    #[test]
    fn introspection_asks_what_the_authorizer_asks() {
        let t = Facts {
            sid: Some("f1"),
            jti: Some("j1"),
            sub: "u1",
            client_id: "app",
            iat: 500,
        };
        assert_eq!(
            keys_of(&t),
            [
                Key::subject("u1"),
                Key::Client("app".into()),
                Key::Token("j1".into())
            ]
        );
        assert_eq!(refused(&[], &t, 600), None);
        let user = user_cut_off("u1", 500);
        assert_eq!(
            refused(std::slice::from_ref(&user), &t, 600),
            Some(Refusal::Subject)
        );
        let later = Facts { iat: 501, ..t };
        assert_eq!(refused(&[user], &later, 600), None);
        let client = client_cut_off("app", 700);
        assert_eq!(refused(&[client], &t, 600), Some(Refusal::Client));
        let jti = Entry::token("j1", 900);
        assert_eq!(
            refused(std::slice::from_ref(&jti), &t, 600),
            Some(Refusal::Token)
        );
        assert_eq!(refused(&[jti], &t, 900 + 10_000), None, "expired entry");
    }
}
