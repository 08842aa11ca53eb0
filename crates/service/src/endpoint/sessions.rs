//! Sessions: every refresh-token family is one session, and its family id is the session id
//! (`sid` in each access token issued from it). Operators list and end sessions by user, by
//! user and client, or by client: `tollgate-admin revoke-sessions` and the IAM-only
//! `POST /sessions/revoke` both call [`revoke_sessions`].

use tollgate_oauth::clock::Deadline;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;
use tracing::info;

use crate::client::is_valid_client_id;
use crate::endpoint::TokenService;
use crate::error::{TokenError, Unavailable};
use crate::refresh::{RefreshStore, RefreshStoreError, SessionQuery, StoredFamily};
use crate::revocation::{self, Entry, RevocationStore, RevocationStoreError};

/// Longest `sub` accepted in a session query (the auth endpoint's subjects are far shorter).
pub const MAX_SUBJECT_LEN: usize = 512;

impl SessionQuery {
    /// The query an operator asked for: a subject (with or without a client), or a client
    /// alone. Neither is refused, so a missing argument never means "everyone".
    pub fn from_parts(sub: Option<&str>, client_id: Option<&str>) -> Result<Self, &'static str> {
        let sub = sub.map(str::trim).filter(|s| !s.is_empty());
        let client_id = client_id.map(str::trim).filter(|c| !c.is_empty());
        if sub.is_some_and(|s| s.len() > MAX_SUBJECT_LEN) {
            return Err("sub is too long");
        }
        if client_id.is_some_and(|c| !is_valid_client_id(c)) {
            return Err("client_id is not a valid client id");
        }
        match (sub, client_id) {
            (Some(sub), client_id) => Ok(Self::Subject {
                sub: sub.to_owned(),
                client_id: client_id.map(str::to_owned),
            }),
            (None, Some(c)) => Ok(Self::Client {
                client_id: c.to_owned(),
            }),
            (None, None) => Err("name a sub, a client_id, or both"),
        }
    }

    /// The `session_revoked` audit event for `sessions` revoked by `actor`.
    pub fn revoked_event<'a>(&'a self, actor: &'a str, sessions: u64) -> Event<'a> {
        let (subject, client_id) = match self {
            Self::Subject { sub, client_id } => (Some(sub.as_str()), client_id.as_deref()),
            Self::Client { client_id } => (None, Some(client_id.as_str())),
        };
        Event::SessionRevoked {
            actor,
            subject,
            client_id,
            sessions,
        }
    }
}

