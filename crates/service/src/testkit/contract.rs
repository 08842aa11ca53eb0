//! The behaviour every adapter of a port must show: one suite per port, run against the memory
//! adapter (unit tests here) and the DynamoDB adapter on DynamoDB Local (`tests/it`). A new
//! adapter passes these before anything else trusts it. Test code: assertions panic.

mod codes;
mod in_family;
mod legacy;

pub use codes::codes;
pub use in_family::in_family;
pub use legacy::legacy;
use serde_json::Map;
use tollgate_oauth::scope::Scopes;

use crate::client::{
    Client, ClientStore, ClientStoreError, ClientUpdate, GrantType, PasswordGrantSunset,
    ResponseProfile,
};
use crate::lockout::{LockoutPolicy, LockoutStore, Reservation};
use crate::rate_limit::{RateLimitStore, Window};
use crate::refresh::{
    NewFamily, RefreshGrant, RefreshStore, RetiredToken, Rotation, SessionQuery, StoredFamily,
    Successor, TokenStatus,
};
use crate::revocation::{Entry, Key, RevocationStore, client_cut_off, user_cut_off};

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
        rate_limit: Some(0),
        password_grant_sunset: Some(PasswordGrantSunset {
            sunset_at: 2_000_000_000,
            deprecated_at: 1_000,
        }),
        response_profile: ResponseProfile::Apigee,
        refresh_reuse_grace: Some(30),
        created_at: 1_000,
        introspect_any: true,
        public: false,
        redirect_uris: vec![
            "https://app.example.com/callback".into(),
            "http://127.0.0.1:8080/cb".into(),
        ],
        post_logout_redirect_uris: vec!["https://app.example.com/signed-out".into()],
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
        rate_limit: Some(Some(7)),
        password_grant_sunset: Some(None),
        response_profile: Some(ResponseProfile::Rfc6749),
        introspect_any: Some(false),
        refresh_reuse_grace: Some(None),
        ..ClientUpdate::default()
    };
    let updated = store.update("contract-b", &update).await.expect("update");
    assert_eq!(
        (updated.rate_limit, updated.password_grant_sunset),
        (Some(7), None)
    );
    assert_eq!(updated.response_profile, ResponseProfile::Rfc6749);
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
        access_expires_at: now + 300,
        tag_hash: None,
    }
}

fn successor(token: &str, now: u64) -> Successor {
    Successor {
        token_hash: token.to_owned(),
        issued_at: now,
        expires_at: now + 600,
        details: Map::new(),
        sealed: None,
        unconfirmed: false,
        access_until: now + 300,
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

/// A rotation given no sealed successor stores none on the retired token; sent again with one
/// (its answer was lost), it finds its own work done, succeeds, and stores it.
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
    let retired = store
        .get_token("contract-g2")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (retired.rotated_at, retired.sealed_successor),
        (Some(now), None),
        "no sealed successor unless one is given"
    );
    rotation_sent_again(store, g2, &s3, now).await;
}

/// A rotation whose answer was lost is sent again with the same successor: the second send finds
/// its own work done and succeeds (marking the rotation unconfirmed when asked), however often
/// it is sent; another successor is refused; and once the successor itself rotated, sending the
/// old rotation again is refused.
async fn rotation_sent_again(
    store: &dyn RefreshStore,
    g2: &crate::refresh::StoredToken,
    s3: &Successor,
    now: u64,
) {
    let retired = store
        .get_token("contract-g2")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (retired.successor_hash.as_deref(), retired.unconfirmed),
        (Some("contract-g3"), false),
        "the rotation names its successor; confirmed unless told otherwise"
    );
    let resent = Successor {
        unconfirmed: true,
        sealed: Some("sealed-on-resend".into()),
        ..s3.clone()
    };
    for _ in 0..2 {
        assert_eq!(
            store.rotate(g2, &resent, now).await.expect("rotate again"),
            Rotation::Rotated,
            "the same successor sent again succeeds"
        );
    }
    let retired = store
        .get_token("contract-g2")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (retired.status, retired.rotated_at, retired.unconfirmed),
        (TokenStatus::Rotated, Some(now), true)
    );
    assert_eq!(
        retired.sealed_successor.as_deref(),
        Some("sealed-on-resend")
    );
    let other = successor("contract-g3b", now);
    assert_eq!(
        store.rotate(g2, &other, now).await.expect("rotate"),
        Rotation::Refused,
        "another successor of a rotated token is refused"
    );
    assert_eq!(store.get_token("contract-g3b").await.expect("get"), None);
    let g3 = store
        .get_token("contract-g3")
        .await
        .expect("get")
        .expect("stored");
    let s4 = successor("contract-g4", now + 1);
    assert_eq!(
        store.rotate(&g3, &s4, now + 1).await.expect("rotate"),
        Rotation::Rotated
    );
    assert_eq!(
        store.rotate(g2, &resent, now).await.expect("rotate again"),
        Rotation::Refused,
        "once the successor was used, the old rotation cannot be written again"
    );
    let fam = store
        .get_family("contract-grace")
        .await
        .expect("get family");
    assert_eq!(fam.map(|f| f.current_token), Some("contract-g4".into()));
    let (two_back, one_back) = (
        store.get_token("contract-g2").await.expect("get"),
        store.get_token("contract-g3").await.expect("get"),
    );
    assert_eq!(
        two_back.map(|t| (t.status, t.sealed_successor)),
        Some((TokenStatus::Rotated, None)),
        "a token two rotations back reads rotated, with nothing to give back"
    );
    assert_eq!(
        one_back.map(|t| (t.status, t.rotated_at, t.successor_hash)),
        Some((
            TokenStatus::Rotated,
            Some(now + 1),
            Some("contract-g4".into())
        ))
    );
}

