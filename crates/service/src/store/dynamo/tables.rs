//! Creating a table from its [`TableSpec`](crate::store::tables::TableSpec) (local use: in AWS, the SAM template does).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use crate::store::tables::{IndexSpec, TableSpec};

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
    let key = key_element(spec.hash_key, KeyType::Hash).map_err(create)?;
    let indexes = spec
        .indexes
        .iter()
        .map(index)
        .collect::<Result<Vec<_>, _>>()
        .map_err(create)?;
    let created = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes(spec).map_err(create)?))
        .key_schema(key)
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
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

/// Every key attribute of the table and its indexes, once each, as strings.
fn attributes(spec: &TableSpec) -> Result<Vec<AttributeDefinition>, BoxError> {
    let mut names = vec![spec.hash_key];
    for i in spec.indexes {
        names.extend([Some(i.hash_key), i.range_key].into_iter().flatten());
    }
    let mut seen = Vec::new();
    for n in names {
        if !seen
            .iter()
            .any(|d: &AttributeDefinition| d.attribute_name() == n)
        {
            seen.push(
                AttributeDefinition::builder()
                    .attribute_name(n)
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            );
        }
    }
    Ok(seen)
}

fn key_element(name: &str, key_type: KeyType) -> Result<KeySchemaElement, BoxError> {
    Ok(KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()?)
}

/// A global secondary index projecting every attribute.
fn index(i: &IndexSpec) -> Result<GlobalSecondaryIndex, BoxError> {
    let mut keys = vec![key_element(i.hash_key, KeyType::Hash)?];
    if let Some(range) = i.range_key {
        keys.push(key_element(range, KeyType::Range)?);
    }
    Ok(GlobalSecondaryIndex::builder()
        .index_name(i.name)
        .set_key_schema(Some(keys))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()?)
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
