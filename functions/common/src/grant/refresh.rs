//! The refresh grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2). What
//! makes a token usable is `crate::refresh`; this file only sequences the calls.

use tracing::warn;

use super::{TokenRequest, TokenResponse, TokenService, store_unavailable};
use crate::audit::Event;
use crate::client::Client;
use crate::client::GrantType;
use crate::clock::Deadline;
use crate::error::{OAuthError, TokenError};
use crate::observe;
use crate::refresh::{Rotation, StoredToken, Successor, Unusable};
use crate::secret::Secret;

impl TokenService {
    /// Every use retires the token and returns its successor; presenting a retired token
    /// revokes the whole family.
    pub(super) async fn refresh_grant(
        &self,
        client: &Client,
        req: &TokenRequest,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        let presented = Secret::new(req.required("refresh_token")?);
        let now = self.clock.now();
        let hash = presented.hash();
        let lookup = self.refresh.get_token(&hash);
        let Some(old) = self
            .within(deadline, "refresh-token store", lookup)
            .await?
            .map_err(store_unavailable)?
        else {
            return Err(bad_refresh_token().into());
        };
        self.check_usable(client, &old, now, deadline).await?;
        let scope = old.grant.refreshed_scope(client, req.param("scope"))?;
        let lifetimes = self.lifetimes(client);
        let access = self.sign(&old.grant, &old.family_id, &scope, lifetimes, now)?;
        let refresh = Secret::generate();
        let successor = Successor {
            token_hash: refresh.hash(),
            issued_at: now,
            expires_at: old.successor_expires_at(now, lifetimes.refresh_token),
        };
        let rotation = self.refresh.rotate(&old, &successor, now);
        match self
            .within(deadline, "refresh-token store", rotation)
            .await?
            .map_err(store_unavailable)?
        {
            Rotation::Rotated => {
                rotated(client, &old, &scope.to_string());
                Ok(TokenResponse {
                    access_token: access.token,
                    expires_in: access.expires_in,
                    issued_at: now,
                    refresh_token_expires_in: Some(successor.expires_at.saturating_sub(now)),
                    refresh_token: Some(refresh),
                    scope,
                })
            }
            Rotation::Refused => {
                // Used already, used concurrently, revoked or expired: in every case nobody
                // should hold a working token of this family any more.
                warn!(client_id = %client.client_id, family = %old.family_id, "refresh token lost its rotation: revoking its family");
                self.revoke_family(&old.family_id, now, deadline).await?;
                reuse_detected(client, &old.family_id, "lost_rotation");
                Err(bad_refresh_token().into())
            }
        }
    }

    /// Logs why a token cannot be used and, for a reused one, revokes its family.
    async fn check_usable(
        &self,
        client: &Client,
        token: &StoredToken,
        now: u64,
        deadline: Deadline,
    ) -> Result<(), TokenError> {
        let Err(why) = token.usable_by(client, now) else {
            return Ok(());
        };
        match why {
            Unusable::OtherClient => {
                warn!(client_id = %client.client_id, "refresh token presented by a client it was not issued to");
            }
            Unusable::OlderThanClient => {
                warn!(client_id = %client.client_id, "refresh token older than its client record");
            }
            Unusable::Reused => {
                warn!(client_id = %client.client_id, family = %token.family_id, "refresh token reused: revoking its family");
                self.revoke_family(&token.family_id, now, deadline).await?;
                reuse_detected(client, &token.family_id, "reused");
            }
            Unusable::Expired => {}
        }
        Err(bad_refresh_token().into())
    }

    /// Revokes a family within the deadline (reuse, a lost rotation, `/revoke`).
    pub(crate) async fn revoke_family(
        &self,
        family_id: &str,
        now: u64,
        deadline: Deadline,
    ) -> Result<(), TokenError> {
        let call = self.refresh.revoke_family(family_id, now);
        self.within(deadline, "refresh-token store", call)
            .await?
            .map_err(store_unavailable)
    }
}

/// The family's token was rotated: a new access token and refresh token were issued.
fn rotated(client: &Client, old: &StoredToken, scope: &str) {
    observe::event(&Event::RefreshRotated {
        grant_type: GrantType::RefreshToken.as_str(),
        client_id: &client.client_id,
        subject: &old.grant.sub,
        family: &old.family_id,
    });
    observe::event(&Event::TokenIssued {
        grant_type: GrantType::RefreshToken.as_str(),
        client_id: &client.client_id,
        subject: &old.grant.sub,
        scope,
        family: Some(&old.family_id),
        password_grant_sunset: None,
    });
}

/// A used (or raced) refresh token came back and its family is now revoked.
fn reuse_detected(client: &Client, family: &str, cause: &str) {
    observe::event(&Event::RefreshReuseDetected {
        client_id: &client.client_id,
        family,
        cause,
        family_revoked: true,
    });
}

/// One answer for every bad refresh token, so a caller cannot tell unknown from revoked.
fn bad_refresh_token() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}
