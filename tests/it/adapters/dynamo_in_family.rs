//! A family that holds its tokens, as DynamoDB Local stores it: one family item with its live
//! token's record (`live`) and the two index companions, no `token#` record; a rotation
//! rewrites the family in place and writes no other item.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, json};
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::hash_str;
use tollgate_service::refresh::in_family::{mint, new_tag};
use tollgate_service::refresh::{
    NewFamily, RefreshGrant, RefreshStore, Rotation, Successor, TokenRef,
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
    let family = NewFamily {
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
        tag_hash: Some(hash_str(&tag)),
    };
    store.create_family(&family).await.unwrap();
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
    let next = Successor {
        token_hash: second.hash(),
        issued_at: 150,
        expires_at: 250,
        details: Map::new(),
        sealed: None,
        unconfirmed: false,
        access_until: 210,
    };
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
