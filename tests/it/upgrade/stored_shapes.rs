//! Stored shapes stay readable across releases (issue 21): items exactly as 0.1.0's code wrote
//! them (tests/fixtures/stored-0.1.0.json) are put into DynamoDB Local and read by today's
//! stores: a client mid-rotation keeps both secrets until the kept one is retired, a family and
//! token from before the sessions index are read and then indexed, a locked username stays
//! locked. (tests/it/dynamo_adapters.rs reads the later hand-mapped family, token and session.)

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use tollgate_oauth::secret::{Secret, hash_str};
use tollgate_service::client::{ClientCredentials, ClientStore, ClientUpdate, authenticate};
use tollgate_service::lockout::{LockoutStore, lockout_key};
use tollgate_service::refresh::{RefreshStore, SessionQuery};
use tollgate_service::store::dynamo::{DynamoClientStore, DynamoLockoutStore, DynamoRefreshStore};
use tollgate_tests::{create_tables, dynamo};

const NEW_SECRET: &str = "new-secret-of-the-fixture-0123456789";
const OLD_SECRET: &str = "old-secret-of-the-fixture-0123456789";

/// DynamoDB's JSON (`{"S": ...}`, `{"N": ...}`, ...) as the SDK's attribute value.
fn attribute(v: &Value) -> AttributeValue {
    let (kind, inner) = v.as_object().unwrap().iter().next().unwrap();
    match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str().unwrap().into()),
        "N" => AttributeValue::N(inner.as_str().unwrap().into()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap()),
        "L" => AttributeValue::L(inner.as_array().unwrap().iter().map(attribute).collect()),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), attribute(v)))
                .collect(),
        ),
        other => panic!("fixture: attribute type {other}"),
    }
}

async fn load(db: &aws_sdk_dynamodb::Client, fixture: &Value, part: &str, table: &str) {
    for item in fixture[part].as_array().unwrap() {
        let item: HashMap<String, AttributeValue> = item
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), attribute(v)))
            .collect();
        db.put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
}

fn creds(secret: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: "legacy-rotating".into(),
        secret: Some(Secret::new(secret)),
    }
}

#[tokio::test]
async fn items_written_by_the_previous_release_are_read_by_this_one() {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/stored-0.1.0.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let db = dynamo().await;
    let t = create_tables(&db).await;
    for (part, table) in [
        ("clients", &t.clients),
        ("tokens", &t.tokens),
        ("lockouts", &t.lockouts),
    ] {
        load(&db, &fixture, part, table).await;
    }

    // The client mid-rotation: both secrets work until the kept one is retired, then only
    // the new one (the old attributes are removed, not left to come back).
    let clients = DynamoClientStore::new(db.clone(), &t.clients);
    let c = authenticate(&clients, &creds(NEW_SECRET)).await.unwrap();
    assert_eq!(c.default_scopes.to_string(), "profile");
    assert!(authenticate(&clients, &creds(OLD_SECRET)).await.is_ok());
    let retire = ClientUpdate {
        previous_secret: Some(None),
        ..ClientUpdate::default()
    };
    clients.update("legacy-rotating", &retire).await.unwrap();
    assert!(authenticate(&clients, &creds(OLD_SECRET)).await.is_err());
    assert!(authenticate(&clients, &creds(NEW_SECRET)).await.is_ok());

    // The family and token from before the sessions index.
    let refresh = DynamoRefreshStore::new(db.clone(), &t.tokens);
    let token_hash = hash_str("legacy-refresh-token-of-the-fixture");
    let token = refresh.get_token(&token_hash).await.unwrap().unwrap();
    assert_eq!(token.grant.details["email"], "legacy@example.com");
    let family = refresh.get_family("fam-legacy").await.unwrap().unwrap();
    assert!(!family.revoked);
    let by_user = SessionQuery::Subject {
        sub: "u-legacy".into(),
        client_id: None,
    };
    assert!(refresh.list_sessions(&by_user).await.unwrap().is_empty());
    assert_eq!(refresh.index_sessions().await.unwrap().indexed, 1);
    let found = refresh.list_sessions(&by_user).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");

    // The locked username.
    let lockouts = DynamoLockoutStore::new(db.clone(), &t.lockouts);
    let now = 1_800_000_000;
    assert!(
        lockouts
            .locked_until(&lockout_key(" ALICE "), now)
            .await
            .unwrap()
            .is_some()
    );
}
