//! Fixtures of the items as the hand-written mapping (before serde_dynamo) wrote them: each
//! reads back, and what is written from it has the same attributes with the same types.

use aws_sdk_dynamodb::types::AttributeValue;

use super::*;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// `token#…` as `create_family` wrote it.
fn active_token() -> Item {
    Item::from([
        ("pk".into(), s("token#sha256:t1")),
        ("kind".into(), s("token")),
        ("family_id".into(), s("fam1")),
        ("client_id".into(), s("c1")),
        ("sub".into(), s("u1")),
        ("scope".into(), s("a b")),
        ("details".into(), s(r#"{"email":"a@b","groups":["x"]}"#)),
        ("auth_time".into(), n(100)),
        ("status".into(), s("active")),
        ("issued_at".into(), n(100)),
        ("expires_at".into(), n(200)),
        ("family_expires_at".into(), n(300)),
    ])
}

/// The same token after a rotation that retired it, its answer lost.
fn rotated_token() -> Item {
    let mut item = active_token();
    item.insert("status".into(), s("rotated"));
    item.insert("rotated_at".into(), n(150));
    item.insert("successor_hash".into(), s("sha256:t2"));
    item.insert("sealed_successor".into(), s("c2VhbGVk"));
    item.insert("unconfirmed".into(), AttributeValue::Bool(true));
    item
}

/// `family#…` as `create_family` wrote it before the companions: in the index itself.
fn new_family() -> Item {
    Item::from([
        ("pk".into(), s("family#fam1")),
        ("kind".into(), s("family")),
        ("client_id".into(), s("c1")),
        ("sub".into(), s("u1")),
        ("session_pk".into(), s(&subject_key("u1"))),
        ("session_sk".into(), s("client#c1#fam1")),
        ("status".into(), s("active")),
        ("current_token".into(), s("sha256:t1")),
        ("created_at".into(), n(100)),
        ("expires_at".into(), n(300)),
    ])
}

/// The family of [`new_family`], as the grant creates it.
fn created() -> NewFamily {
    NewFamily {
        family_id: "fam1".into(),
        token_hash: "sha256:t1".into(),
        grant: RefreshGrant {
            client_id: "c1".into(),
            sub: "u1".into(),
            scope: Scopes::parse("a b").unwrap(),
            details: Map::new(),
            auth_time: 100,
        },
        issued_at: 100,
        token_expires_at: 200,
        family_expires_at: 300,
        access_expires_at: 160,
        tag_hash: None,
    }
}

#[test]
fn a_stored_token_reads_back_and_writes_the_same_item() {
    for fixture in [active_token(), rotated_token()] {
        let token = from_item::<TokenItem>(fixture.clone())
            .and_then(TokenItem::token)
            .unwrap();
        assert_eq!(token.token_hash, "sha256:t1");
        assert_eq!(token.grant.scope, Scopes::parse("a b").unwrap());
        assert_eq!(token.grant.details["groups"], serde_json::json!(["x"]));
        assert_eq!(to_item(&TokenItem::new(&token)).unwrap(), fixture);
    }
    let rotated = from_item::<TokenItem>(rotated_token())
        .and_then(TokenItem::token)
        .unwrap();
    assert_eq!(rotated.status, TokenStatus::Rotated);
    assert_eq!(rotated.rotated_at, Some(150));
    assert_eq!(rotated.successor_hash.as_deref(), Some("sha256:t2"));
    assert!(rotated.unconfirmed);
}

#[test]
fn a_stored_family_reads_back_and_a_new_one_is_written_in_that_shape() {
    let family = from_item::<FamilyItem>(new_family())
        .and_then(FamilyItem::family)
        .unwrap();
    assert_eq!(family.family_id, "fam1");
    assert!(!family.revoked && family.refreshed_at.is_none());
    // Written before `access_until` was recorded: read as unknown, and a revocation entry
    // then outlives any token since its last rotation.
    assert_eq!(family.access_until, None);
    assert_eq!(family.access_tokens_until(), 100 + 86_400);
    let created = created();
    // Written now: the earlier shape without the index keys (its companions carry them),
    // with `companions` and `access_until`.
    let mut written = new_family();
    written.remove("session_pk");
    written.remove("session_sk");
    written.insert("companions".into(), AttributeValue::Bool(true));
    written.insert("access_until".into(), n(160));
    assert_eq!(to_item(&FamilyItem::new(&created)).unwrap(), written);
    let read = from_item::<FamilyItem>(written)
        .and_then(FamilyItem::family)
        .unwrap();
    assert_eq!(read.access_until, Some(160));
    // The earlier shape with `access_until` (written by the release before the companions)
    // reads the same.
    let mut indexed = new_family();
    indexed.insert("access_until".into(), n(160));
    let indexed = from_item::<FamilyItem>(indexed)
        .and_then(FamilyItem::family)
        .unwrap();
    assert_eq!(indexed, read);
    // Rotated, then revoked; and a family from before the sessions index, without its keys.
    let mut later = new_family();
    later.insert("refreshed_at".into(), n(150));
    later.insert("status".into(), s("revoked"));
    later.insert("revoked_at".into(), n(160));
    let later = from_item::<FamilyItem>(later)
        .and_then(FamilyItem::family)
        .unwrap();
    assert!(later.revoked);
    assert_eq!(later.refreshed_at, Some(150));
    let mut unindexed = new_family();
    unindexed.remove("session_pk");
    unindexed.remove("session_sk");
    assert!(
        from_item::<FamilyItem>(unindexed)
            .and_then(FamilyItem::family)
            .is_ok()
    );
}

#[test]
fn a_session_item_is_written_in_its_stored_shape() {
    let stored = Item::from([
        ("pk".into(), s("session#fam1")),
        ("kind".into(), s("session")),
        ("family_id".into(), s("fam1")),
        ("session_pk".into(), s("client#c1")),
        ("session_sk".into(), s("family#fam1")),
        ("expires_at".into(), n(300)),
    ]);
    assert_eq!(
        to_item(&SessionItem::by_client("fam1", "c1", 300)).unwrap(),
        stored
    );
    assert_eq!(
        to_item(&SessionItem::client_of(&created())).unwrap(),
        stored
    );
    let read: SessionItem = from_item(stored).unwrap();
    assert_eq!(read.family_id, "fam1");
}

/// The companion that finds a family by its user: the sort key of the family's own entry
/// (client, then family), under `user#` where the family's own entries are under `sub#`.
#[test]
fn a_user_session_item_is_written_in_its_shape_and_the_index_reads_both_kinds() {
    let stored = Item::from([
        ("pk".into(), s("usersession#fam1")),
        ("kind".into(), s("usersession")),
        ("family_id".into(), s("fam1")),
        ("session_pk".into(), s(&user_key("u1"))),
        ("session_sk".into(), s("client#c1#fam1")),
        ("expires_at".into(), n(300)),
    ]);
    assert_eq!(to_item(&SessionItem::by_user(&created())).unwrap(), stored);
    assert_eq!(
        user_key("u1").strip_prefix("user#"),
        subject_key("u1").strip_prefix("sub#")
    );
    assert_ne!(user_key("u1"), subject_key("u1"));
    for companion in [
        stored,
        to_item(&SessionItem::client_of(&created())).unwrap(),
    ] {
        match IndexEntry::read(companion).unwrap() {
            IndexEntry::Companion(id) => assert_eq!(id, "fam1"),
            IndexEntry::Family(_) => panic!("a companion read as a family"),
        }
    }
    match IndexEntry::read(new_family()).unwrap() {
        IndexEntry::Family(f) => assert_eq!(f.family().unwrap().family_id, "fam1"),
        IndexEntry::Companion(_) => panic!("a family read as a companion"),
    }
}

#[test]
fn an_item_that_breaks_the_shape_is_an_error_naming_the_attribute() {
    let mut unknown_status = active_token();
    unknown_status.insert("status".into(), s("paused"));
    assert!(from_item::<TokenItem>(unknown_status).is_err());
    let mut missing = active_token();
    missing.remove("auth_time");
    let e = from_item::<TokenItem>(missing).unwrap_err();
    assert!(e.contains("auth_time"), "{e}");
    let mut bad_scope = active_token();
    bad_scope.insert("scope".into(), s("a\"b"));
    assert!(from_item::<TokenItem>(bad_scope).is_err());
    let mut bad_details = active_token();
    bad_details.insert("details".into(), s("[1]"));
    assert!(from_item::<TokenItem>(bad_details).is_err());
    let mut not_a_family = new_family();
    not_a_family.insert("pk".into(), s("token#x"));
    assert!(
        from_item::<FamilyItem>(not_a_family)
            .and_then(FamilyItem::family)
            .is_err()
    );
}
