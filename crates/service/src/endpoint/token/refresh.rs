//! The refresh grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2), the
//! reuse grace window (`crate::refresh::grace`) and claims that follow the directory
//! (`crate::user_status`). What makes a token usable is `crate::refresh`; writing the rotation,
//! and what a lost answer to it means, is `rotation`; this file sequences the calls.

use tollgate_oauth::access_token::allowed_details;
use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::OAuthError;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;
use tracing::{info, warn};

use super::rotation::{Handed, Rotated};
use super::{RefreshRequest, TokenResponse};
use crate::client::{Client, GrantType};
use crate::endpoint::{TokenService, store_unavailable};
use crate::error::{TokenError, Unavailable};
use crate::refresh::grace::{self, NoReplay};
use crate::refresh::{RefreshGrant, StoredFamily, StoredToken, TokenRef, Unusable};
use crate::user_status::{UserStatus, claims_fresh_enough};

impl TokenService {
    /// Every use retires the token and returns its successor; presenting a retired token
    /// revokes the whole family, unless it is a retry within the client's grace window or after
    /// a rotation whose answer was lost. A token of a session that ended is refused before
    /// anything else is asked or signed.
    pub(super) async fn refresh_grant(
        &self,
        client: &Client,
        req: RefreshRequest,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        let presented = req.refresh_token;
        let now = self.clock.now();
        let Some((old, family)) = self.presented(&presented, deadline).await? else {
            return Err(bad_refresh_token().into());
        };
        let replay = match old.usable_by(client, family.as_ref(), now) {
            Ok(()) => None,
            Err(Unusable::Reused) => Some(
                self.replay_or_revoke(client, &old, family.as_ref(), &presented, now, deadline)
                    .await?,
            ),
            Err(why) => return Err(self.refuse(client, &old, why, now, deadline).await),
        };
        let grant = self.current_grant(client, &old, now, deadline).await?;
        let scope = grant.refreshed_scope(client, req.scope.as_deref())?;
        let lifetimes = self.lifetimes(client);
        let session = (old.family_id.as_str(), old.family_expires_at);
        let access = self.sign(&grant, session, &scope, lifetimes, now)?;
        // The family records when its newest access token expires, for a revocation entry to
        // outlive it (`crate::revocation::session_ended`).
        let access_exp = now.saturating_add(access.expires_in);
        let access_until = family
            .as_ref()
            .map_or(access_exp, |f| f.access_tokens_until().max(access_exp));
        let outcome = match replay {
            Some(successor) => Rotated::Replayed(successor),
            None => {
                let tokens = (&presented, access_until);
                self.rotate(client, &old, tokens, &grant, now, deadline)
                    .await?
            }
        };
        let refresh = match outcome {
            Rotated::New(s) => {
                rotated(client, &old, &scope.to_string());
                s
            }
            Rotated::Replayed(s) => {
                replayed(client, &old, &scope.to_string());
                s
            }
        };
        Ok(TokenResponse {
            access_token: access.token,
            expires_in: access.expires_in,
            issued_at: now,
            refresh_token_expires_in: Some(refresh.expires_at.saturating_sub(now)),
            refresh_token: Some(refresh.token),
            scope,
            id_token: None,
        })
    }

    /// The presented token's record and its family (session) as they are now; `None` for a
    /// token that was never issued (or expired and was deleted).
    async fn presented(
        &self,
        presented: &Secret,
        deadline: Deadline,
    ) -> Result<Option<(StoredToken, Option<StoredFamily>)>, TokenError> {
        let token = TokenRef::of(presented);
        let lookup = self.refresh.get_presented(&token);
        self.within(deadline, "refresh-token store", lookup)
            .await?
            .map_err(store_unavailable)
    }

    /// Revokes the family of a token used again (`cause`), and says so: what the caller gets
    /// is the one answer every bad refresh token gets, or 503 when the revocation failed.
    pub(super) async fn revoke_reused(
        &self,
        client: &Client,
        old: &StoredToken,
        cause: &str,
        now: u64,
        deadline: Deadline,
    ) -> TokenError {
        if let Err(e) = self
            .end_session(client, &old.family_id, now, deadline)
            .await
        {
            return e;
        }
        reuse_detected(client, &old.family_id, cause);
        bad_refresh_token().into()
    }

    /// A rotated token came back: its successor when the rules allow (within the client's
    /// grace window, or after a rotation whose answer was lost, and nobody used it yet), else
    /// the family is revoked as for any reuse.
    async fn replay_or_revoke(
        &self,
        client: &Client,
        old: &StoredToken,
        family: Option<&StoredFamily>,
        presented: &Secret,
        now: u64,
        deadline: Deadline,
    ) -> Result<Handed, TokenError> {
        let window = grace::replay_window(old, self.grace(client), self.policy.lost_answer_window);
        match self
            .replayable(old, family, presented, window, now, deadline)
            .await?
        {
            Ok(successor) => Ok(successor),
            Err(why) => {
                warn!(client_id = %client.client_id, family = %old.family_id, why = why.as_str(), "refresh token reused: revoking its family");
                Err(self
                    .revoke_reused(client, old, "reused", now, deadline)
                    .await)
            }
        }
    }