fn session(id: &str, sub: &str, client_id: &str, now: u64) -> NewFamily {
    let mut f = family(id, &format!("{id}-t1"), now);
    f.grant.sub = sub.to_owned();
    f.grant.client_id = client_id.to_owned();
    f
}

async fn ids(store: &dyn RefreshStore, query: SessionQuery) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list_sessions(&query)
        .await
        .expect("list sessions")
        .into_iter()
        .map(|f| f.family_id)
        .collect();
    ids.sort();
    ids
}

/// Sessions (families) are found by user, by user and client, and by client, revoked ones
/// included; a family reads back with who, when and its state; a rotation records when it
/// last refreshed; a revocation shows.
pub async fn sessions(store: &dyn RefreshStore) {
    let now = 20_000;
    for (id, sub, client) in [
        ("contract-s1", "contract-u1", "contract-a"),
        ("contract-s2", "contract-u1", "contract-b"),
        ("contract-s3", "contract-u2", "contract-a"),
    ] {
        let f = session(id, sub, client, now);
        store.create_family(&f).await.expect("create family");
    }
    let subject = |sub: &str, client: Option<&str>| SessionQuery::Subject {
        sub: sub.to_owned(),
        client_id: client.map(str::to_owned),
    };
    let client = |c: &str| SessionQuery::Client {
        client_id: c.to_owned(),
    };
    assert_eq!(
        ids(store, subject("contract-u1", None)).await,
        ["contract-s1", "contract-s2"]
    );
    assert_eq!(
        ids(store, subject("contract-u1", Some("contract-b"))).await,
        ["contract-s2"]
    );
    assert_eq!(
        ids(store, client("contract-a")).await,
        ["contract-s1", "contract-s3"]
    );
    assert!(
        ids(store, subject("contract-nobody", None))
            .await
            .is_empty()
    );
    assert!(ids(store, client("contract-none")).await.is_empty());
    session_lifecycle(store, now).await;
}

/// contract-s1 (created by [`sessions`]) reads back whole, records its refresh, then its
/// revocation, and is still listed once revoked.
async fn session_lifecycle(store: &dyn RefreshStore, now: u64) {
    let subject = |sub: &str, client: Option<&str>| SessionQuery::Subject {
        sub: sub.to_owned(),
        client_id: client.map(str::to_owned),
    };
    let expected = StoredFamily {
        family_id: "contract-s1".into(),
        client_id: "contract-a".into(),
        sub: "contract-u1".into(),
        revoked: false,
        current_token: "contract-s1-t1".into(),
        created_at: now,
        refreshed_at: None,
        access_until: Some(now + 300),
        expires_at: now + 3_600,
        retired: None,
        live: None,
    };
    let got = store.get_family("contract-s1").await.expect("get family");
    assert_eq!(got, Some(expected.clone()));
    assert!(expected.active_at(now) && !expected.active_at(now + 3_600));
    assert_eq!(store.get_family("contract-none").await.expect("get"), None);

    let t1 = store
        .get_token("contract-s1-t1")
        .await
        .expect("get")
        .expect("stored");
    let rotated = store
        .rotate(&t1, &successor("contract-s1-t2", now + 7), now + 7)
        .await
        .expect("rotate");
    assert_eq!(rotated, Rotation::Rotated);
    let after = store.get_family("contract-s1").await.expect("get family");
    let refreshed = StoredFamily {
        current_token: "contract-s1-t2".into(),
        refreshed_at: Some(now + 7),
        // The rotation records when the access token it came with expires.
        access_until: Some(now + 7 + 300),
        // And the token it retired, which reads as rotated from then on.
        retired: Some(RetiredToken {
            token_hash: "contract-s1-t1".into(),
            rotated_at: now + 7,
            successor_hash: "contract-s1-t2".into(),
            sealed_successor: None,
            unconfirmed: false,
        }),
        ..expected.clone()
    };
    assert_eq!(after, Some(refreshed.clone()));

    store
        .revoke_family("contract-s1", now + 8)
        .await
        .expect("revoke");
    let revoked = store.get_family("contract-s1").await.expect("get family");
    assert_eq!(
        revoked,
        Some(StoredFamily {
            revoked: true,
            ..refreshed.clone()
        })
    );
    assert!(!revoked.is_some_and(|f| f.active_at(now + 8)));
    let listed = store
        .list_sessions(&subject("contract-u1", Some("contract-a")))
        .await
        .expect("list");
    assert_eq!(
        listed,
        [StoredFamily {
            revoked: true,
            ..refreshed
        }],
        "a revoked session is still listed, as revoked"
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

/// Counts each counter and each window apart and returns the count with the request in it; and
/// counts 32 concurrent requests each once, so each sees a different count (the limit then
/// admits exactly `limit`).
pub async fn rate_limits(store: std::sync::Arc<dyn RateLimitStore>) {
    let (w1, w2) = (Window::at(6_000), Window::at(6_060));
    assert_ne!(w1, w2);
    let a = crate::rate_limit::counter("contract-a", "fp1");
    for expected in 1..=3 {
        assert_eq!(store.count(&a, w1).await.expect("count"), expected);
    }
    let b = crate::rate_limit::counter("contract-b", "fp1");
    assert_eq!(store.count(&b, w1).await.expect("count"), 1);
    assert_eq!(store.count(&a, w2).await.expect("count"), 1);
    // The same client under another fingerprint (a wrong secret) is another counter.
    let other = crate::rate_limit::counter("contract-a", "fp2");
    assert_eq!(store.count(&other, w1).await.expect("count"), 1);
    assert_eq!(store.count(&a, w1).await.expect("count"), 4);

    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            store.count("contract-burst", w1).await.expect("count")
        });
    }
    let mut seen = tasks.join_all().await;
    seen.sort_unstable();
    assert_eq!(seen, (1..=32).collect::<Vec<u64>>(), "each count seen once");
}

