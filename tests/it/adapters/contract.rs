//! The adapter contract suites (`tollgate_service::testkit::contract`) against the DynamoDB
//! adapters on DynamoDB Local, each in its own tables: the same assertions the memory adapters
//! pass in the unit tests.

use tollgate_service::store::dynamo::{
    DynamoClientStore, DynamoLockoutStore, DynamoRateLimitStore, DynamoRefreshStore,
    DynamoRevocationStore,
};
use tollgate_service::testkit::contract;
use tollgate_tests::{create_tables, dynamo};

#[tokio::test]
async fn dynamo_clients_keep_the_client_store_contract() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    contract::clients(&DynamoClientStore::new(db, &t.clients)).await;
}

#[tokio::test]
async fn dynamo_refresh_keeps_the_refresh_store_contract() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    contract::refresh(&DynamoRefreshStore::new(db, &t.tokens)).await;
}

#[tokio::test]
async fn dynamo_refresh_keeps_the_in_family_contract() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    contract::in_family(&DynamoRefreshStore::new(db, &t.tokens)).await;
}

#[tokio::test]
async fn dynamo_refresh_keeps_the_code_store_contract() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    contract::codes(&DynamoRefreshStore::new(db, &t.tokens)).await;
}

#[tokio::test]
async fn dynamo_refresh_keeps_the_legacy_marker_contract() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    contract::legacy(&DynamoRefreshStore::new(db, &t.tokens)).await;
}

#[tokio::test]
async fn dynamo_refresh_keeps_the_session_contract() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    contract::sessions(&DynamoRefreshStore::new(db, &t.tokens)).await;
}

#[tokio::test]
async fn dynamo_lockout_keeps_the_lockout_store_contract() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    contract::lockout(&DynamoLockoutStore::new(db, &t.lockouts)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn dynamo_rate_limits_keep_the_rate_limit_store_contract() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    contract::rate_limits(std::sync::Arc::new(DynamoRateLimitStore::new(
        db,
        &t.lockouts,
    )))
    .await;
}

#[tokio::test]
async fn dynamo_revocations_keep_the_revocation_store_contract() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    contract::revocations(&DynamoRevocationStore::new(db, &t.revocations)).await;
}
