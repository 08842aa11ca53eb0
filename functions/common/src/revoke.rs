//! Revocation (RFC 7009): a client revokes the refresh-token family of a token it owns.

use tracing::{info, warn};

use crate::audit::Event;
use crate::client::Client;
use crate::clock::Deadline;
use crate::error::{OAuthError, TokenError};
use crate::grant::{Answer, Handled, TokenRequest, TokenService, store_unavailable};
use crate::observe;
use crate::secret::Secret;

impl TokenService {
    /// RFC 7009 without a deadline (tests and tools).
    /// The answer as the client sees it.
    pub async fn revoke(&self, req: &TokenRequest) -> Result<(), OAuthError> {
        self.handle_revoke(req, Deadline::none())
            .await
            .result
            .map_err(|e| e.to_oauth())
    }

    /// RFC 7009. The client must authenticate; a refresh token it owns has its whole family
    /// revoked. Unknown tokens, tokens of other clients, and access tokens (short-lived JWTs,
    /// not stored) are accepted without effect, so the answer reveals nothing.
    pub async fn handle_revoke(&self, req: &TokenRequest, deadline: Deadline) -> Handled<()> {
        let client = match self.client(req, deadline).await {
            Ok(c) => c,
            Err(e) => {
                return Handled {
                    client_id: None,
                    answer: Answer::default(),
                    result: Err(e),
                };
            }
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
        req: &TokenRequest,
        deadline: Deadline,
    ) -> Result<(), TokenError> {
        let token = Secret::new(req.required("token")?);
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
