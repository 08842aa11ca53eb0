//! The HTTP adapter of the legacy refresh endpoint (docs/apigee-migration.md, "Users keep their
//! sessions"): the auth endpoint's client settings, TLS stack (its private CA included) and
//! timeouts, its own URL and shared credential.

use async_trait::async_trait;

use super::auth_endpoint::{AuthEndpointConfig, AuthEndpointSetupError, Endpoint};
use super::tls::Https;
use crate::legacy::{LegacyAnswer, LegacyRefresh, parse_answer};
use crate::password::AuthEndpointError;

/// The header the shared credential travels in.
pub const CREDENTIAL_HEADER: &str = "x-api-key";

/// `POST {"refresh_token", "client_id"}` to `LEGACY_REFRESH_URL` with the shared credential:
/// `200 {sub, details, scope}` the user, `4xx` a refusal, except `401` (the endpoint refused
/// Tollgate's credential, which says nothing about the token); anything else is the endpoint
/// failing.
pub struct HttpLegacyRefresh {
    endpoint: Endpoint,
}

impl HttpLegacyRefresh {
    /// An adapter sending through `https` (the auth endpoint's connector, shared). `cfg`'s
    /// credential is the legacy endpoint's, in [`CREDENTIAL_HEADER`].
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
impl LegacyRefresh for HttpLegacyRefresh {
    async fn redeem(
        &self,
        token: &tollgate_oauth::secret::Secret,
        client_id: &str,
    ) -> Result<LegacyAnswer, AuthEndpointError> {
        let body = serde_json::json!({ "refresh_token": token.expose(), "client_id": client_id });
        match self.endpoint.post_json(&body).await? {
            (200, bytes) => parse_answer(&bytes).map(LegacyAnswer::Valid),
            (401, _) => Err(AuthEndpointError::UnexpectedStatus(401)),
            (status @ 400..=499, _) => Ok(LegacyAnswer::Refused(status)),
            (other, _) => Err(AuthEndpointError::UnexpectedStatus(other)),
        }
    }
}
