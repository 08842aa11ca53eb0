//! Refresh tokens: opaque random strings whose SHA-256 is the only thing stored.
//!
//! Every password grant starts a *family*: the chain of refresh tokens that descend from it.
//! The family record holds the hash of the one live token, so rotation (swap the live hash,
//! conditionally) and reuse detection (a retired token names its family, which is then revoked)
//! are single conditional writes, never read-then-write.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::scope::Scopes;

/// What a refresh token stands for: enough to issue the same access token again.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshGrant {
    pub client_id: String,
    pub sub: String,
    pub scope: Scopes,
    /// The user details the auth endpoint returned, already filtered by the allow-list.
    pub details: Map<String, Value>,
    /// When the user last proved their password (RFC 9068 `auth_time`).
    pub auth_time: u64,
}

/// A new family with its first token, written atomically.
#[derive(Debug, Clone)]
pub struct NewFamily {
    pub family_id: String,
    pub token_hash: String,
    pub grant: RefreshGrant,
    pub issued_at: u64,
    pub token_expires_at: u64,
    pub family_expires_at: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshStoreError {
    #[error("failed to write refresh token")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("refresh token record is malformed: {0}")]
    Malformed(String),
}

#[async_trait]
pub trait RefreshStore: Send + Sync {
    /// Stores a new family and its first token in one transaction.
    async fn create_family(&self, family: &NewFamily) -> Result<(), RefreshStoreError>;
}
