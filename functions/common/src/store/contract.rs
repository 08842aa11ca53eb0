//! The behaviour every adapter of a port must show: one suite per port, run against the memory
//! adapter (unit tests here) and the DynamoDB adapter on DynamoDB Local (`tests/it`). A new
//! adapter passes these before anything else trusts it. Test code: assertions panic.

use serde_json::Map;

use crate::client::{Client, ClientStore, ClientStoreError, ClientUpdate, GrantType};
use crate::lockout::{LockoutPolicy, LockoutStore, Reservation};
use crate::refresh::{NewFamily, RefreshGrant, RefreshStore, Rotation, Successor, TokenStatus};
use crate::scope::Scopes;

fn client(id: &str) -> Client {
    Client {
        client_id: id.to_owned(),
        name: format!("{id} app"),
        secret_hash: "sha256:abc".into(),
        previous_secret: None,
        enabled: true,
        grant_types: GrantType::ALL.to_vec(),
        allowed_scopes: Scopes::parse("read write").expect("scopes"),
        default_scopes: Scopes::parse("read").expect("scopes"),
        access_token_ttl: Some(300),
        refresh_token_ttl: None,
        refresh_family_ttl: Some(86_400),
        refresh_reuse_grace: Some(30),
        created_at: 1_000,
    }
}

/// Create, read back unchanged, refuse a second create, list in order, update only what is
/// named (never creating), delete once.
pub async fn clients(store: &dyn ClientStore) {
    let (a, b) = (client("contract-b"), client("contract-a"));
    store.create(&a).await.expect("create");
    store.create(&b).await.expect("create");
    assert_eq!(store.get("contract-b").await.expect("get"), Some(a.clone()));
    assert_eq!(store.get("contract-none").await.expect("get"), None);
    assert!(matches!(
        store.create(&a).await,
        Err(ClientStoreError::AlreadyExists)
    ));
    let ids: Vec<String> = store
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.client_id)
        .filter(|id| id.starts_with("contract-"))
        .collect();
    assert_eq!(ids, ["contract-a", "contract-b"]);
    let update = ClientUpdate {
        enabled: Some(false),
        access_token_ttl: Some(None),
        refresh_reuse_grace: Some(None),
        ..ClientUpdate::default()
    };
    let updated = store.update("contract-b", &update).await.expect("update");
    assert_eq!(updated, update.apply_to(&a));
    assert_eq!(updated.refresh_reuse_grace, None, "an override is cleared");
    assert_eq!(store.get("contract-b").await.expect("get"), Some(updated));
    assert!(matches!(
        store.update("contract-none", &update).await,
        Err(ClientStoreError::NotFound)
    ));
    assert_eq!(store.get("contract-none").await.expect("get"), None);
    store.delete("contract-b").await.expect("delete");
    assert_eq!(store.get("contract-b").await.expect("get"), None);
    assert!(matches!(
        store.delete("contract-b").await,
        Err(ClientStoreError::NotFound)
    ));
}

fn family(id: &str, token: &str, now: u64) -> NewFamily {
    NewFamily {
        family_id: id.to_owned(),
        token_hash: token.to_owned(),
        grant: RefreshGrant {
            client_id: "contract-app".into(),
            sub: "u-1".into(),
            scope: Scopes::parse("read").expect("scopes"),
            details: Map::new(),
            auth_time: now,
        },
        issued_at: now,
        token_expires_at: now + 600,
        family_expires_at: now + 3_600,
    }
}

fn successor(token: &str, now: u64) -> Successor {
    Successor {
        token_hash: token.to_owned(),
        issued_at: now,
        expires_at: now + 600,
        details: Map::new(),
        sealed: None,
    }
}

/// A family's first token reads back; rotation retires it once (a second rotation of the same
/// token is refused); the successor rotates on; a revoked family rotates no more.
pub async fn refresh(store: &dyn RefreshStore) {
    let now = 10_000;
    let f = family("contract-fam", "contract-t1", now);
    store.create_family(&f).await.expect("create family");
    let t1 = store
        .get_token("contract-t1")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (t1.status, t1.grant.clone(), t1.family_id.as_str()),
        (TokenStatus::Active, f.grant.clone(), "contract-fam")
    );
    assert_eq!(
        (t1.expires_at, t1.family_expires_at),
        (now + 600, now + 3_600)
    );
    assert_eq!(store.get_token("contract-none").await.expect("get"), None);
    let (s2, s3) = (
        successor("contract-t2", now + 1),
        successor("contract-t3", now + 2),
    );
    let rotated = store.rotate(&t1, &s2, now + 1).await.expect("rotate");
    assert_eq!(rotated, Rotation::Rotated);
    let again = store.rotate(&t1, &s3, now + 2).await.expect("rotate");
    assert_eq!(again, Rotation::Refused, "a token rotates once");
    let old = store.get_token("contract-t1").await.expect("get");
    assert_eq!(old.map(|t| t.status), Some(TokenStatus::Rotated));
    assert_eq!(store.get_token("contract-t3").await.expect("get"), None);
    let t2 = store
        .get_token("contract-t2")
        .await
        .expect("get")
        .expect("successor stored");
    assert_eq!((t2.status, t2.grant), (TokenStatus::Active, f.grant));
    store
        .revoke_family("contract-fam", now + 3)
        .await
        .expect("revoke");
    store
        .revoke_family("contract-fam", now + 4)
        .await
        .expect("revoking twice is harmless");
    let t2 = store
        .get_token("contract-t2")
        .await
        .expect("get")
        .expect("stored");
    let s4 = successor("contract-t4", now + 5);
    let after = store.rotate(&t2, &s4, now + 5).await.expect("rotate");
    assert_eq!(after, Rotation::Refused, "a revoked family rotates no more");
    let fam = store.get_family("contract-fam").await.expect("get family");
    assert_eq!(
        fam.map(|f| (f.revoked, f.current_token, f.client_id)),
        Some((true, "contract-t2".into(), "contract-app".into()))
    );
    assert_eq!(store.get_family("contract-none").await.expect("get"), None);
    refresh_grace(store).await;
}

