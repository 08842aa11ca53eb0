//! The refresh grant with a refresh token Tollgate did not issue (`crate::legacy`, issue 21):
//! the legacy endpoint is asked once, and its `200 {sub, details, scope}` becomes a new session
//! answered as any refresh is; a second use of the same legacy token is `invalid_grant` with a
//! `legacy_refresh_reuse` audit event. Writing the take-over, and what a lost answer to it
//! means, is `legacy_write`.
//!
//! Its I/O chain is client record -> marker -> legacy endpoint -> (user-status endpoint) ->
//! the take-over's transaction. Nothing is written before that transaction, so a legacy endpoint
//! or a store that fails leaves the legacy token as usable as it was.

use tollgate_oauth::access_token::allowed_details;
use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::OAuthError;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::hash::short_hash;
use tollgate_telemetry::observe;
use tracing::{info, warn};

use super::legacy_write::Taken;
use super::refresh::bad_refresh_token;
use super::{RefreshRequest, TokenResponse};
use crate::client::{Client, GrantType};
use crate::endpoint::{TokenService, store_unavailable};
use crate::error::{TokenError, Unavailable};
use crate::legacy::{LegacyAnswer, LegacyPorts, LegacyUser, StoredMarker, tollgate_shaped};
use crate::refresh::{NewFamily, RefreshGrant};
use crate::user_status::UserStatus;

impl TokenService {
    /// The legacy ports, when `presented` is for them: an endpoint is configured and the token
    /// does not have Tollgate's shape (a Tollgate-shaped token is never sent anywhere).
    pub(super) fn legacy_for(&self, presented: &Secret) -> Option<&LegacyPorts> {
        self.legacy
            .as_ref()
            .filter(|_| !tollgate_shaped(presented.expose()))
    }

    /// A legacy token's first use starts a session; any later use is refused, except the retry
    /// of a first use whose answer Tollgate lost (`legacy_write`).
    pub(super) async fn legacy_refresh_grant(
        &self,
        client: &Client,
        legacy: &LegacyPorts,
        req: RefreshRequest,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        let presented = &req.refresh_token;
        let hash = presented.hash();
        let now = self.clock.now();
        if let Some(marker) = self.marker(legacy, &hash, deadline).await? {
            return self
                .legacy_again(client, presented, &marker, &req, now, deadline)
                .await;
        }
        let user = self.redeem(client, legacy, presented, deadline).await?;
        let grant = self.legacy_grant(client, user, now, deadline).await?;
        // Scope rules as for any refresh, before anything is written: an `invalid_scope` leaves
        // the legacy token usable.
        let scope = grant.refreshed_scope(client, req.scope.as_deref())?;
        let lifetimes = self.lifetimes(client);
        let (family, access, refresh) = self.start_session(grant, &scope, lifetimes, now)?;
        let keys = (presented, &refresh);
        let written = self.write_take_over(legacy, &hash, &family, keys, now, deadline);
        if let Taken::ByAnother(marker) = written.await? {
            return Err(legacy_reused(client, presented, &marker));
        }
        accepted(client, presented, &family, &scope.to_string());
        Ok(TokenResponse {
            access_token: access.token,
            expires_in: access.expires_in,
            issued_at: now,
            refresh_token_expires_in: Some(family.token_expires_at.saturating_sub(now)),
            refresh_token: Some(refresh),
            scope,
            id_token: None,
        })
    }

    /// The marker of a legacy token, read consistently within the deadline.
    pub(super) async fn marker(
        &self,
        legacy: &LegacyPorts,
        token_hash: &str,
        deadline: Deadline,
    ) -> Result<Option<StoredMarker>, TokenError> {
        let read = legacy.store.get_marker(token_hash);
        self.within(deadline, "refresh-token store", read)
            .await?
            .map_err(store_unavailable)
    }

