//! The HTTP adapter of the user-status check (docs/auth-endpoint.md, "User status"): the same
//! client settings, timeouts and credential as the auth endpoint's, with `sub` instead of a
//! password.

use async_trait::async_trait;

use super::auth_http::{AuthEndpointConfig, AuthEndpointSetupError, Endpoint, classify, read_body};
use crate::password::AuthEndpointError;
use crate::user_status::{UserDirectory, UserStatus, parse_status};

/// `POST {"sub", "client_id"}` to `USER_STATUS_URL`: `200` with the user's details, `404` or
/// `410` gone, `403` or `423` disabled; anything else is the endpoint failing.
pub struct HttpUserDirectory {
    endpoint: Endpoint,
}

impl HttpUserDirectory {
    pub fn new(cfg: &AuthEndpointConfig) -> Result<Self, AuthEndpointSetupError> {
        Ok(Self {
            endpoint: Endpoint::new(cfg)?,
        })
    }
}

#[async_trait]
impl UserDirectory for HttpUserDirectory {
    async fn status(&self, sub: &str, client_id: &str) -> Result<UserStatus, AuthEndpointError> {
        let body = serde_json::json!({ "sub": sub, "client_id": client_id });
        let resp = self.endpoint.post(&body).send().await.map_err(classify)?;
        match resp.status().as_u16() {
            200 => {}
            404 | 410 => return Ok(UserStatus::Gone),
            403 | 423 => return Ok(UserStatus::Disabled),
            other => return Err(AuthEndpointError::UnexpectedStatus(other)),
        }
        let bytes = read_body(resp).await?;
        parse_status(&bytes, sub)
    }
}
