//! DynamoDB adapters for the stores, one file per store. The same code runs in AWS and against
//! DynamoDB Local: `AWS_ENDPOINT_URL_DYNAMODB` points the SDK at the local server.

mod clients;
mod lockout;
mod rate_limit;
mod refresh;
mod revocations;
pub mod tables;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

pub use clients::{DynamoClientStore, client_from_item, client_to_item};
pub use lockout::{CounterItem, DynamoLockoutStore};
pub use rate_limit::{DynamoRateLimitStore, rate_limit_key};
pub use refresh::{DynamoRefreshStore, Indexed, code_key, family_key, legacy_key, token_key};
pub use revocations::{DynamoRevocationStore, RESTAMP_AFTER_MS};
pub use tables::{CreateTableError, create_table};

pub(super) type Item = HashMap<String, AttributeValue>;
pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub use aws_sdk_dynamodb::Client as DynamoClient;

/// A DynamoDB client on the shared SDK configuration (`sdk::sdk_config`), built once at cold start.
pub async fn sdk_client(operation_timeout: Duration) -> Client {
    Client::new(&crate::adapters::aws::sdk::sdk_config(operation_timeout).await)
}

/// Whether a call failed only because its condition did not hold (as opposed to a throttle,
/// a timeout or anything else that makes DynamoDB unavailable).
pub(super) fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

/// A failed write, told apart by whether it may have been applied: DynamoDB answered with an
/// error (nothing was written: `Unavailable`), or no answer came back, a timeout, a dropped
/// connection or an answer that could not be read (the write may have landed: `OutcomeUnknown`).
pub(super) fn write_failed<E, R>(e: SdkError<E, R>) -> crate::refresh::RefreshStoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use crate::refresh::RefreshStoreError::{OutcomeUnknown, Unavailable};
    if answered(&e) {
        Unavailable(e.into())
    } else {
        OutcomeUnknown(e.into())
    }
}

/// Whether DynamoDB answered a failed call (an error it sent, or a request never sent), as
/// opposed to no answer at all, after which a write may have been applied.
pub(super) fn answered<E, R>(e: &SdkError<E, R>) -> bool {
    matches!(
        e,
        SdkError::ServiceError(_) | SdkError::ConstructionFailure(_)
    )
}

/// A string and a number as `UpdateItem` and `Query` expression values (the items themselves
/// are written and read through their serde shapes).
pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
