//! `list-sessions` and `revoke-sessions`: a user's or a client's sessions (refresh-token
//! families), found through the tokens table's session indexes, never a scan.

use clap::Args;
use tollgate_oauth::clock::{Clock, SystemClock, rfc3339};
use tollgate_service::endpoint::sessions::{RevokeSessionsError, revoke_sessions as revoke};
use tollgate_service::refresh::{RefreshStore, RefreshStoreError, SessionQuery, StoredFamily};
use tollgate_service::store::dynamo::{DynamoRefreshStore, DynamoRevocationStore, sdk_client};
use tollgate_telemetry::audit::{self, Origin};
use tollgate_telemetry::logging::chain;
use tollgate_telemetry::metrics::now_ms;

use crate::{AWS_TIMEOUT, RevocationsTable};

/// Which sessions: a user's (`--sub`, optionally only with `--client`), or a client's.
#[derive(Args)]
pub(crate) struct Sessions {
    /// The user's subject (`sub`, as the auth endpoint returns it).
    #[arg(long, required_unless_present = "client")]
    sub: Option<String>,
    /// Only sessions with this client (with --sub), or every session of this client.
    #[arg(long)]
    client: Option<String>,
    /// Name of the refresh-token table (in AWS: the stack output TokensTableName).
    #[arg(long, env = "TOKENS_TABLE")]
    tokens_table: String,
}

impl Sessions {
    fn query(&self) -> anyhow::Result<SessionQuery> {
        SessionQuery::from_parts(self.sub.as_deref(), self.client.as_deref())
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
    async fn store(&self) -> DynamoRefreshStore {
        DynamoRefreshStore::new(sdk_client(AWS_TIMEOUT).await, &self.tokens_table)
    }
}

/// The tokens table (`index-sessions`).
#[derive(Args)]
pub(crate) struct TokensTable {
    /// Name of the refresh-token table (in AWS: the stack output TokensTableName).
    #[arg(long, env = "TOKENS_TABLE")]
    tokens_table: String,
    /// Before rolling back to an earlier release: give every session begun since the upgrade
    /// the index keys a release without the `usersession#` companions finds a user's sessions
    /// by, and each live refresh token the `token#` record a release before families held
    /// their tokens finds it by (UPGRADING.md).
    #[arg(long)]
    before_rollback: bool,
}

/// `index-sessions`: the families older than the sessions index get their index keys; with
/// `--before-rollback`, the families found through their companions get keys of their own,
/// and the live tokens of families that hold their tokens get records of their own.
pub(crate) async fn index_sessions(table: TokensTable) -> anyhow::Result<()> {
    let store = DynamoRefreshStore::new(sdk_client(AWS_TIMEOUT).await, &table.tokens_table);
    let done = if table.before_rollback {
        store.index_sessions_for_rollback().await
    } else {
        store.index_sessions().await
    }
    .map_err(store_error)?;
    let recorded = if table.before_rollback {
        Some(
            store
                .record_live_tokens_for_rollback()
                .await
                .map_err(store_error)?,
        )
    } else {
        None
    };
    if done.indexed > 0 || recorded.is_some_and(|r| r.indexed > 0) {
        crate::audit::record("index_sessions", &table.tokens_table, &["sessions"]).await;
    }
    println!(
        "{} session(s) indexed, {} skipped (indexed or expired meanwhile)",
        done.indexed, done.skipped
    );
    if let Some(r) = recorded {
        println!(
            "{} live refresh token(s) recorded for the earlier release, {} skipped (recorded already, or revoked)",
            r.indexed, r.skipped
        );
    }
    Ok(())
}

fn store_error(e: RefreshStoreError) -> anyhow::Error {
    anyhow::anyhow!("{}", chain(&e))
}

/// `list-sessions`: newest first, with their state at the time of the call.
pub(crate) async fn list_sessions(which: Sessions, json: bool) -> anyhow::Result<()> {
    let query = which.query()?;
    let mut sessions = which
        .store()
        .await
        .list_sessions(&query)
        .await
        .map_err(store_error)?;
    sessions.sort_by_key(|f| std::cmp::Reverse(f.created_at));
    let now = SystemClock.now();
    if json {
        let all: Vec<serde_json::Value> = sessions.iter().map(|f| session_json(f, now)).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    if sessions.is_empty() {
        println!("no sessions");
        return Ok(());
    }
    println!(
        "{:<24} {:<24} {:<20} {:<20} {:<20} {:<8} SUB",
        "SESSION", "CLIENT", "CREATED", "LAST_REFRESHED", "EXPIRES", "STATE"
    );
    for f in &sessions {
        println!(
            "{:<24} {:<24} {:<20} {:<20} {:<20} {:<8} {}",
            f.family_id,
            f.client_id,
            rfc3339(f.created_at),
            f.refreshed_at.map_or_else(|| "never".into(), rfc3339),
            rfc3339(f.expires_at),
            state(f, now),
            f.sub
        );
    }
    Ok(())
}

/// `revoke-sessions`: tells the authorizers, revokes the active ones, prints how many, and
/// writes a `session_revoked` audit line on standard error.
pub(crate) async fn revoke_sessions(
    which: Sessions,
    revocations: RevocationsTable,
) -> anyhow::Result<()> {
    let query = which.query()?;
    let store = which.store().await;
    let entries = DynamoRevocationStore::new(
        sdk_client(AWS_TIMEOUT).await,
        &revocations.revocations_table,
    );
    let revoked = revoke(&store, &entries, &query, SystemClock.now())
        .await
        .map_err(|e| match e {
            RevokeSessionsError::Refresh(e) => store_error(e),
            RevokeSessionsError::Revocations(e) => anyhow::anyhow!(
                "the authorizers could not be told ({}); no session was revoked after that: run the command again",
                chain(&e)
            ),
        })?;
    for id in &revoked {
        println!("revoked {id}");
    }
    println!(
        "{} session(s) revoked: refresh stops at once; their access tokens are inactive at /introspect at once and refused by the authorizers within RevocationMaxStaleness",
        revoked.len()
    );
    let actor = crate::audit::actor().await;
    let event = query.revoked_event(&actor, revoked.len() as u64);
    eprintln!("{}", audit::render(&event, &Origin::default(), now_ms()));
    Ok(())
}

fn state(f: &StoredFamily, now: u64) -> &'static str {
    if f.revoked {
        "revoked"
    } else if f.active_at(now) {
        "active"
    } else {
        "expired"
    }
}

fn session_json(f: &StoredFamily, now: u64) -> serde_json::Value {
    serde_json::json!({
        "session": f.family_id,
        "sub": f.sub,
        "client_id": f.client_id,
        "created_at": f.created_at,
        "refreshed_at": f.refreshed_at,
        "expires_at": f.expires_at,
        "state": state(f, now),
    })
}