    /// The successor of `old` (rotated), if it was rotated within `window` seconds, its sealed
    /// successor opens with the presented token, and that successor is still the unused live
    /// token of `family`.
    pub(super) async fn replayable(
        &self,
        old: &StoredToken,
        family: Option<&StoredFamily>,
        presented: &Secret,
        window: u64,
        now: u64,
        deadline: Deadline,
    ) -> Result<Result<Handed, NoReplay>, TokenError> {
        if let Err(why) = grace::within_window(old, window, now) {
            return Ok(Err(why));
        }
        let Some(successor) = old
            .sealed_successor
            .as_deref()
            .and_then(|sealed| grace::open(presented, &old.family_id, sealed))
        else {
            return Ok(Err(NoReplay::NotSealed));
        };
        let hash = successor.hash();
        let record = if old.in_family {
            // The family was just read, and it holds its live token.
            family.and_then(StoredFamily::live_token)
        } else {
            // The family was just read: the successor's own record is the one read more.
            let record = self.refresh.token_record(&hash);
            self.within(deadline, "refresh-token store", record)
                .await?
                .map_err(store_unavailable)?
                .map(|r| r.as_of(family))
        };
        let expires_at = record.as_ref().map_or(0, |r| r.expires_at);
        Ok(
            grace::still_unused(family, record.as_ref(), &hash, now).map(|()| Handed {
                token: successor,
                expires_at,
            }),
        )
    }

    /// The grant as it is now: the user's details fresh from the directory when there is one
    /// (gone or disabled ends the session), else those captured at sign-in if not too old.
    async fn current_grant(
        &self,
        client: &Client,
        old: &StoredToken,
        now: u64,
        deadline: Deadline,
    ) -> Result<RefreshGrant, TokenError> {
        let mut grant = old.grant.clone();
        let Some(directory) = &self.directory else {
            if claims_fresh_enough(self.policy.max_claims_age, grant.auth_time, now) {
                return Ok(grant);
            }
            return Err(OAuthError::invalid_grant(
                "the user details in this session are too old: sign in again",
            )
            .into());
        };
        let call = directory.status(&grant.sub, &client.client_id);
        let status = self
            .within(deadline, "user-status endpoint", call)
            .await?
            .map_err(|e| TokenError::from(Unavailable::UserStatus(Box::new(e))))?;
        match status {
            UserStatus::Active(details) => {
                grant.details = allowed_details(&details, &self.policy.user_claims);
                Ok(grant)
            }
            ended => {
                let cause = ended.ends_session().unwrap_or("user_gone");
                warn!(client_id = %client.client_id, family = %old.family_id, cause, "the directory ended the user's session: revoking its family");
                self.end_session(client, &old.family_id, now, deadline)
                    .await?;
                observe::event(&Event::SessionEnded {
                    client_id: &client.client_id,
                    subject: &grant.sub,
                    family: &old.family_id,
                    cause,
                });
                Err(OAuthError::invalid_grant("the user's session has ended: sign in again").into())
            }
        }
    }

    /// Logs why a token cannot be used and, for a reused one, revokes its family; the error the
    /// client gets. A token of a session that ended (revoked or expired) is refused quietly:
    /// the session is over already, so it is neither theft nor worth an alarm.
    pub(super) async fn refuse(
        &self,
        client: &Client,
        token: &StoredToken,
        why: Unusable,
        now: u64,
        deadline: Deadline,
    ) -> TokenError {
        match why {
            Unusable::OtherClient => {
                warn!(client_id = %client.client_id, "refresh token presented by a client it was not issued to");
            }
            Unusable::OlderThanClient => {
                warn!(client_id = %client.client_id, "refresh token older than its client record");
            }
            Unusable::FamilyRevoked | Unusable::FamilyExpired => {
                info!(client_id = %client.client_id, family = %token.family_id, cause = why.as_str(), "refresh token of an ended session");
            }
            Unusable::Reused => {
                warn!(client_id = %client.client_id, family = %token.family_id, "refresh token reused: revoking its family");
                return self
                    .revoke_reused(client, token, "reused", now, deadline)
                    .await;
            }
            Unusable::Expired => {}
        }
        bad_refresh_token().into()
    }
}

/// The family's token was rotated: a new access token and refresh token were issued.
pub(super) fn rotated(client: &Client, old: &StoredToken, scope: &str) {
    observe::event(&Event::RefreshRotated {
        grant_type: GrantType::RefreshToken.as_str(),
        client_id: &client.client_id,
        subject: &old.grant.sub,
        family: &old.family_id,
    });
    issued(client, old, scope);
}

/// A retry within the grace window got the successor already issued, and a new access token.
pub(super) fn replayed(client: &Client, old: &StoredToken, scope: &str) {
    observe::event(&Event::RefreshReplayed {
        client_id: &client.client_id,
        subject: &old.grant.sub,
        family: &old.family_id,
    });
    issued(client, old, scope);
}

fn issued(client: &Client, old: &StoredToken, scope: &str) {
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
pub(super) fn reuse_detected(client: &Client, family: &str, cause: &str) {
    observe::event(&Event::RefreshReuseDetected {
        client_id: &client.client_id,
        family,
        cause,
        family_revoked: true,
    });
}

/// One answer for every bad refresh token, so a caller cannot tell unknown from revoked.
pub(super) fn bad_refresh_token() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}
