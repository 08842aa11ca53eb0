//! The Secrets Manager adapter against moto's server (a local Secrets Manager), on the token
//! function's own HTTP/TLS stack (`sdk_http` over `tls`): what the token function reads its
//! signing key, pepper and auth-endpoint credential with at cold start.

use std::time::Duration;

use aws_sdk_secretsmanager::primitives::Blob;
use tollgate_oauth::secret::Secret;
use tollgate_service::adapters::aws::sdk::{CONNECT_TIMEOUT, sdk_config_on};
use tollgate_service::adapters::aws::secrets_manager::{SecretsError, SecretsManager};
use tollgate_service::adapters::http::sdk_http::sdk_http_client;
use tollgate_service::adapters::http::tls::{https_connector, root_store};
use tollgate_tests::unique;

const HOW_TO_START: &str = "moto's server (a local Secrets Manager) is needed. Run `make test` \
(it starts everything), or `source scripts/lib.sh && ensure_moto && start_moto 5000` and export \
AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:5000 before `cargo test`";

/// The SDK configuration the token function builds, on its own HTTP/TLS stack, pointed at
/// `endpoint` with local credentials and the given operation timeout.
async fn local_config(endpoint: &str, timeout: Duration) -> aws_config::SdkConfig {
    let https = https_connector(root_store(None).unwrap(), CONNECT_TIMEOUT).unwrap();
    sdk_config_on(timeout, sdk_http_client(https))
        .await
        .to_builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(
            aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(
                aws_sdk_secretsmanager::config::Credentials::new(
                    "local", "local", None, None, "tests",
                ),
            ),
        )
        .endpoint_url(endpoint)
        .build()
}

/// The adapter on the token function's stack, pointed at moto; panics with instructions when
/// moto is not there.
pub(crate) async fn secrets() -> (SecretsManager, aws_sdk_secretsmanager::Client) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        .unwrap_or_else(|_| panic!("{HOW_TO_START}"));
    let cfg = local_config(&endpoint, Duration::from_secs(5)).await;
    let raw = aws_sdk_secretsmanager::Client::new(&cfg);
    let probe = tokio::time::timeout(Duration::from_secs(10), raw.list_secrets().send()).await;
    match probe {
        Ok(Ok(_)) => (SecretsManager::new(&cfg), raw),
        Ok(Err(e)) => panic!("moto at {endpoint} failed: {e:?}. {HOW_TO_START}"),
        Err(_) => panic!("moto at {endpoint} did not answer in 10 s. {HOW_TO_START}"),
    }
}

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
