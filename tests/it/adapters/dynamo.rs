//! The DynamoDB adapters against Amazon's DynamoDB Local.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use serde_json::json;
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::Secret;
use tollgate_service::client::{ClientStore, ClientStoreError, GrantType};
use tollgate_service::lockout::{LockoutPolicy, LockoutStore, Reservation, lockout_key};
use tollgate_service::refresh::{NewFamily, RefreshGrant, RefreshStore};
use tollgate_service::store::dynamo::create_table;
use tollgate_service::store::dynamo::{
    DynamoClientStore, DynamoLockoutStore, DynamoRefreshStore, family_key, token_key,
};
use tollgate_service::store::tables;
use tollgate_tests::{ClientSpec, create_tables, dynamo};

#[tokio::test]
async fn created_tables_match_the_shared_definition() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    for (spec, name) in [
        (tables::CLIENTS, &t.clients),
        (tables::TOKENS, &t.tokens),
        (tables::LOCKOUTS, &t.lockouts),
        (tables::REVOCATIONS, &t.revocations),
    ] {
        let desc = db
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let keys: Vec<&str> = desc
            .key_schema()
            .iter()
            .map(|k| k.attribute_name())
            .collect();
        let want: Vec<&str> = [Some(spec.hash_key), spec.range_key]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(keys, want, "{name}");
        let indexes: Vec<&str> = desc
            .global_secondary_indexes()
            .iter()
            .filter_map(|i| i.index_name())
            .collect();
        let want: Vec<&str> = spec.indexes.iter().map(|i| i.name).collect();
        assert_eq!(indexes, want, "{name}");
        let ttl = db
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .unwrap();
        let ttl = ttl.time_to_live_description();
        match spec.ttl_attribute {
            Some(attr) => {
                assert_eq!(ttl.and_then(|t| t.attribute_name()), Some(attr));
                assert_eq!(
                    ttl.and_then(|t| t.time_to_live_status()),
                    Some(&TimeToLiveStatus::Enabled)
                );
            }
            None => assert_ne!(
                ttl.and_then(|t| t.time_to_live_status()),
                Some(&TimeToLiveStatus::Enabled)
            ),
        }
    }
    // Creating again leaves them alone.
    assert!(
        !create_table(&db, &tables::CLIENTS, &t.clients)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn client_store_round_trips_and_never_overwrites() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let (id, secret) = ClientSpec::default().create(&db, &t.clients).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    let c = store.get(&id).await.unwrap().unwrap();
    assert!(Secret::new(secret.clone()).matches(&c.secret_hash));
    assert_eq!(
        c.grant_types,
        [GrantType::Password, GrantType::RefreshToken]
    );
    assert_eq!(
        c.allowed_scopes.to_string(),
        "orders:read orders:write profile"
    );
    assert!(c.enabled);
    assert!(matches!(
        store.create(&c).await,
        Err(ClientStoreError::AlreadyExists)
    ));
    assert!(store.get("no-such-client").await.unwrap().is_none());

    // The secret itself is nowhere in the stored item.
    let raw = db
        .get_item()
        .table_name(&t.clients)
        .key("client_id", AttributeValue::S(id))
        .send()
        .await
        .unwrap();
    assert!(!format!("{:?}", raw.item).contains(&secret));
}

#[tokio::test]
async fn malformed_client_record_is_an_error_not_a_panic() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    db.put_item()
        .table_name(&t.clients)
        .item("client_id", AttributeValue::S("broken".into()))
        .item("secret_hash", AttributeValue::N("12".into()))
        .send()
        .await
        .unwrap();
    let store = DynamoClientStore::new(db, &t.clients);
    assert!(matches!(
        store.get("broken").await,
        Err(ClientStoreError::Malformed(_))
    ));
}

#[tokio::test]
async fn unreachable_dynamodb_is_an_unavailable_error() {
    // A port this test holds (bound to :0, so nothing else can take it) whose every connection
    // is closed at once: DynamoDB is "there" but never answers, without a fixed port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .endpoint_url(&endpoint)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(std::time::Duration::from_secs(3))
                .build(),
        )
        .load()
        .await;
    let store = DynamoClientStore::new(aws_sdk_dynamodb::Client::new(&cfg), "clients");
    assert!(matches!(
        store.get("x").await,
        Err(ClientStoreError::Unavailable(_))
    ));
}

