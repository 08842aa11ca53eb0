//! The AWS SDK's configuration, loaded once at cold start. Each call attempt is bounded, so a
//! slow AWS service becomes a quick 503, not a Lambda timeout.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Region, credentials and endpoints from the environment (`AWS_ENDPOINT_URL_DYNAMODB` points
/// DynamoDB at DynamoDB Local), with `operation_timeout` on every call.
/// On the SDK's own HTTP client (the system trust store): the admin CLI on an operator's machine.
pub async fn sdk_config(operation_timeout: Duration) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts(operation_timeout))
        .load()
        .await
}

/// The same, sending through `http` (the token function's one TLS stack, `tls::Https`, whose
/// connector carries the connect timeout).
#[cfg(feature = "http")]
pub async fn sdk_config_on(
    operation_timeout: Duration,
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts(operation_timeout))
        .http_client(http)
        .load()
        .await
}

/// TCP connect within a second; each attempt within half the operation's bound.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

fn timeouts(operation_timeout: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(operation_timeout / 2)
        .operation_timeout(operation_timeout)
        .build()
}