/// A rotation records when it retired the old token and, when given one, the sealed successor
/// on the old token's record; the successor carries the details it was given; the family reads
/// back at its new current token. Without a sealed successor nothing is stored for it.
async fn refresh_grace(store: &dyn RefreshStore) {
    let now = 20_000;
    let f = family("contract-grace", "contract-g1", now);
    store.create_family(&f).await.expect("create family");
    let g1 = store
        .get_token("contract-g1")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (g1.rotated_at, g1.sealed_successor.as_deref()),
        (None, None)
    );
    let mut details = Map::new();
    details.insert("email".into(), "new@example.com".into());
    let s2 = Successor {
        details: details.clone(),
        sealed: Some("sealed-value".into()),
        ..successor("contract-g2", now + 1)
    };
    assert_eq!(
        store.rotate(&g1, &s2, now + 1).await.expect("rotate"),
        Rotation::Rotated
    );
    let old = store
        .get_token("contract-g1")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (old.status, old.rotated_at, old.sealed_successor.as_deref()),
        (TokenStatus::Rotated, Some(now + 1), Some("sealed-value"))
    );
    let g2 = store
        .get_token("contract-g2")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(g2.grant.details, details);
    assert_eq!(
        (g2.rotated_at, g2.sealed_successor.as_deref()),
        (None, None)
    );
    let fam = store
        .get_family("contract-grace")
        .await
        .expect("get family");
    assert_eq!(
        fam.map(|f| (f.revoked, f.current_token, f.expires_at)),
        Some((false, "contract-g2".into(), now + 3_600))
    );
    rotation_without_a_seal(store, &g2, now + 2).await;
}

/// A rotation given no sealed successor stores none on the retired token.
async fn rotation_without_a_seal(
    store: &dyn RefreshStore,
    g2: &crate::refresh::StoredToken,
    now: u64,
) {
    let s3 = successor("contract-g3", now);
    assert_eq!(
        store.rotate(g2, &s3, now).await.expect("rotate"),
        Rotation::Rotated
    );
    let g2 = store
        .get_token("contract-g2")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (g2.rotated_at, g2.sealed_successor),
        (Some(now), None),
        "no sealed successor unless one is given"
    );
}

/// Attempts are reserved up to the limit (then busy); a released attempt comes back; the
/// failure that reaches the limit locks until the lock ends; reset forgets everything.
pub async fn lockout(store: &dyn LockoutStore) {
    let p = LockoutPolicy {
        max_failures: 2,
        window_secs: 60,
        lockout_secs: 300,
    };
    let (key, now) = ("contract-user", 50_000);
    assert_eq!(
        store.reserve(key, now, &p).await.expect("reserve"),
        Reservation::Granted
    );
    assert_eq!(
        store.reserve(key, now, &p).await.expect("reserve"),
        Reservation::Granted
    );
    assert_eq!(
        store.reserve(key, now, &p).await.expect("reserve"),
        Reservation::Busy
    );
    store.release(key).await.expect("release");
    assert_eq!(
        store.reserve(key, now, &p).await.expect("reserve"),
        Reservation::Granted
    );
    assert_eq!(
        store.record_failure(key, now, &p).await.expect("count"),
        None
    );
    assert_eq!(store.locked_until(key, now).await.expect("read"), None);
    let locked = store.record_failure(key, now + 1, &p).await.expect("count");
    assert_eq!(locked, Some(now + 1 + 300));
    assert_eq!(
        store.locked_until(key, now + 2).await.expect("read"),
        Some(now + 301)
    );
    assert_eq!(
        store.reserve(key, now + 2, &p).await.expect("reserve"),
        Reservation::Locked
    );
    assert_eq!(
        store.locked_until(key, now + 301).await.expect("read"),
        None
    );
    let after = store.reserve(key, now + 301, &p).await.expect("reserve");
    assert_eq!(
        after,
        Reservation::Granted,
        "the lock ended with a fresh set"
    );
    store.reset(key).await.expect("reset");
    assert_eq!(
        store.locked_until(key, now + 302).await.expect("read"),
        None
    );
    let fresh = store.reserve(key, now + 302, &p).await.expect("reserve");
    assert_eq!(fresh, Reservation::Granted);
}

#[cfg(test)]
mod tests {
    use crate::store::memory::{MemoryClients, MemoryLockout, MemoryRefresh};

    #[tokio::test]
    async fn memory_clients_keep_the_client_store_contract() {
        super::clients(&MemoryClients::default()).await;
    }

    #[tokio::test]
    async fn memory_refresh_keeps_the_refresh_store_contract() {
        super::refresh(&MemoryRefresh::default()).await;
    }

    #[tokio::test]
    async fn memory_lockout_keeps_the_lockout_store_contract() {
        super::lockout(&MemoryLockout::default()).await;
    }
}