    /// The legacy endpoint's verdict: the user, `invalid_grant` for a `4xx`, `503` otherwise.
    async fn redeem(
        &self,
        client: &Client,
        legacy: &LegacyPorts,
        presented: &Secret,
        deadline: Deadline,
    ) -> Result<LegacyUser, TokenError> {
        let call = legacy.endpoint.redeem(presented, &client.client_id);
        match self
            .within(deadline, "legacy refresh endpoint", call)
            .await?
        {
            Ok(LegacyAnswer::Valid(user)) => Ok(user),
            Ok(LegacyAnswer::Refused(status)) => {
                let token_hash = short_hash(presented.expose());
                info!(client_id = %client.client_id, status, token_hash, "legacy refresh token refused by the legacy endpoint");
                Err(bad_refresh_token().into())
            }
            Err(e) => Err(Unavailable::LegacyRefresh(Box::new(e)).into()),
        }
    }

    /// What the new session stands for: the legacy answer's user and scope (none: the client's
    /// default scopes), its details through the allow-list, or fresh from the directory when
    /// there is one (gone or disabled: `invalid_grant`, nothing written). `auth_time` is now:
    /// when the user's sign-in in the old system happened is not known.
    async fn legacy_grant(
        &self,
        client: &Client,
        user: LegacyUser,
        now: u64,
        deadline: Deadline,
    ) -> Result<RefreshGrant, TokenError> {
        let mut details = user.details;
        if let Some(directory) = &self.directory {
            let call = directory.status(&user.sub, &client.client_id);
            let status = self
                .within(deadline, "user-status endpoint", call)
                .await?
                .map_err(|e| TokenError::from(Unavailable::UserStatus(Box::new(e))))?;
            match status {
                UserStatus::Active(fresh) => details = fresh,
                ended => {
                    let cause = ended.ends_session().unwrap_or("user_gone");
                    info!(client_id = %client.client_id, cause, "legacy refresh token of a user the directory ended");
                    return Err(OAuthError::invalid_grant(
                        "the user's session has ended: sign in again",
                    )
                    .into());
                }
            }
        }
        let scope = if user.scope.is_empty() {
            client.default_scopes.clone()
        } else {
            user.scope
        };
        Ok(RefreshGrant {
            client_id: client.client_id.clone(),
            sub: user.sub,
            scope,
            details: allowed_details(&details, &self.policy.user_claims),
            auth_time: now,
        })
    }

    /// A legacy token that has a marker came back: the retry of a take-over whose answer was
    /// lost gets that session; anything else is a second use.
    async fn legacy_again(
        &self,
        client: &Client,
        presented: &Secret,
        marker: &StoredMarker,
        req: &RefreshRequest,
        now: u64,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        let asked = req.scope.as_deref();
        match self
            .replay_take_over(client, presented, marker, asked, now, deadline)
            .await?
        {
            Some(answer) => Ok(answer),
            None => Err(legacy_reused(client, presented, marker)),
        }
    }
}

/// A legacy token started its session: audited with the session it became.
fn accepted(client: &Client, presented: &Secret, family: &NewFamily, scope: &str) {
    let token_hash = short_hash(presented.expose());
    info!(client_id = %client.client_id, family = %family.family_id, token_hash, "legacy refresh token accepted: a new session");
    observe::event(&Event::LegacyRefreshAccepted {
        client_id: &client.client_id,
        subject: &family.grant.sub,
        family: &family.family_id,
        token_hash: &token_hash,
    });
    observe::event(&Event::TokenIssued {
        grant_type: GrantType::RefreshToken.as_str(),
        client_id: &client.client_id,
        subject: &family.grant.sub,
        scope,
        family: Some(&family.family_id),
        password_grant_sunset: None,
    });
}

/// A legacy token that started a session came back: refused with the answer every bad refresh
/// token gets, and audited. The session its first use started is left as it is.
fn legacy_reused(client: &Client, presented: &Secret, marker: &StoredMarker) -> TokenError {
    let token_hash = short_hash(presented.expose());
    warn!(client_id = %client.client_id, family = %marker.family_id, token_hash, "legacy refresh token used again");
    observe::event(&Event::LegacyRefreshReuse {
        client_id: &client.client_id,
        family: &marker.family_id,
        token_hash: &token_hash,
    });
    bad_refresh_token().into()
}
