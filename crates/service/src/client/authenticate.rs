//! Client authentication (RFC 6749 §2.3.1): the credentials as presented, and the checks that
//! turn them into a client record, or a refusal whose reason only the log sees.

use serde::{Deserialize, Serialize};
use tollgate_oauth::error::OAuthError;
use tollgate_oauth::secret::{Secret, SecretHasher};

use super::{Client, ClientStore, ClientStoreError, is_valid_client_id};

/// Client credentials as presented, before they are checked: the id and the secret, or, for a
/// public client (RFC 6749 §2.1, §3.2.1), the id alone. `Debug` shows only a short hash of the
/// id: until it is authenticated it may be anything, even a secret.
#[derive(Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<Secret>,
}

impl ClientCredentials {
    /// The presented client_id as every log and audit line names it until the client has
    /// authenticated: only as a short hash, because it may be anything (even a secret pasted into
    /// the wrong field). The one place that decides it; repeated probes still correlate.
    pub fn id_hash(&self) -> String {
        tollgate_telemetry::hash::short_hash(&self.client_id)
    }
}

/// A client's second secret during a rotation (`rotate-client-secret --keep-old`): the hash of
/// the secret being replaced, accepted beside the new one until an operator retires it or
/// `retire_at` (seconds since the epoch) passes. Stored as one map attribute,
/// `previous_secret: {hash, retire_at}`, so that dropping it is one `REMOVE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecret {
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_at: Option<u64>,
}

impl PreviousSecret {
    /// Whether it is still accepted at `now`.
    pub fn active_at(&self, now: u64) -> bool {
        self.retire_at.is_none_or(|t| now < t)
    }
}

/// Authenticates a client against plain `sha256:` hashes (no pepper). See [`authenticate_with`].
pub async fn authenticate(
    store: &dyn ClientStore,
    creds: &ClientCredentials,
) -> Result<Client, AuthenticateError> {
    authenticate_with(store, &SecretHasher::default(), creds).await
}

/// Authenticates a client (RFC 6749 §2.3.1) at the system clock's time. See [`authenticate_at`].
pub async fn authenticate_with(
    store: &dyn ClientStore,
    hasher: &SecretHasher,
    creds: &ClientCredentials,
) -> Result<Client, AuthenticateError> {
    use tollgate_oauth::clock::Clock;
    authenticate_at(
        store,
        hasher,
        creds,
        tollgate_oauth::clock::SystemClock.now(),
    )
    .await
}

/// Authenticates a client (RFC 6749 §2.3.1) at `now`. Unknown, disabled and wrong-secret
/// clients are all the same `invalid_client` to the caller; the reason goes to the log. A
/// client_id that no client can have (see [`is_valid_client_id`]) is refused before any lookup.
/// Without a secret only a public client passes; every other id hears that a secret is needed,
/// so an id alone tells no one whether it names a client.
pub async fn authenticate_at(
    store: &dyn ClientStore,
    hasher: &SecretHasher,
    creds: &ClientCredentials,
    now: u64,
) -> Result<Client, AuthenticateError> {
    let Some(secret) = &creds.secret else {
        return identify_public(store, &creds.client_id).await;
    };
    if !is_valid_client_id(&creds.client_id) {
        let _ = secret_matches(hasher, secret, None, now);
        return Err(AuthenticateError::Rejected(ClientRejection::Malformed));
    }
    let client = store
        .get(&creds.client_id)
        .await
        .map_err(AuthenticateError::Store)?;
    let Some(client) = client else {
        let _ = secret_matches(hasher, secret, None, now);
        return Err(AuthenticateError::Rejected(ClientRejection::Unknown));
    };
    // A public client has no secret: whatever is sent as one is wrong.
    if client.public || !secret_matches(hasher, secret, Some(&client), now) {
        return Err(AuthenticateError::Rejected(ClientRejection::WrongSecret));
    }
    if !client.enabled {
        return Err(AuthenticateError::Rejected(ClientRejection::Disabled));
    }
    Ok(client)
}

/// A client that presented only its id: an enabled public client, else refused as missing its
/// secret (an unknown id the same as a confidential client's).
async fn identify_public(
    store: &dyn ClientStore,
    client_id: &str,
) -> Result<Client, AuthenticateError> {
    let missing = AuthenticateError::Rejected(ClientRejection::NoSecret);
    if !is_valid_client_id(client_id) {
        return Err(missing);
    }
    match store
        .get(client_id)
        .await
        .map_err(AuthenticateError::Store)?
    {
        Some(c) if c.public && c.enabled => Ok(c),
        Some(c) if c.public => Err(AuthenticateError::Rejected(ClientRejection::Disabled)),
        _ => Err(missing),
    }
}

/// Whether `secret` is the client's current secret or its previous one still in its grace
/// period. Always exactly two constant-time checks (a hash no secret matches, of the kind new
/// hashes are, stands in for a missing client or previous secret), so neither an unknown
/// client nor a client without a second secret is quicker to refuse.
fn secret_matches(
    hasher: &SecretHasher,
    secret: &Secret,
    client: Option<&Client>,
    now: u64,
) -> bool {
    let unmatchable = hasher.unmatchable();
    let current = client.map_or(unmatchable, |c| c.secret_hash.as_str());
    let previous = client
        .and_then(|c| c.previous_secret.as_ref())
        .filter(|p| p.active_at(now))
        .map_or(unmatchable, |p| p.hash.as_str());
    let a = hasher.verify(secret, current);
    let b = hasher.verify(secret, previous);
    a | b
}

/// Why a client was refused; for the log only, the client always hears `invalid_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRejection {
    /// Not a client_id any client can have (length or characters).
    Malformed,
    Unknown,
    WrongSecret,
    Disabled,
    /// Only an id, and it names no public client.
    NoSecret,
}

impl std::fmt::Display for ClientRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed client_id",
            Self::Unknown => "unknown client",
            Self::WrongSecret => "wrong client secret",
            Self::Disabled => "client disabled",
            Self::NoSecret => "no client secret",
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

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id_hash", &self.id_hash())
            .field("secret", &self.secret)
            .finish()
    }
}

impl AuthenticateError {
    pub fn to_oauth(&self) -> OAuthError {
        match self {
            Self::Rejected(ClientRejection::NoSecret) => {
                OAuthError::invalid_client("client_secret is required")
            }
            Self::Rejected(_) => OAuthError::invalid_client("client authentication failed"),
            Self::Store(_) => OAuthError::unavailable(),
        }
    }
}
