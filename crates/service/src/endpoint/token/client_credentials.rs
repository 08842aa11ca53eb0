//! The client-credentials grant (RFC 6749 §4.4): a machine client, already authenticated by
//! `TokenService::client`, gets an access token for itself. No user, so no user claims and no
//! outbound call; no refresh token (§4.4.3): the client authenticates again instead.

use serde_json::Map;
use tollgate_oauth::access_token::AccessTokenClaims;
use tollgate_oauth::error::{ErrorCode, OAuthError};
use tollgate_oauth::scope::Scopes;

use super::TokenResponse;
use crate::client::{Client, GrantType};
use crate::endpoint::TokenService;
use crate::error::{Internal, TokenError};

impl TokenService {
    /// `sub` is the client's own id (RFC 9068 §2.2); the scope rules are the password grant's.
    /// A record that also allows a user grant (written past the admin CLI's rules) is refused:
    /// its `sub` could then be a user's as well as the machine's.
    pub(super) fn client_credentials_grant(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        if client
            .grant_types
            .iter()
            .any(|g| *g != GrantType::ClientCredentials)
        {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "client_credentials is allowed only to a client with no other grant",
            )
            .into());
        }
        let scope = Scopes::resolve(scope, &client.allowed_scopes, &client.default_scopes)?;
        let now = self.clock.now();
        let ttl = self.lifetimes(client).access_token;
        let access = self
            .issuer
            .issue(&AccessTokenClaims {
                sub: &client.client_id,
                client_id: &client.client_id,
                sid: None,
                scope: &scope,
                details: &Map::new(),
                auth_time: now,
                now,
                ttl,
            })
            .map_err(|e| TokenError::Internal(Internal::Signing(Box::new(e))))?;
        Ok(TokenResponse {
            access_token: access.token,
            expires_in: access.expires_in,
            issued_at: now,
            refresh_token_expires_in: None,
            refresh_token: None,
            scope,
            id_token: None,
        })
    }
}
