//! The sessions index's two shapes, on DynamoDB Local: families written before the companions
//! (in the index themselves, under `sub#`, with a `session#` companion by client), and families
//! found through their `session#` and `usersession#` companions (no keys of their own, so a
//! rotation writes no index entry). Both are listed, each once. `index-sessions
//! --before-rollback` gives the newer ones keys of their own, the keys an earlier release finds
//! a user's sessions by.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue::S;
use serde_json::Map;
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::{Secret, hash_str};
use tollgate_service::refresh::{NewFamily, RefreshGrant, RefreshStore, SessionQuery};
use tollgate_service::store::dynamo::{DynamoRefreshStore, family_key};
use tollgate_service::store::tables::SESSIONS;
use tollgate_tests::{create_tables, dynamo};

async fn create(store: &DynamoRefreshStore, id: &str, sub: &str, client: &str) {
    let family = NewFamily {
        family_id: id.into(),
        token_hash: Secret::generate().hash(),
        grant: RefreshGrant {
            client_id: client.into(),
            sub: sub.into(),
            scope: Scopes::parse("a").unwrap(),
            details: Map::new(),
            auth_time: 100,
        },
        issued_at: 100,
        token_expires_at: 4_000_000_000,
        family_expires_at: 4_000_000_000,
        access_expires_at: 160,
        tag_hash: Some(hash_str("tag")),
    };
    store.create_family(&family).await.unwrap();
}

/// The family ids `query` lists, sorted, duplicates kept.
async fn listed(
    store: &DynamoRefreshStore,
    sub: Option<&str>,
    client: Option<&str>,
) -> Vec<String> {
    let query = match sub {
        Some(sub) => SessionQuery::Subject {
            sub: sub.into(),
            client_id: client.map(Into::into),
        },
        None => SessionQuery::Client {
            client_id: client.unwrap().into(),
        },
    };
    let mut ids: Vec<String> = store
        .list_sessions(&query)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.family_id)
        .collect();
    ids.sort();
    ids
}

/// What a release before the companions finds for a user: the index entries under `sub#`.
async fn earlier_release_finds(db: &Client, table: &str, sub: &str) -> Vec<String> {
    let out = db
        .query()
        .table_name(table)
        .index_name(SESSIONS.name)
        .key_condition_expression("session_pk = :pk")
        .expression_attribute_values(":pk", S(format!("sub#{}", hash_str(sub))))
        .send()
        .await
        .unwrap();
    let mut pks: Vec<String> = out
        .items()
        .iter()
        .map(|i| i["pk"].as_s().unwrap().clone())
        .collect();
    pks.sort();
    pks
}

#[tokio::test]
async fn both_shapes_are_listed_once_and_before_rollback_gives_the_newer_keys_of_their_own() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoRefreshStore::new(db.clone(), &t.tokens);
    create(&store, "new1", "u1", "c1").await;
    create(&store, "new2", "u1", "c2").await;
    create(&store, "other", "u2", "c1").await;
    // "old1" in the earlier shape: its own index keys, the `session#` companion, no
    // `usersession#` companion.
    create(&store, "old1", "u1", "c1").await;
    db.update_item()
        .table_name(&t.tokens)
        .key("pk", S(family_key("old1")))
        .update_expression("SET session_pk = :pk, session_sk = :sk REMOVE companions")
        .expression_attribute_values(":pk", S(format!("sub#{}", hash_str("u1"))))
        .expression_attribute_values(":sk", S("client#c1#old1".into()))
        .send()
        .await
        .unwrap();
    db.delete_item()
        .table_name(&t.tokens)
        .key("pk", S("usersession#old1".into()))
        .send()
        .await
        .unwrap();

    let check_listing = async || {
        assert_eq!(
            listed(&store, Some("u1"), None).await,
            ["new1", "new2", "old1"]
        );
        assert_eq!(
            listed(&store, Some("u1"), Some("c1")).await,
            ["new1", "old1"]
        );
        assert_eq!(listed(&store, Some("u2"), None).await, ["other"]);
        assert_eq!(
            listed(&store, None, Some("c1")).await,
            ["new1", "old1", "other"]
        );
    };
    check_listing().await;
    assert_eq!(
        earlier_release_finds(&db, &t.tokens, "u1").await,
        ["family#old1"],
        "an earlier release finds only the family in its own shape"
    );

    // The one-off for families from before the index leaves both shapes alone: each is found.
    let done = store.index_sessions().await.unwrap();
    assert_eq!((done.indexed, done.skipped), (0, 0));

    // Before a rollback: every family found through companions gets its own keys, once.
    let done = store.index_sessions_for_rollback().await.unwrap();
    assert_eq!((done.indexed, done.skipped), (3, 0));
    assert_eq!(
        earlier_release_finds(&db, &t.tokens, "u1").await,
        ["family#new1", "family#new2", "family#old1"]
    );
    assert_eq!(
        earlier_release_finds(&db, &t.tokens, "u2").await,
        ["family#other"]
    );
    let again = store.index_sessions_for_rollback().await.unwrap();
    assert_eq!((again.indexed, again.skipped), (0, 0));
    // Found by both entries now, and still listed once.
    check_listing().await;
}
