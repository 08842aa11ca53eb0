//! Creating a table from its [`TableSpec`](crate::store::tables::TableSpec) (local use: in AWS, the SAM template does).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};

use crate::store::tables::TableSpec;

#[derive(Debug, thiserror::Error)]
pub enum CreateTableError {
    #[error("failed to create table {name}")]
    Create {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("failed to enable TTL on table {name}")]
    Ttl {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Creates `name` shaped as `spec`, on-demand, with TTL enabled. An existing table is left as it is.
pub async fn create_table(
    client: &Client,
    spec: &TableSpec,
    name: &str,
) -> Result<bool, CreateTableError> {
    let create = |source: BoxError| CreateTableError::Create {
        name: name.into(),
        source,
    };
    let attr = AttributeDefinition::builder()
        .attribute_name(spec.hash_key)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| create(e.into()))?;
    let key = KeySchemaElement::builder()
        .attribute_name(spec.hash_key)
        .key_type(KeyType::Hash)
        .build()
        .map_err(|e| create(e.into()))?;
    let created = client
        .create_table()
        .table_name(name)
        .attribute_definitions(attr)
        .key_schema(key)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(false);
        }
        Err(e) => return Err(create(e.into())),
    }
    if let Some(ttl) = spec.ttl_attribute {
        enable_ttl(client, name, ttl)
            .await
            .map_err(|source| CreateTableError::Ttl {
                name: name.into(),
                source,
            })?;
    }
    Ok(true)
}

/// Turns on DynamoDB's TTL expiry of `name` by the attribute `ttl`.
async fn enable_ttl(client: &Client, name: &str, ttl: &str) -> Result<(), BoxError> {
    let spec = TimeToLiveSpecification::builder()
        .attribute_name(ttl)
        .enabled(true)
        .build()?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(spec)
        .send()
        .await?;
    Ok(())
}
