//! The AWS SDK's configuration, loaded once at cold start. Each call attempt is bounded, so a
//! slow AWS service becomes a quick 503, not a Lambda timeout.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Region, credentials and endpoints from the environment (`AWS_ENDPOINT_URL_DYNAMODB` points
/// DynamoDB at DynamoDB Local), with `operation_timeout` on every call.
pub async fn sdk_config(operation_timeout: Duration) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(operation_timeout / 2)
        .operation_timeout(operation_timeout)
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}
