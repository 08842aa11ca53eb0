//! Sessions: every refresh-token family is one session, and its family id is the session id
//! (`sid` in each access token issued from it). Operators list and end sessions by user, by
//! user and client, or by client: `tollgate-admin revoke-sessions` and the IAM-only
//! `POST /sessions/revoke` both call [`revoke_sessions`].

use tollgate_oauth::clock::Deadline;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;
use tracing::info;

use crate::client::is_valid_client_id;
use crate::endpoint::{TokenService, store_unavailable};
use crate::error::TokenError;
use crate::refresh::{RefreshStore, RefreshStoreError, SessionQuery};

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

/// Revokes every session `query` names that is still active at `now`; returns their ids.
/// Each revocation is the same conditional write as reuse detection's, so a session revoked
/// twice (or concurrently) is harmless. Refresh stops at once; access tokens of these
/// sessions stay valid at the authorizer until they expire, and are inactive at `/introspect`.
pub async fn revoke_sessions(
    store: &dyn RefreshStore,
    query: &SessionQuery,
    now: u64,
) -> Result<Vec<String>, RefreshStoreError> {
    let mut revoked = Vec::new();
    for f in store.list_sessions(query).await? {
        if query.matches(&f) && f.active_at(now) {
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
        let call = revoke_sessions(self.refresh.as_ref(), query, now);
        let revoked = self
            .within(deadline, "refresh-token store", call)
            .await?
            .map_err(store_unavailable)?;
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
    use crate::testkit::memory::MemoryRefresh;
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
        login(&store, "f1", "u1", "app", 1_000).await;
        login(&store, "f2", "u1", "other", 1_000).await;
        login(&store, "f3", "u2", "app", 1_000).await;
        login(&store, "f4", "u1", "app", 200).await; // expired by now
        let q = SessionQuery::from_parts(Some("u1"), Some("app")).unwrap_or_else(|e| panic!("{e}"));
        let revoked = revoke_sessions(&store, &q, 500).await.ok();
        assert_eq!(revoked, Some(vec!["f1".to_owned()]));
        let again = revoke_sessions(&store, &q, 501).await.ok();
        assert_eq!(again, Some(vec![]), "nothing left to revoke");
        let all_u1 = SessionQuery::from_parts(Some("u1"), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            revoke_sessions(&store, &all_u1, 502).await.ok(),
            Some(vec!["f2".to_owned()])
        );
        let by_client =
            SessionQuery::from_parts(None, Some("app")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            revoke_sessions(&store, &by_client, 503).await.ok(),
            Some(vec!["f3".to_owned()])
        );
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
