//! Per-client request counters in the lockouts table: one item per client per minute, counted
//! with one atomic `ADD` that returns the new count.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use super::{answered, get_n, n, s};
use crate::rate_limit::{RateLimitStore, RateLimitStoreError, Window};

/// Request counters keyed by `pk` = [`rate_limit_key`], in the lockouts table beside the
/// login-failure counters (whose keys are `sha256:` hashes, so the two never meet): `requests`
/// counted in the window, and `expires_at` for DynamoDB's TTL.
#[derive(Debug, Clone)]
pub struct DynamoRateLimitStore {
    client: Client,
    table: String,
}

impl DynamoRateLimitStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// The item a counter's window is counted in: `rate#<client_id>#<fingerprint>#<window start>`.
pub fn rate_limit_key(counter: &str, window: Window) -> String {
    format!("rate#{counter}#{}", window.start)
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> RateLimitStoreError {
    RateLimitStoreError::Unavailable(Box::new(e))
}

#[async_trait]
impl RateLimitStore for DynamoRateLimitStore {
    async fn count(&self, counter: &str, window: Window) -> Result<u64, RateLimitStoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(rate_limit_key(counter, window)))
            .update_expression("ADD requests :one SET expires_at = :exp")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(window.expires_at()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| {
                if answered(&e) {
                    unavailable(e)
                } else {
                    RateLimitStoreError::OutcomeUnknown(Box::new(e))
                }
            })?;
        let item = out.attributes.unwrap_or_default();
        match get_n(&item, "requests") {
            Ok(Some(count)) => Ok(count),
            Ok(None) => Err(unavailable(std::io::Error::other(
                "the counter update returned no count",
            ))),
            Err(why) => Err(unavailable(std::io::Error::other(why))),
        }
    }
}
