//! The HTTP adapter of the user-status check (docs/auth-endpoint.md, "User status"): the same
//! client settings, TLS stack, timeouts and credential as the auth endpoint's, with `sub`
//! instead of a password.

use async_trait::async_trait;

use super::auth_endpoint::{AuthEndpointConfig, AuthEndpointSetupError, Endpoint};
use super::tls::Https;
use crate::password::AuthEndpointError;
use crate::user_status::{UserDirectory, UserStatus, parse_status};

/// `POST {"sub", "client_id"}` to `USER_STATUS_URL`: `200` with the user's details, `404` or
/// `410` gone, `403` or `423` disabled; anything else is the endpoint failing.
pub struct HttpUserDirectory {
    endpoint: Endpoint,
}

impl HttpUserDirectory {
    /// A directory on its own connector: compiled-in roots, the configured connect timeout.
    pub fn new(cfg: &AuthEndpointConfig) -> Result<Self, AuthEndpointSetupError> {
        Ok(Self {
            endpoint: Endpoint::new(cfg)?,
        })
    }

    /// A directory sending through `https` (the auth endpoint's connector, shared).
    pub fn with_connector(
        cfg: &AuthEndpointConfig,
        https: Https,
    ) -> Result<Self, AuthEndpointSetupError> {
        Ok(Self {
            endpoint: Endpoint::with_connector(cfg, https)?,
        })
    }
}

#[async_trait]
impl UserDirectory for HttpUserDirectory {
    async fn status(&self, sub: &str, client_id: &str) -> Result<UserStatus, AuthEndpointError> {
        let body = serde_json::json!({ "sub": sub, "client_id": client_id });
        match self.endpoint.post_json(&body).await? {
            (200, bytes) => parse_status(&bytes, sub),
            (404 | 410, _) => Ok(UserStatus::Gone),
            (403 | 423, _) => Ok(UserStatus::Disabled),
            (other, _) => Err(AuthEndpointError::UnexpectedStatus(other)),
        }
    }
}
