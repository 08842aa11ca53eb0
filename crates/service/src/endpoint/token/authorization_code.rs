//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.5): a code from the sign-in page
//! and its PKCE verifier become the same tokens and session the password grant issues. The code
//! is consumed and the session created in one conditional write (`crate::code`); what a lost
//! answer to that write means is `code_write`.
//!
//! Its I/O chain is client record -> code record -> the exchange's transaction.

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::OAuthError;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;
use tracing::{info, warn};

use super::TokenResponse;
use super::code_write::Written;
use super::request::CodeExchangeRequest;
use crate::client::{Client, GrantType};
use crate::code::{StoredCode, Unexchangeable};
use crate::endpoint::{TokenService, store_unavailable};
use crate::error::TokenError;

/// The one answer every code that cannot be exchanged gets, whatever the reason (the log has
/// it): a caller learns nothing about a code that is not its own.
pub(super) fn bad_code() -> OAuthError {
    OAuthError::invalid_grant("the authorization code is invalid, expired or used")
}

impl TokenService {
    pub(super) async fn authorization_code_grant(
        &self,
        client: &Client,
        req: CodeExchangeRequest,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        let now = self.clock.now();
        let Some(stored) = self.current_code(&req.code.hash(), deadline).await? else {
            info!(client_id = %client.client_id, "authorization code refused: unknown");
            return Err(bad_code().into());
        };
        let redirect = req.redirect_uri.as_deref();
        match stored.exchangeable_by(&client.client_id, redirect, &req.code_verifier, now) {
            Ok(()) => self.exchange(client, &req, &stored, now, deadline).await,
            Err(Unexchangeable::Used) => {
                self.used_again(client, &req, &stored, now, deadline).await
            }
            Err(why) => {
                info!(client_id = %client.client_id, cause = why.as_str(), "authorization code refused");
                Err(bad_code().into())
            }
        }
    }

    /// Consumes the code and starts its session in one write, then answers as the password
    /// grant does. A write refused because another exchange of the same code won is a second
    /// use: that exchange's session ends.
    async fn exchange(
        &self,
        client: &Client,
        req: &CodeExchangeRequest,
        stored: &StoredCode,
        now: u64,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        let lifetimes = self.lifetimes(client);
        let grant = stored.request.grant.clone();
        let scope = grant.scope.clone();
        let (family, access, refresh) = self.start_session(grant, &scope, lifetimes, now)?;
        let nonce = stored.request.nonce.as_deref();
        let id_token = self.id_token(&family.grant, &family.family_id, nonce, &access, now)?;
        let keys = (&req.code, req.code_verifier.as_str(), &refresh);
        match self
            .write_exchange(&stored.code_hash, &family, keys, now, deadline)
            .await?
        {
            Written::Done => {}
            Written::Lost => {
                // Another exchange of this code won the write: the code was used twice.
                let current = self.current_code(&stored.code_hash, deadline).await?;
                return Err(self.reused(client, current.as_ref(), now, deadline).await);
            }
        }
        observe::event(&Event::TokenIssued {
            grant_type: GrantType::AuthorizationCode.as_str(),
            client_id: &client.client_id,
            subject: &family.grant.sub,
            scope: &family.grant.scope.to_string(),
            family: Some(&family.family_id),
            password_grant_sunset: None,
        });
        Ok(TokenResponse {
            access_token: access.token,
            expires_in: access.expires_in,
            issued_at: now,
            refresh_token_expires_in: Some(family.token_expires_at.saturating_sub(now)),
            refresh_token: Some(refresh),
            scope: family.grant.scope,
            id_token,
        })
    }

    /// A used code came back. The retry of an exchange whose answer was lost (the client was
    /// told `503`) gets the session that exchange started, when it is the same code, verifier
    /// and redirect URI within the lost-answer window and the session's first refresh token is
    /// still unused; anything else is a second use, which ends the session (RFC 6749 §4.1.2).
    async fn used_again(
        &self,
        client: &Client,
        req: &CodeExchangeRequest,
        stored: &StoredCode,
        now: u64,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        match self
            .replay_exchange(client, req, stored, now, deadline)
            .await?
        {
            Some(answer) => Ok(answer),
            None => Err(self.reused(client, Some(stored), now, deadline).await),
        }
    }

    /// Ends the session the first exchange of `stored` started, and says so: the caller gets
    /// the one answer every bad code gets, or `503` when the revocation failed.
    async fn reused(
        &self,
        client: &Client,
        stored: Option<&StoredCode>,
        now: u64,
        deadline: Deadline,
    ) -> TokenError {
        let Some(family) = stored
            .and_then(|c| c.exchange.as_ref())
            .map(|e| &e.family_id)
        else {
            return bad_code().into();
        };
        warn!(client_id = %client.client_id, family = %family, "authorization code used again: revoking its session");
        if let Err(e) = self.end_session(client, family, now, deadline).await {
            return e;
        }
        observe::event(&Event::CodeReuseDetected {
            client_id: &client.client_id,
            family,
            family_revoked: true,
        });
        bad_code().into()
    }

    /// The code's record as it is now.
    pub(super) async fn current_code(
        &self,
        code_hash: &str,
        deadline: Deadline,
    ) -> Result<Option<StoredCode>, TokenError> {
        let read = self.codes.get_code(code_hash);
        self.within(deadline, "refresh-token store", read)
            .await?
            .map_err(store_unavailable)
    }
}