/// Records and reads back: a cut-off under its key, only ever moved later; a revoked token; a
/// session's end only on the feed (its key finds nothing: its family says it); keys never
/// recorded find nothing; recording again changes nothing.
pub async fn revocations(store: &dyn RevocationStore) {
    let user = Key::subject("contract-u1");
    let cut = user_cut_off("contract-u1", 1_000);
    store.record(&cut).await.expect("record");
    store.record(&cut).await.expect("record again");
    store
        .record(&user_cut_off("contract-u1", 900))
        .await
        .expect("record an older cut-off");
    assert_eq!(
        store.find(std::slice::from_ref(&user)).await.expect("find"),
        [cut]
    );
    let later = user_cut_off("contract-u1", 1_100);
    store.record(&later).await.expect("record");
    assert_eq!(
        store.find(std::slice::from_ref(&user)).await.expect("find"),
        std::slice::from_ref(&later)
    );
    let jti = Entry::token("contract-j1", 2_000);
    store.record(&jti).await.expect("record");
    let ended = Entry::session("contract-s1", 2_000);
    store.record(&ended).await.expect("record");
    let client = client_cut_off("contract-app", 1_200);
    store.record(&client).await.expect("record");
    let mut found = store
        .find(&[
            ended.key.clone(),
            Key::Token("contract-j2".into()),
            jti.key.clone(),
            user,
            Key::Client("contract-other".into()),
            client.key.clone(),
        ])
        .await
        .expect("find");
    found.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(found, [later, client, jti]);
    assert_eq!(store.find(&[]).await.expect("find"), []);
}

#[cfg(test)]
mod tests {
    use crate::testkit::memory::{
        MemoryClients, MemoryLockout, MemoryRateLimits, MemoryRefresh, MemoryRevocations,
    };

    #[tokio::test]
    async fn memory_revocations_keep_the_revocation_store_contract() {
        super::revocations(&MemoryRevocations::default()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory_rate_limits_keep_the_rate_limit_store_contract() {
        super::rate_limits(std::sync::Arc::new(MemoryRateLimits::default())).await;
    }

    #[tokio::test]
    async fn memory_clients_keep_the_client_store_contract() {
        super::clients(&MemoryClients::default()).await;
    }

    #[tokio::test]
    async fn memory_refresh_keeps_the_refresh_store_contract() {
        super::refresh(&MemoryRefresh::default()).await;
    }

    #[tokio::test]
    async fn memory_refresh_keeps_the_in_family_contract() {
        super::in_family(&MemoryRefresh::default()).await;
    }

    #[tokio::test]
    async fn memory_refresh_keeps_the_session_contract() {
        super::sessions(&MemoryRefresh::default()).await;
    }

    #[tokio::test]
    async fn memory_refresh_keeps_the_code_store_contract() {
        super::codes(&MemoryRefresh::default()).await;
    }

    #[tokio::test]
    async fn memory_refresh_keeps_the_legacy_marker_contract() {
        super::legacy(&MemoryRefresh::default()).await;
    }

    #[tokio::test]
    async fn memory_lockout_keeps_the_lockout_store_contract() {
        super::lockout(&MemoryLockout::default()).await;
    }
}
