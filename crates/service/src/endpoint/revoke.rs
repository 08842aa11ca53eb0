//! Revocation (RFC 7009): a client revokes the refresh-token family of a token it owns.

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::OAuthError;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;
use tracing::{info, warn};

use crate::client::Client;
use crate::client::ClientCredentials;
use crate::endpoint::{Answer, Handled, TokenService, store_unavailable};
use crate::error::TokenError;

/// `POST /revoke` (RFC 7009 §2.1) after form parsing: the client's credentials and the token.
/// `token_type_hint` is not kept: only refresh tokens are stored, so every token is looked up the
/// same way whatever the hint says (§2.1 lets a server ignore it). `Debug` hides the token.
#[derive(Debug)]
pub struct RevocationRequest {
    pub credentials: Option<ClientCredentials>,
    /// Absent is `invalid_request`, told only to a client that authenticated.
    pub token: Option<Secret>,
}

impl TokenService {
    /// RFC 7009 without a deadline (tests and tools).
    /// The answer as the client sees it.
    pub async fn revoke(&self, req: &RevocationRequest) -> Result<(), OAuthError> {
        self.handle_revoke(req, Deadline::none())
            .await
            .result
            .map_err(|e| e.to_oauth())
    }

    /// RFC 7009. The client must authenticate; a refresh token it owns has its whole family
    /// revoked. Unknown tokens, tokens of other clients, and access tokens (short-lived JWTs,
    /// not stored) are accepted without effect, so the answer reveals nothing.
    pub async fn handle_revoke(&self, req: &RevocationRequest, deadline: Deadline) -> Handled<()> {
        let client = match self.authenticate(req.credentials.as_ref(), deadline).await {
            Ok(c) => c,
            Err(e) => return Handled::unauthenticated(e),
        };
        let result = self.revoke_for(&client, req, deadline).await;
        Handled {
            client_id: Some(client.client_id),
            answer: Answer::default(),
            result,
        }
    }

    async fn revoke_for(
        &self,
        client: &Client,
        req: &RevocationRequest,
        deadline: Deadline,
    ) -> Result<(), TokenError> {
        let Some(token) = &req.token else {
            return Err(OAuthError::invalid_request("token is required").into());
        };
        let now = self.clock.now();
        let hash = token.hash();
        let lookup = self.refresh.get_token(&hash);
        match self
            .within(deadline, "refresh-token store", lookup)
            .await?
            .map_err(store_unavailable)?
        {
            Some(t) if t.grant.client_id == client.client_id => {
                self.revoke_family(&t.family_id, now, deadline).await?;
                info!(client_id = %client.client_id, family = %t.family_id, "refresh-token family revoked");
                observe::event(&Event::TokenRevoked {
                    client_id: &client.client_id,
                    family: &t.family_id,
                });
            }
            Some(_) => {
                warn!(client_id = %client.client_id, "revocation of another client's token ignored")
            }
            None => {}
        }
        Ok(())
    }
}
