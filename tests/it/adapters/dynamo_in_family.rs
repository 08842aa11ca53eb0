//! A family that holds its tokens, as DynamoDB Local stores it: one family item with its live
//! token's record (`live`) and the two index companions, no `token#` record; a rotation
//! rewrites the family in place and writes no other item. Before a rollback, each live token
//! gets the record an earlier release finds it by.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, json};
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::{Secret, hash_str};
use tollgate_service::refresh::in_family::{mint, new_tag};
use tollgate_service::refresh::{
    NewFamily, RefreshGrant, RefreshStore, Rotation, Successor, TokenRef, TokenStatus,
};
use tollgate_service::store::dynamo::{DynamoRefreshStore, family_key};
use tollgate_tests::{create_tables, dynamo, stored_item};

#[tokio::test]
async fn a_session_is_one_family_item_and_its_two_companions() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoRefreshStore::new(db.clone(), &t.tokens);
    let (fid, tag) = ("famInFamily00000000001", new_tag());
    let first = mint(fid, &tag);
    store
        .create_family(&new_family(fid, &first, &tag))
        .await
        .unwrap();
    let item = stored_item(&db, &t.tokens, &family_key(fid)).await;
    let live = item["live"].as_m().unwrap();
    let s = |m: &std::collections::HashMap<String, AttributeValue>, k: &str| {
        m[k].as_s().unwrap().clone()
    };
    assert_eq!(s(live, "tag_hash"), hash_str(&tag));
    assert_eq!(s(live, "scope"), "a b");
    assert_eq!(s(live, "details"), r#"{"email":"a@b"}"#);
    assert_eq!(live["expires_at"].as_n().unwrap(), "200");
    assert_eq!(s(&item, "current_token"), first.hash());
    let text = format!("{item:?}");
    assert!(
        !text.contains(first.expose()) && !text.contains(&tag),
        "only hashes are stored"
    );

    let all = || async {
        let scan = db
            .scan()
            .table_name(&t.tokens)
            .consistent_read(true)
            .send()
            .await;
        let mut pks: Vec<String> = scan.unwrap().items().iter().map(|i| s(i, "pk")).collect();
        pks.sort();
        pks
    };
    let three = vec![
        format!("family#{fid}"),
        format!("session#{fid}"),
        format!("usersession#{fid}"),
    ];
    assert_eq!(
        all().await,
        three,
        "the family and its two companions, no token record"
    );

    let (old, _) = store
        .get_presented(&TokenRef::of(&first))
        .await
        .unwrap()
        .unwrap();
    let second = mint(fid, &tag);
    let next = rotated_at_150(&second);
    assert_eq!(
        store.rotate(&old, &next, 150).await.unwrap(),
        Rotation::Rotated
    );
    assert_eq!(all().await, three, "a rotation writes no other item");
    let item = stored_item(&db, &t.tokens, &family_key(fid)).await;
    let live = item["live"].as_m().unwrap();
    assert_eq!(s(&item, "current_token"), second.hash());
    assert_eq!(s(live, "details"), "{}");
    assert_eq!(
        (
            live["issued_at"].as_n().unwrap().as_str(),
            live["expires_at"].as_n().unwrap().as_str()
        ),
        ("150", "250")
    );
    assert_eq!(s(live, "scope"), "a b", "the scope and the tag stay");
    assert_eq!(s(live, "tag_hash"), hash_str(&tag));
}

/// A session begun at 100 whose first token lives until 200, in a family that holds its tokens.
fn new_family(fid: &str, first: &Secret, tag: &str) -> NewFamily {
    NewFamily {
        family_id: fid.into(),
        token_hash: first.hash(),
        grant: RefreshGrant {
            client_id: "c1".into(),
            sub: "u1".into(),
            scope: Scopes::parse("a b").unwrap(),
            details: serde_json::from_value(json!({"email": "a@b"})).unwrap(),
            auth_time: 100,
        },
        issued_at: 100,
        token_expires_at: 200,
        family_expires_at: 4_000_000_000,
        access_expires_at: 160,
        tag_hash: Some(hash_str(tag)),
    }
}

/// The second half of `index-sessions --before-rollback`: the live token of each active family
/// that holds its tokens gets the `token#` record a release before such families finds a token
/// by. Through it, the earlier shape's lookup and two-write rotation work: this release keeps
/// both for sessions begun before it, so they stand in for the earlier release here. A revoked
/// family gets no record, and a run after the rotation records nothing (the successor has its
/// own record, as the earlier release writes one).
#[tokio::test]
async fn before_rollback_each_live_token_gets_the_record_an_earlier_release_finds_it_by() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoRefreshStore::new(db.clone(), &t.tokens);
    let (fid, tag) = ("famRollback00000000001", new_tag());
    let first = mint(fid, &tag);
    let family = new_family(fid, &first, &tag);
    store.create_family(&family).await.unwrap();
    let (ended, ended_tag) = ("famRollbackEnded000001", new_tag());
    let gone = mint(ended, &ended_tag);
    let revoked = new_family(ended, &gone, &ended_tag);
    store.create_family(&revoked).await.unwrap();
    store.revoke_family(ended, 120).await.unwrap();

    let done = store.record_live_tokens_for_rollback().await.unwrap();
    assert_eq!((done.indexed, done.skipped), (1, 1), "{done:?}");
    let record = store.token_record(&first.hash()).await.unwrap();
    let record = record.expect("the live token's record");
    assert_eq!(
        (record.family_id.as_str(), &record.grant),
        (fid, &family.grant)
    );
    assert_eq!(
        (record.status, record.issued_at, record.expires_at),
        (TokenStatus::Active, 100, 200)
    );
    assert_eq!(record.family_expires_at, 4_000_000_000);
    let none = store.token_record(&gone.hash()).await.unwrap();
    assert!(none.is_none(), "a revoked family's token gets no record");

    // As the earlier release: the token found by its record, live, and rotated in two writes.
    let by_record = TokenRef::by_record(&first.hash());
    let (found, _) = store.get_presented(&by_record).await.unwrap().unwrap();
    assert_eq!(
        (found.status, found.in_family),
        (TokenStatus::Active, false)
    );
    let successor = Secret::generate();
    let next = rotated_at_150(&successor);
    assert_eq!(
        store.rotate(&found, &next, 150).await.unwrap(),
        Rotation::Rotated
    );
    let item = stored_item(&db, &t.tokens, &family_key(fid)).await;
    assert_eq!(item["current_token"].as_s().unwrap(), &successor.hash());
    let own = store.token_record(&successor.hash()).await.unwrap();
    assert!(own.is_some(), "the successor has its own record");

    let again = store.record_live_tokens_for_rollback().await.unwrap();
    assert_eq!((again.indexed, again.skipped), (0, 2), "{again:?}");
}

/// The successor of a rotation at 150: `token`, live until 250, with no details.
fn rotated_at_150(token: &Secret) -> Successor {
    Successor {
        token_hash: token.hash(),
        issued_at: 150,
        expires_at: 250,
        details: Map::new(),
        sealed: None,
        unconfirmed: false,
        access_until: 210,
    }
}