/// Which store failed while sessions were ended.
#[derive(Debug, thiserror::Error)]
pub enum RevokeSessionsError {
    #[error(transparent)]
    Refresh(#[from] RefreshStoreError),
    #[error(transparent)]
    Revocations(#[from] RevocationStoreError),
}

/// What is recorded for the authorizers before any family of `query` is revoked: a user's
/// cut-off, or a client's, refuses every access token of theirs issued until `now` (those of
/// sessions and, for a user, any without one) in one entry. One user's sessions with one client
/// get an entry each instead ([`session_entry`]): a cut-off would end the user's other clients.
pub fn cut_off_for(query: &SessionQuery, now: u64) -> Option<Entry> {
    match query {
        SessionQuery::Subject {
            sub,
            client_id: None,
        } => Some(revocation::user_cut_off(sub, now)),
        SessionQuery::Client { client_id } => Some(revocation::client_cut_off(client_id, now)),
        SessionQuery::Subject {
            client_id: Some(_), ..
        } => None,
    }
}

/// The entry ending `f`, while an access token of it may still pass a verifier. A session
/// still active may be signing a token right now, with a lifetime this call cannot know: its
/// entry lasts the longest lifetime there is.
fn session_entry(f: &StoredFamily, now: u64) -> Option<Entry> {
    let entry = if f.active_at(now) {
        let longest = tollgate_oauth::access_token::MAX_ACCESS_TOKEN_TTL;
        revocation::session_ended(&f.family_id, Some(f), longest, now)
    } else {
        Entry::session(&f.family_id, f.access_tokens_until())
    };
    (entry.expires_at > now).then_some(entry)
}

/// Revokes every session `query` names that is still active at `now`; returns their ids. The
/// authorizers hear of it first ([`cut_off_for`], or an entry per session), then each family is
/// revoked, by the same conditional write as reuse detection's. Every step is idempotent: a
/// second call records the same again, revokes what is left and returns it (nothing, when the
/// first finished). Refresh stops at once, `/introspect` answers the sessions' access tokens
/// inactive at once, and the authorizers refuse them within their freshness bound.
pub async fn revoke_sessions(
    store: &dyn RefreshStore,
    revocations: &dyn RevocationStore,
    query: &SessionQuery,
    now: u64,
) -> Result<Vec<String>, RevokeSessionsError> {
    let cut_off = cut_off_for(query, now);
    if let Some(entry) = &cut_off {
        revocations.record(entry).await?;
    }
    let mut revoked = Vec::new();
    for f in store.list_sessions(query).await? {
        if !query.matches(&f) {
            continue;
        }
        if cut_off.is_none()
            && let Some(entry) = session_entry(&f, now)
        {
            revocations.record(&entry).await?;
        }
        if f.active_at(now) {
            store.revoke_family(&f.family_id, now).await?;
            revoked.push(f.family_id);
        }
    }
    revoked.sort();
    Ok(revoked)
}

impl TokenService {
    /// `POST /sessions/revoke`: [`revoke_sessions`] within the deadline, its audit event
    /// naming `actor` (the IAM caller). A store failure part-way is a 503; the sessions
    /// revoked before it stay revoked, and calling again finishes the job.
    pub async fn handle_revoke_sessions(
        &self,
        query: &SessionQuery,
        actor: &str,
        deadline: Deadline,
    ) -> Result<Vec<String>, TokenError> {
        let now = self.clock.now();
        let call = revoke_sessions(self.refresh.as_ref(), self.revocations.as_ref(), query, now);
        let revoked = self
            .within(deadline, "refresh-token store", call)
            .await?
            .map_err(|e| match e {
                RevokeSessionsError::Refresh(e) => Unavailable::RefreshStore(Box::new(e)),
                RevokeSessionsError::Revocations(e) => Unavailable::RevocationStore(Box::new(e)),
            })?;
        info!(actor, sessions = revoked.len(), "sessions revoked");
        observe::event(&query.revoked_event(actor, revoked.len() as u64));
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::refresh::{NewFamily, RefreshGrant};
    use crate::revocation::Key;
    use crate::testkit::memory::{MemoryRefresh, MemoryRevocations};
    use tollgate_oauth::scope::Scopes;

    async fn login(store: &MemoryRefresh, id: &str, sub: &str, client: &str, expires: u64) {
        let family = NewFamily {
            family_id: id.into(),
            token_hash: format!("{id}-t"),
            grant: RefreshGrant {
                client_id: client.into(),
                sub: sub.into(),
                scope: Scopes::parse("read").unwrap_or_default(),
                details: Map::new(),
                auth_time: 100,
            },
            issued_at: 100,
            token_expires_at: expires,
            family_expires_at: expires,
            access_expires_at: expires.min(1_000),
            tag_hash: None,
        };
        assert!(store.create_family(&family).await.is_ok());
    }

    #[test]
    fn a_query_names_a_subject_or_a_client_never_nobody() {
        assert_eq!(
            SessionQuery::from_parts(Some(" u1 "), Some("app")),
            Ok(SessionQuery::Subject {
                sub: "u1".into(),
                client_id: Some("app".into())
            })
        );
        assert_eq!(
            SessionQuery::from_parts(None, Some("app")),
            Ok(SessionQuery::Client {
                client_id: "app".into()
            })
        );
        for (sub, client) in [(None, None), (Some(" "), Some("")), (None, Some("a b"))] {
            assert!(
                SessionQuery::from_parts(sub, client).is_err(),
                "{sub:?} {client:?}"
            );
        }
        assert!(SessionQuery::from_parts(Some(&"x".repeat(513)), None).is_err());
    }

    #[tokio::test]
    async fn revoking_a_users_sessions_ends_only_theirs_and_only_active_ones() {
        let store = MemoryRefresh::default();
        let revs = MemoryRevocations::default();
        login(&store, "f1", "u1", "app", 1_000).await;
        login(&store, "f2", "u1", "other", 1_000).await;
        login(&store, "f3", "u2", "app", 1_000).await;
        login(&store, "f4", "u1", "app", 200).await; // expired by now
        let q = SessionQuery::from_parts(Some("u1"), Some("app")).unwrap_or_else(|e| panic!("{e}"));
        let revoked = revoke_sessions(&store, &revs, &q, 500).await.ok();
        assert_eq!(revoked, Some(vec!["f1".to_owned()]));
        // One user with one client: an entry for each of those sessions whose access tokens
        // may still pass a verifier, f4's too (they expired at 200, within the margin a
        // verifier's leeway may still take), but not f4 revoked: it had ended already.
        let keys = |r: &MemoryRevocations| -> Vec<Key> {
            let mut k: Vec<Key> = r.recorded().into_iter().map(|e| e.key).collect();
            k.sort();
            k
        };
        let (f1, f4) = (Key::Session("f1".into()), Key::Session("f4".into()));
        assert_eq!(keys(&revs), [f1.clone(), f4.clone()]);
        let again = revoke_sessions(&store, &revs, &q, 501).await.ok();
        assert_eq!(again, Some(vec![]), "nothing left to revoke");
        // Recorded again (a retry finishes what a failure interrupted).
        assert_eq!(keys(&revs), [f1.clone(), f1, f4.clone(), f4]);
        let at_1200 = revoke_sessions(&store, &revs, &q, 1_200).await.ok();
        assert_eq!(at_1200, Some(vec![]));
        assert_eq!(
            revs.recorded().len(),
            5,
            "f4's tokens cannot pass any more: {:?}",
            keys(&revs)
        );
        let all_u1 = SessionQuery::from_parts(Some("u1"), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            revoke_sessions(&store, &revs, &all_u1, 502).await.ok(),
            Some(vec!["f2".to_owned()])
        );
        let user = &revs.recorded()[5];
        assert_eq!(user.key, Key::subject("u1"), "a user's cut-off");
        assert_eq!(user.cutoff, Some(502));
        let by_client =
            SessionQuery::from_parts(None, Some("app")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            revoke_sessions(&store, &revs, &by_client, 503).await.ok(),
            Some(vec!["f3".to_owned()])
        );
        let client = &revs.recorded()[6];
        assert_eq!(client.key, Key::Client("app".into()), "a client's cut-off");
        assert_eq!(revs.recorded().len(), 7, "cut-offs only");
        let families = store.families.lock().map(|f| f.clone()).unwrap_or_default();
        let revoked: Vec<bool> = ["f1", "f2", "f3", "f4"]
            .iter()
            .map(|id| families.get(*id).is_some_and(|f| f.revoked))
            .collect();
        assert_eq!(revoked, [true, true, true, false]);
    }

    #[test]
    fn the_audit_event_names_who_and_how_many() {
        let q = SessionQuery::Client {
            client_id: "app".into(),
        };
        assert_eq!(
            q.revoked_event("ops", 3),
            Event::SessionRevoked {
                actor: "ops",
                subject: None,
                client_id: Some("app"),
                sessions: 3
            }
        );
    }
}