/// A family of the shape started before families held their tokens (`tag_hash: None`): its
/// first token has a record of its own. Such families are still read and rotated.
#[tokio::test]
async fn new_family_stores_only_the_token_hash_with_ttls() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoRefreshStore::new(db.clone(), &t.tokens);
    let token = Secret::generate();
    let family = NewFamily {
        family_id: "fam1".into(),
        token_hash: token.hash(),
        grant: RefreshGrant {
            client_id: "c1".into(),
            sub: "u1".into(),
            scope: Scopes::parse("a b").unwrap(),
            details: serde_json::from_value(json!({"email": "a@b"})).unwrap(),
            auth_time: 100,
        },
        issued_at: 100,
        token_expires_at: 200,
        family_expires_at: 300,
        access_expires_at: 160,
        tag_hash: None,
    };
    store.create_family(&family).await.unwrap();

    let fam = db
        .get_item()
        .table_name(&t.tokens)
        .key("pk", AttributeValue::S(family_key("fam1")))
        .send()
        .await
        .unwrap();
    let fam = fam.item.unwrap();
    assert_eq!(fam["current_token"].as_s().unwrap(), &token.hash());
    assert_eq!(fam["status"].as_s().unwrap(), "active");
    assert_eq!(fam["expires_at"].as_n().unwrap(), "300");

    let tok = db
        .get_item()
        .table_name(&t.tokens)
        .key("pk", AttributeValue::S(token_key(&token.hash())))
        .send()
        .await
        .unwrap();
    let tok = tok.item.unwrap();
    assert_eq!(tok["family_id"].as_s().unwrap(), "fam1");
    assert_eq!(tok["expires_at"].as_n().unwrap(), "200");
    assert_eq!(tok["scope"].as_s().unwrap(), "a b");
    assert_eq!(tok["details"].as_s().unwrap(), r#"{"email":"a@b"}"#);

    // The session's companion item, which finds the family by its client: no token in it,
    // gone by TTL with the family.
    let session = db
        .get_item()
        .table_name(&t.tokens)
        .key("pk", AttributeValue::S("session#fam1".into()))
        .send()
        .await
        .unwrap();
    let session = session.item.unwrap();
    assert_eq!(session["family_id"].as_s().unwrap(), "fam1");
    assert_eq!(session["session_pk"].as_s().unwrap(), "client#c1");
    assert_eq!(session["expires_at"].as_n().unwrap(), "300");
    // The companion that finds it by its user. The family item carries no index keys, so its
    // rotations and its revocation write no index entry.
    let by_user = db
        .get_item()
        .table_name(&t.tokens)
        .key("pk", AttributeValue::S("usersession#fam1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(by_user["family_id"].as_s().unwrap(), "fam1");
    assert_eq!(by_user["session_sk"].as_s().unwrap(), "client#c1#fam1");
    assert_eq!(by_user["expires_at"].as_n().unwrap(), "300");
    assert!(
        by_user["session_pk"]
            .as_s()
            .unwrap()
            .starts_with("user#sha256:")
    );
    assert!(
        !by_user["session_pk"].as_s().unwrap().contains("u1"),
        "the sub is hashed in the index key"
    );
    assert!(!fam.contains_key("session_pk") && !fam.contains_key("session_sk"));
    assert_eq!(fam["companions"].as_bool().ok(), Some(&true));

    let all = db.scan().table_name(&t.tokens).send().await.unwrap();
    assert_eq!(
        all.count(),
        4,
        "family, token and the session's two companions"
    );
    assert!(
        !format!("{:?}", all.items()).contains(token.expose()),
        "the plain token must never be stored"
    );

    // The same family cannot be written twice: every put is conditional.
    assert!(store.create_family(&family).await.is_err());
}

/// Items exactly as the hand-written mapping wrote them before the serde shapes: a session, its
/// token after a lost rotation, and the companion that finds it by client. The store reads them.
/// Then today's rotation (the retirement recorded on the family, not on the token) moves the
/// session on from its live token: the token retired in its own record still reads as it did.
#[tokio::test]
async fn items_in_the_earlier_hand_mapped_shape_read_back_through_the_store() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoRefreshStore::new(db.clone(), &t.tokens);
    let (s, n) = (
        |v: &str| AttributeValue::S(v.into()),
        |v: u64| AttributeValue::N(v.to_string()),
    );
    let subject = tollgate_oauth::secret::hash_str("u1");
    let far = 4_000_000_000;
    let items = [
        vec![
            ("pk", s(&family_key("fam1"))),
            ("kind", s("family")),
            ("client_id", s("c1")),
            ("sub", s("u1")),
            ("session_pk", s(&format!("sub#{subject}"))),
            ("session_sk", s("client#c1#fam1")),
            ("status", s("active")),
            ("current_token", s("sha256:t2")),
            ("created_at", n(100)),
            ("refreshed_at", n(150)),
            ("expires_at", n(far)),
        ],
        vec![
            ("pk", s(&token_key("sha256:t1"))),
            ("kind", s("token")),
            ("family_id", s("fam1")),
            ("client_id", s("c1")),
            ("sub", s("u1")),
            ("scope", s("a b")),
            ("details", s(r#"{"email":"a@b"}"#)),
            ("auth_time", n(100)),
            ("status", s("rotated")),
            ("issued_at", n(100)),
            ("expires_at", n(far)),
            ("family_expires_at", n(far)),
            ("rotated_at", n(150)),
            ("successor_hash", s("sha256:t2")),
            ("sealed_successor", s("c2VhbGVk")),
            ("unconfirmed", AttributeValue::Bool(true)),
        ],
        vec![
            ("pk", s(&token_key("sha256:t2"))),
            ("kind", s("token")),
            ("family_id", s("fam1")),
            ("client_id", s("c1")),
            ("sub", s("u1")),
            ("scope", s("a b")),
            ("details", s(r#"{"email":"a@b"}"#)),
            ("auth_time", n(100)),
            ("status", s("active")),
            ("issued_at", n(150)),
            ("expires_at", n(far)),
            ("family_expires_at", n(far)),
        ],
        vec![
            ("pk", s("session#fam1")),
            ("kind", s("session")),
            ("family_id", s("fam1")),
            ("session_pk", s("client#c1")),
            ("session_sk", s(&family_key("fam1"))),
            ("expires_at", n(far)),
        ],
    ];
    for item in items {
        let item = item.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        db.put_item()
            .table_name(&t.tokens)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let token = store.get_token("sha256:t1").await.unwrap().unwrap();
    assert_eq!(token.grant.scope, Scopes::parse("a b").unwrap());
    assert_eq!(token.grant.details["email"], "a@b");
    assert_eq!(token.successor_hash.as_deref(), Some("sha256:t2"));
    assert!(token.unconfirmed);
    let family = store.get_family("fam1").await.unwrap().unwrap();
    assert_eq!((family.refreshed_at, family.revoked), (Some(150), false));
    let by_client = tollgate_service::refresh::SessionQuery::Client {
        client_id: "c1".into(),
    };
    let by_user = tollgate_service::refresh::SessionQuery::Subject {
        sub: "u1".into(),
        client_id: Some("c1".into()),
    };
    for query in [by_client, by_user] {
        let found = store.list_sessions(&query).await.unwrap();
        assert_eq!(found, std::slice::from_ref(&family), "{query:?}");
    }
    rotated_on_from_the_earlier_shape(&store).await;
}

async fn rotated_on_from_the_earlier_shape(store: &DynamoRefreshStore) {
    use tollgate_service::refresh::{Rotation, Successor, TokenStatus};
    let t2 = store.get_token("sha256:t2").await.unwrap().unwrap();
    assert_eq!(t2.status, TokenStatus::Active);
    let next = Successor {
        token_hash: "sha256:t3".into(),
        issued_at: 200,
        expires_at: 4_000_000_000,
        details: t2.grant.details.clone(),
        sealed: Some("c2VhbGVkLWFnYWlu".into()),
        unconfirmed: false,
        access_until: 1_100,
    };
    assert_eq!(
        store.rotate(&t2, &next, 200).await.unwrap(),
        Rotation::Rotated
    );
    let t1 = store.get_token("sha256:t1").await.unwrap().unwrap();
    assert_eq!(
        (t1.status, t1.rotated_at, t1.successor_hash.as_deref()),
        (TokenStatus::Rotated, Some(150), Some("sha256:t2")),
        "retired in its own record: read as it was"
    );
    assert_eq!(
        (t1.sealed_successor.as_deref(), t1.unconfirmed),
        (Some("c2VhbGVk"), true)
    );
    let t2 = store.get_token("sha256:t2").await.unwrap().unwrap();
    assert_eq!(
        (t2.status, t2.rotated_at, t2.successor_hash.as_deref()),
        (TokenStatus::Rotated, Some(200), Some("sha256:t3")),
        "retired on the family"
    );
    assert_eq!(t2.sealed_successor.as_deref(), Some("c2VhbGVkLWFnYWlu"));
    let t3 = store.get_token("sha256:t3").await.unwrap().unwrap();
    assert_eq!((t3.status, t3.issued_at), (TokenStatus::Active, 200));
    let family = store.get_family("fam1").await.unwrap().unwrap();
    assert_eq!(
        (family.current_token.as_str(), family.access_until),
        ("sha256:t3", Some(1_100))
    );
    assert_eq!(
        store.rotate(&t1, &next, 201).await.unwrap(),
        Rotation::Refused,
        "the token retired in its own record rotates no more"
    );
}

fn policy() -> LockoutPolicy {
    LockoutPolicy {
        max_failures: 3,
        window_secs: 60,
        lockout_secs: 120,
    }
}

#[tokio::test]
async fn lockout_counts_locks_and_expires() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoLockoutStore::new(db.clone(), &t.lockouts);
    let key = lockout_key("Someone@Example.com");
    let now = 1_000_000;
    assert_eq!(store.locked_until(&key, now).await.unwrap(), None);
    assert_eq!(
        store.record_failure(&key, now, &policy()).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .record_failure(&key, now + 1, &policy())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .record_failure(&key, now + 2, &policy())
            .await
            .unwrap(),
        Some(now + 122)
    );
    assert_eq!(
        store.locked_until(&key, now + 3).await.unwrap(),
        Some(now + 122)
    );
    assert_eq!(store.locked_until(&key, now + 122).await.unwrap(), None);

    let raw = db
        .get_item()
        .table_name(&t.lockouts)
        .key("pk", AttributeValue::S(key.clone()))
        .send()
        .await
        .unwrap();
    let raw = raw.item.unwrap();
    assert!(
        raw["expires_at"].as_n().unwrap().parse::<u64>().unwrap() >= now + 122,
        "TTL must outlive the lock"
    );
    assert!(
        !format!("{raw:?}").to_lowercase().contains("someone"),
        "usernames are stored hashed"
    );

    // After the lock, the user has a fresh set of attempts.
    assert_eq!(
        store
            .record_failure(&key, now + 200, &policy())
            .await
            .unwrap(),
        None
    );
    store.reset(&key).await.unwrap();
    assert_eq!(store.locked_until(&key, now + 201).await.unwrap(), None);
}

#[tokio::test]
async fn failures_outside_the_window_start_a_new_count() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoLockoutStore::new(db, &t.lockouts);
    let key = lockout_key("bob");
    store.record_failure(&key, 1000, &policy()).await.unwrap();
    store.record_failure(&key, 1001, &policy()).await.unwrap();
    assert_eq!(
        store.record_failure(&key, 1070, &policy()).await.unwrap(),
        None,
        "window passed: count restarts"
    );
    assert_eq!(
        store.record_failure(&key, 1071, &policy()).await.unwrap(),
        None
    );
    assert!(
        store
            .record_failure(&key, 1072, &policy())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn concurrent_failures_are_all_counted() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = Arc::new(DynamoLockoutStore::new(db.clone(), &t.lockouts));
    let key = lockout_key("carol");
    let wide = LockoutPolicy {
        max_failures: 1000,
        window_secs: 60,
        lockout_secs: 60,
    };
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.record_failure(&key, 5000, &wide).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let raw = db
        .get_item()
        .table_name(&t.lockouts)
        .key("pk", AttributeValue::S(key))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.item.unwrap()["failures"].as_n().unwrap(), "16");
}

#[tokio::test]
async fn reservations_stop_at_the_limit_and_come_back_when_released() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoLockoutStore::new(db, &t.lockouts);
    let key = lockout_key("dave");
    let now = 2_000;
    for _ in 0..3 {
        assert_eq!(
            store.reserve(&key, now, &policy()).await.unwrap(),
            Reservation::Granted
        );
    }
    assert_eq!(
        store.reserve(&key, now, &policy()).await.unwrap(),
        Reservation::Busy,
        "three attempts in flight use up the window"
    );
    store.release(&key).await.unwrap();
    assert_eq!(
        store.reserve(&key, now + 1, &policy()).await.unwrap(),
        Reservation::Granted,
        "a released attempt can be taken again"
    );
    // Three failures of the reserved attempts: the third locks.
    assert_eq!(
        store
            .record_failure(&key, now + 2, &policy())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .record_failure(&key, now + 2, &policy())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .record_failure(&key, now + 2, &policy())
            .await
            .unwrap(),
        Some(now + 122)
    );
    assert_eq!(
        store.reserve(&key, now + 100, &policy()).await.unwrap(),
        Reservation::Locked,
        "locked"
    );
    assert_eq!(
        store.reserve(&key, now + 122, &policy()).await.unwrap(),
        Reservation::Granted,
        "a fresh set of attempts after the lock"
    );
    // A window that has passed opens a new one.
    for _ in 0..2 {
        store.reserve(&key, now + 122, &policy()).await.unwrap();
    }
    assert_eq!(
        store.reserve(&key, now + 150, &policy()).await.unwrap(),
        Reservation::Busy
    );
    assert_eq!(
        store.reserve(&key, now + 183, &policy()).await.unwrap(),
        Reservation::Granted
    );
    store.reset(&key).await.unwrap();
    assert_eq!(store.locked_until(&key, now + 184).await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_reservations_grant_exactly_the_limit() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = Arc::new(DynamoLockoutStore::new(db, &t.lockouts));
    let key = lockout_key("erin");
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.reserve(&key, 9_000, &policy()).await })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() == Reservation::Granted {
            granted += 1;
        }
    }
    assert_eq!(granted, 3);
}
