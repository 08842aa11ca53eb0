//! OAuth clients: the record kept in DynamoDB, the grant types, and client authentication.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::OAuthError;
use crate::scope::Scopes;
use crate::secret::Secret;

/// The grant types a client record may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GrantType {
    #[serde(rename = "password")]
    Password,
    #[serde(rename = "refresh_token")]
    RefreshToken,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password" => Some(Self::Password),
            "refresh_token" => Some(Self::RefreshToken),
            _ => None,
        }
    }
}

/// A confidential client, as stored. Only the hash of its secret is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub enabled: bool,
    pub grant_types: Vec<GrantType>,
    pub allowed_scopes: Scopes,
    pub default_scopes: Scopes,
    /// Overrides of the deployment's lifetimes, in seconds.
    pub access_token_ttl: Option<u64>,
    pub refresh_token_ttl: Option<u64>,
    pub refresh_family_ttl: Option<u64>,
    pub created_at: u64,
}

impl Client {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// Failures of a client store. The source is kept so throttling stays distinguishable.
#[derive(Debug, thiserror::Error)]
pub enum ClientStoreError {
    #[error("failed to read client record")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("client record is malformed: {0}")]
    Malformed(String),
    #[error("client already exists")]
    AlreadyExists,
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn get(&self, client_id: &str) -> Result<Option<Client>, ClientStoreError>;
    /// Creates the record; fails with `AlreadyExists` rather than overwrite.
    async fn create(&self, client: &Client) -> Result<(), ClientStoreError>;
}

/// Client credentials as presented, before they are checked.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Secret,
    /// Whether they came in an `Authorization: Basic` header (the 401 then carries
    /// `WWW-Authenticate: Basic`, RFC 6749 §5.2).
    pub via_basic: bool,
}

/// A hash that no secret matches, compared against when the client does not exist so that an
/// unknown client takes as long to refuse as a wrong secret.
const NO_CLIENT_HASH: &str = "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Authenticates a client (RFC 6749 §2.3.1). Unknown, disabled and wrong-secret clients are all
/// the same `invalid_client` to the caller; the reason goes to the log.
pub async fn authenticate(
    store: &dyn ClientStore,
    creds: &ClientCredentials,
) -> Result<Client, AuthenticateError> {
    let client = store
        .get(&creds.client_id)
        .await
        .map_err(AuthenticateError::Store)?;
    let Some(client) = client else {
        let _ = creds.secret.matches(NO_CLIENT_HASH);
        return Err(AuthenticateError::Rejected(ClientRejection::Unknown));
    };
    if !creds.secret.matches(&client.secret_hash) {
        return Err(AuthenticateError::Rejected(ClientRejection::WrongSecret));
    }
    if !client.enabled {
        return Err(AuthenticateError::Rejected(ClientRejection::Disabled));
    }
    Ok(client)
}

/// Why a client was refused; for the log only, the client always hears `invalid_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRejection {
    Unknown,
    WrongSecret,
    Disabled,
}

impl std::fmt::Display for ClientRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unknown => "unknown client",
            Self::WrongSecret => "wrong client secret",
            Self::Disabled => "client disabled",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// The credentials are not good; the reason is for the log only.
    #[error("client authentication failed: {0}")]
    Rejected(ClientRejection),
    #[error(transparent)]
    Store(ClientStoreError),
}

impl AuthenticateError {
    pub fn to_oauth(&self) -> OAuthError {
        match self {
            Self::Rejected(_) => OAuthError::invalid_client("client authentication failed"),
            Self::Store(_) => OAuthError::unavailable(),
        }
    }
}
