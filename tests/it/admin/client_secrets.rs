//! Client secrets as the admin CLI stores them and the token service checks them: HMAC-SHA256
//! with a pepper, Apigee-style imported secrets accepted, weak ones and over-long lifetimes
//! refused. Runs the built `tollgate-admin` against DynamoDB Local.

use tollgate_oauth::secret::{Secret, SecretHasher};
use tollgate_service::client::{ClientCredentials, ClientStore, authenticate_with};
use tollgate_service::store::dynamo::DynamoClientStore;
use tollgate_tests::admin::admin_with as admin;
use tollgate_tests::{Served, create_tables, dynamo, post_token};

const PEPPER: &str = "test-pepper-0123456789abcdefghijklmnopqrstuvwxyz";

fn creds(id: &str, secret: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: id.into(),
        secret: Some(Secret::new(secret)),
    }
}

#[tokio::test]
async fn an_imported_apigee_secret_is_stored_as_a_peppered_hmac() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoClientStore::new(db, &t.clients);
    let apigee_secret = "Xk3hG9aQ2mZp7LwR";
    let args = ["create-client", "--id", "imported", "--secret-stdin"];
    let out = admin(
        &t.clients,
        Some(PEPPER),
        &args,
        &format!("{apigee_secret}\n"),
    );
    assert!(out.status.success(), "{out:?}");

    let stored = store.get("imported").await.unwrap().unwrap().secret_hash;
    assert!(stored.starts_with("hmac-sha256:"), "{stored}");
    let peppered = SecretHasher::new(Some(&Secret::new(PEPPER)), &[]).unwrap();
    assert!(
        authenticate_with(&store, &peppered, &creds("imported", apigee_secret))
            .await
            .is_ok()
    );
    assert!(
        authenticate_with(&store, &peppered, &creds("imported", "Xk3hG9aQ2mZp7LwS"))
            .await
            .is_err()
    );
    // Without the pepper the stored hash is useless: it cannot be checked, nor cracked.
    assert!(
        authenticate_with(
            &store,
            &SecretHasher::default(),
            &creds("imported", apigee_secret)
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn weak_supplied_secrets_are_refused_with_or_without_a_pepper() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoClientStore::new(db, &t.clients);
    for (pepper, secret) in [
        (Some(PEPPER), "password"),
        (Some(PEPPER), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        // Fine with a pepper, too weak for a plain SHA-256.
        (None, "Xk3hG9aQ2mZp7LwR"),
    ] {
        let args = ["create-client", "--id", "weak", "--secret-stdin"];
        let out = admin(&t.clients, pepper, &args, secret);
        assert!(!out.status.success(), "{secret:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("too easy to guess"), "{err}");
        assert!(!err.contains(secret), "the secret is echoed: {err}");
    }
    assert!(store.get("weak").await.unwrap().is_none());
}

#[tokio::test]
async fn a_ten_year_lifetime_is_refused_by_the_cli() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoClientStore::new(db, &t.clients);
    let ten_years = (10 * 365 * 24 * 3600u64).to_string();
    for flag in [
        "--access-token-ttl",
        "--refresh-token-ttl",
        "--refresh-family-ttl",
    ] {
        let args = ["create-client", "--id", "long-lived", flag, &ten_years];
        let out = admin(&t.clients, None, &args, "");
        assert!(!out.status.success(), "{flag} {ten_years} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("may be at most"), "{err}");
    }
    let near_max = u64::MAX.to_string();
    let args = [
        "create-client",
        "--id",
        "long-lived",
        "--refresh-token-ttl",
        &near_max,
    ];
    assert!(!admin(&t.clients, None, &args, "").status.success());
    assert!(store.get("long-lived").await.unwrap().is_none());
}

/// The served token function and the admin CLI share the pepper: a secret imported through the
/// CLI logs in over HTTP, and only with the right value.
#[tokio::test]
async fn a_client_imported_with_the_pepper_logs_in_over_http() {
    let served = Served::from_env();
    let pepper = std::env::var("TOLLGATE_E2E_PEPPER")
        .expect("TOLLGATE_E2E_PEPPER: the pepper scripts/test.sh gives the served function");
    let id = tollgate_tests::unique("imported");
    let secret = "Q7wErTy9uIoP3aSd";
    let args = [
        "create-client",
        "--id",
        &id,
        "--scopes",
        "profile",
        "--default-scopes",
        "profile",
        "--secret-stdin",
    ];
    let out = admin(&served.clients_table, Some(&pepper), &args, secret);
    assert!(out.status.success(), "{out:?}");
    let demo = [
        ("grant_type", "password"),
        ("username", "demo"),
        ("password", "demo-password"),
    ];
    let ok = post_token(&served.token_url(), Some((&id, secret)), &demo).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    post_token(&served.token_url(), Some((&id, "Q7wErTy9uIoP3aSe")), &demo)
        .await
        .assert_error(401, "invalid_client");
}
