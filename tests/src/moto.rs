//! Secrets Manager on moto's server (a local Secrets Manager), through the adapter the token
//! function reads its secrets with at cold start.

use std::time::Duration;

use tollgate_service::adapters::aws::sdk::{CONNECT_TIMEOUT, sdk_config_on};
use tollgate_service::adapters::aws::secrets_manager::SecretsManager;
use tollgate_service::adapters::http::sdk_http::sdk_http_client;
use tollgate_service::adapters::http::tls::{https_connector, root_store};

const HOW_TO_START: &str = "moto's server (a local Secrets Manager) is needed. Run `make test` \
(it starts everything), or `source scripts/lib.sh && ensure_moto && start_moto 5000` and export \
AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:5000 before `cargo test`";

/// The SDK configuration the token function builds, on its own HTTP/TLS stack, pointed at
/// `endpoint` with local credentials and the given operation timeout.
pub async fn local_config(endpoint: &str, timeout: Duration) -> aws_config::SdkConfig {
    let roots = root_store(None).expect("the system's root certificates");
    let https = https_connector(roots, CONNECT_TIMEOUT).expect("an HTTPS connector");
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
pub async fn secrets() -> (SecretsManager, aws_sdk_secretsmanager::Client) {
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
