//! Revocation (RFC 7009): a client ends what a token it owns stands for. A refresh token's
//! session (its family) ends; so does an access token's, found by its `sid`; an access token
//! without a session (`client_credentials`) is revoked alone, by its `jti`. Every end is also
//! recorded for the authorizers (`crate::revocation`), which then refuse the session's access
//! tokens within their freshness bound.

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::OAuthError;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;
use tracing::{info, warn};

use crate::client::Client;
use crate::client::ClientCredentials;
use crate::endpoint::introspect::Introspector;
use crate::endpoint::{Answer, Handled, TokenService, store_unavailable};
use crate::error::TokenError;
use crate::refresh::TokenRef;
use crate::revocation::Entry;

/// `POST /revoke` (RFC 7009 §2.1) after form parsing: the client's credentials and the token.
/// `token_type_hint` is not kept: an access token is a JWT (it has dots) and a refresh token is
/// not, so each is looked up its own way whatever the hint says (§2.1 lets a server ignore
/// it). `Debug` hides the token.
#[derive(Debug)]
pub struct RevocationRequest {
    pub credentials: Option<ClientCredentials>,
    /// Absent is `invalid_request`, told only to a client that authenticated.
    pub token: Option<Secret>,
}

impl TokenService {
    /// RFC 7009 without a deadline (tests and tools). `keys` verify access tokens (the
    /// function's own, as for `/introspect`). The answer as the client sees it.
    pub async fn revoke(
        &self,
        keys: &Introspector,
        req: &RevocationRequest,
    ) -> Result<(), OAuthError> {
        self.handle_revoke(keys, req, Deadline::none())
            .await
            .result
            .map_err(|e| e.to_oauth())
    }

    /// RFC 7009. The client must authenticate; a token it owns ends its session (or, without
    /// one, itself). Unknown, expired or forged tokens and tokens of other clients are accepted
    /// without effect (§2.2), so the answer reveals nothing.
    pub async fn handle_revoke(
        &self,
        keys: &Introspector,
        req: &RevocationRequest,
        deadline: Deadline,
    ) -> Handled<()> {
        let client = match self.authenticate(req.credentials.as_ref(), deadline).await {
            Ok(c) => c,
            Err(e) => return Handled::unauthenticated(e),
        };
        let result = match &req.token {
            None => Err(OAuthError::invalid_request("token is required").into()),
            Some(t) if t.expose().contains('.') => {
                self.revoke_access(keys, &client, t, deadline).await
            }
            Some(t) => self.revoke_refresh(&client, t, deadline).await,
        };
        Handled {
            client_id: Some(client.client_id),
            answer: Answer::default(),
            result,
        }
    }

    /// A refresh token's family, when it is the client's. Its session is ended again when it
    /// was already: a retry after a `503` finishes what the first try began.
    async fn revoke_refresh(
        &self,
        client: &Client,
        token: &Secret,
        deadline: Deadline,
    ) -> Result<(), TokenError> {
        let now = self.clock.now();
        // Whose token it is and its family: the family (or the token's record, then the
        // family) says both, live or not. The family read here is the one its end needs.
        let token = TokenRef::of(token);
        let lookup = self.refresh.get_presented(&token);
        match self
            .within(deadline, "refresh-token store", lookup)
            .await?
            .map_err(store_unavailable)?
        {
            Some((t, family)) if t.grant.client_id == client.client_id => {
                self.end_session_as_read(client, &t.family_id, family.as_ref(), now, deadline)
                    .await?;
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

    /// An access token the function's keys verify, when it is the client's: its session ends,
    /// as if its refresh token were revoked (RFC 7009 §2.1 lets revoking one token revoke others
    /// of the same grant); without a session, the token alone, by `jti`.
    async fn revoke_access(
        &self,
        keys: &Introspector,
        client: &Client,
        token: &Secret,
        deadline: Deadline,
    ) -> Result<(), TokenError> {
        let now = self.clock.now();
        let Ok(v) = keys.verifier.verify_at(token.expose(), now) else {
            return Ok(());
        };
        if v.client_id != client.client_id {
            warn!(client_id = %client.client_id, "revocation of another client's token ignored");
            return Ok(());
        }
        match (&v.sid, &v.jti) {
            (Some(sid), _) => {
                self.end_session(client, sid, now, deadline).await?;
                info!(client_id = %client.client_id, family = %sid, "access token revoked: its session ended");
                observe::event(&Event::TokenRevoked {
                    client_id: &client.client_id,
                    family: sid,
                });
            }
            (None, Some(jti)) => {
                self.record(&Entry::token(jti, v.exp), deadline).await?;
                info!(client_id = %client.client_id, jti = %jti, "access token revoked");
                observe::event(&Event::AccessTokenRevoked {
                    client_id: &client.client_id,
                    jti,
                });
            }
            // Tollgate issues no token without both; one signed elsewhere names nothing to end.
            (None, None) => {}
        }
        Ok(())
    }
}
