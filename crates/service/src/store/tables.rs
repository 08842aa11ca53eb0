//! The DynamoDB tables Tollgate uses: one definition, read by the admin CLI that creates them
//! locally, by the adapters, and by the test that checks `template.yaml` agrees.

/// One table's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The resource name in `template.yaml`.
    pub logical_id: &'static str,
    /// The environment variable that carries the deployed table's name.
    pub env_var: &'static str,
    /// The string partition key; no table has a sort key (an index may).
    pub hash_key: &'static str,
    /// The attribute DynamoDB TTL deletes expired items by (epoch seconds).
    pub ttl_attribute: Option<&'static str>,
    /// Global secondary indexes (string keys, every attribute projected).
    pub indexes: &'static [IndexSpec],
}

/// One global secondary index. Sparse: only items that carry its key attributes are in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: &'static str,
    pub hash_key: &'static str,
    pub range_key: Option<&'static str>,
}

/// Sessions (refresh-token families) by user or by client, in one sparse index (CloudFormation
/// adds at most one index to an existing table per update). A family item is keyed
/// `sub#<sha256 of sub>` / `client#<client_id>#<family>`; a small `session#<family>` item beside
/// it is keyed `client#<client_id>` / `family#<family>`. Tokens carry neither attribute.
pub const SESSIONS: IndexSpec = IndexSpec {
    name: "sessions",
    hash_key: "session_pk",
    range_key: Some("session_sk"),
};

pub const CLIENTS: TableSpec = TableSpec {
    logical_id: "ClientsTable",
    env_var: "CLIENTS_TABLE",
    hash_key: "client_id",
    ttl_attribute: None,
    indexes: &[],
};
pub const TOKENS: TableSpec = TableSpec {
    logical_id: "TokensTable",
    env_var: "TOKENS_TABLE",
    hash_key: "pk",
    ttl_attribute: Some("expires_at"),
    indexes: &[SESSIONS],
};
pub const LOCKOUTS: TableSpec = TableSpec {
    logical_id: "LockoutsTable",
    env_var: "LOCKOUTS_TABLE",
    hash_key: "pk",
    ttl_attribute: Some("expires_at"),
    indexes: &[],
};

pub const ALL: [TableSpec; 3] = [CLIENTS, TOKENS, LOCKOUTS];
