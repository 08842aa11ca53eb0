//! Per-client request counters in the lockouts table: one item per client per minute, counted
//! with one atomic `ADD` that returns the new count.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use serde::Deserialize;

use super::{answered, n, s};
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

/// The counter's attributes the `ADD` returns (`UPDATED_NEW`): the window's count.
#[derive(Debug, Deserialize)]
struct Counted {
    requests: u64,
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
        match serde_dynamo::from_item::<_, Counted>(item) {
            Ok(c) => Ok(c.requests),
            Err(e) => Err(unavailable(std::io::Error::other(format!(
                "the counter update returned no count: {e}"
            )))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::dynamo::Item;

    #[test]
    fn the_count_is_read_from_the_attributes_the_add_returns() {
        let item = Item::from([("requests".into(), n(7))]);
        let counted: Counted = serde_dynamo::from_item(item).unwrap();
        assert_eq!(counted.requests, 7);
        assert!(serde_dynamo::from_item::<_, Counted>(Item::new()).is_err());
    }
}
