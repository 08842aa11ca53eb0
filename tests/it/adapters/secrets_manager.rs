//! The Secrets Manager adapter against moto's server (a local Secrets Manager), on the token
//! function's own HTTP/TLS stack (`sdk_http` over `tls`): what the token function reads its
//! signing key, pepper and auth-endpoint credential with at cold start.

use std::time::Duration;

use aws_sdk_secretsmanager::primitives::Blob;
use tollgate_oauth::secret::Secret;
use tollgate_service::adapters::aws::secrets_manager::{SecretsError, SecretsManager};
use tollgate_tests::moto::{local_config, secrets};
use tollgate_tests::unique;

#[tokio::test]
async fn a_created_secret_reads_back_and_is_never_overwritten() {
    let (sm, _) = secrets().await;
    let name = unique("signing-key");
    let value = Secret::new("-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n");
    let arn = sm.create(&name, &value, "test key").await.unwrap();
    assert!(arn.contains(&name), "{arn}");
    assert_eq!(sm.read(&name).await.unwrap().expose(), value.expose());
    assert_eq!(sm.read(&arn).await.unwrap().expose(), value.expose());
    let again = sm.create(&name, &Secret::new("other"), "x").await;
    assert!(
        matches!(again, Err(SecretsError::AlreadyExists { .. })),
        "{again:?}"
    );
    assert_eq!(sm.read(&name).await.unwrap().expose(), value.expose());
}

#[tokio::test]
async fn a_missing_secret_is_a_read_error_naming_it() {
    let (sm, _) = secrets().await;
    let name = unique("missing");
    let err = sm.read(&name).await.unwrap_err();
    assert!(matches!(err, SecretsError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains(&name), "{err}");
}

#[tokio::test]
async fn a_binary_secret_is_refused_without_its_value() {
    let (sm, raw) = secrets().await;
    let name = unique("binary");
    raw.create_secret()
        .name(&name)
        .secret_binary(Blob::new(b"binary-secret-bytes".to_vec()))
        .send()
        .await
        .unwrap();
    let err = sm.read(&name).await.unwrap_err();
    assert!(matches!(err, SecretsError::NotText { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("binary-secret-bytes"));
}

#[tokio::test]
async fn an_unreachable_secrets_manager_is_a_read_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let cfg = local_config(&url, Duration::from_secs(2)).await;
    let err = SecretsManager::new(&cfg).read("any").await.unwrap_err();
    assert!(matches!(err, SecretsError::Read { .. }), "{err:?}");
}
