//! The DynamoDB tables Tollgate uses: one definition, read by the admin CLI that creates them
//! locally, by the adapters, and by the test that checks `template.yaml` agrees.

/// One table's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The resource name in `template.yaml`.
    pub logical_id: &'static str,
    /// The environment variable that carries the deployed table's name.
    pub env_var: &'static str,
    /// The string partition key; no table has a sort key.
    pub hash_key: &'static str,
    /// The attribute DynamoDB TTL deletes expired items by (epoch seconds).
    pub ttl_attribute: Option<&'static str>,
}

pub const CLIENTS: TableSpec = TableSpec {
    logical_id: "ClientsTable",
    env_var: "CLIENTS_TABLE",
    hash_key: "client_id",
    ttl_attribute: None,
};
pub const TOKENS: TableSpec = TableSpec {
    logical_id: "TokensTable",
    env_var: "TOKENS_TABLE",
    hash_key: "pk",
    ttl_attribute: Some("expires_at"),
};
pub const LOCKOUTS: TableSpec = TableSpec {
    logical_id: "LockoutsTable",
    env_var: "LOCKOUTS_TABLE",
    hash_key: "pk",
    ttl_attribute: Some("expires_at"),
};

pub const ALL: [TableSpec; 3] = [CLIENTS, TOKENS, LOCKOUTS];

#[cfg(feature = "aws")]
pub use super::dynamo::tables::{CreateTableError, create_table};
