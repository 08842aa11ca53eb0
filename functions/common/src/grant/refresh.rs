//! The refresh grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2), the
//! reuse grace window (`crate::grace`) and claims that follow the directory
//! (`crate::user_status`). What makes a token usable is `crate::refresh`; this file only
//! sequences the calls.

use std::time::Duration;

use tracing::warn;

use super::refresh_events::{bad_refresh_token, replayed, reuse_detected, rotated};
use super::{RefreshRequest, TokenResponse, TokenService, store_unavailable};
use crate::access_token::allowed_details;
use crate::audit::Event;
use crate::client::Client;
use crate::clock::Deadline;
use crate::error::{OAuthError, TokenError, Unavailable};
use crate::grace::{self, NoReplay};
use crate::observe;
use crate::refresh::{RefreshGrant, Rotation, StoredToken, Successor, TokenStatus, Unusable};
use crate::secret::Secret;
use crate::user_status::{UserStatus, claims_fresh_enough};

/// How often a rotation that lost to a transaction still in flight is tried again (grace window
/// on only), and the first pause between tries (doubling).
const ROTATION_ATTEMPTS: u32 = 5;
const FIRST_PAUSE: Duration = Duration::from_millis(10);

/// A successor refresh token handed to the client, with its end (seconds since the epoch).
struct Handed {
    token: Secret,
    expires_at: u64,
}

/// What became of a refresh token presented for rotation.
enum Rotated {
    /// This request rotated it: the successor is new.
    New(Handed),
    /// Another use of it rotated it moments ago, within the grace window: its successor.
    Replayed(Handed),
}

/// What a lost rotation turned out to be.
enum LostRace {
    Replay(Handed),
    /// Reuse, or a family that ended: nobody should hold a working token of it any more.
    Refused,
    /// The winner's transaction has not landed yet: try again.
    InFlight,
}

impl TokenService {
    /// Every use retires the token and returns its successor; presenting a retired token
    /// revokes the whole family, unless it is a retry within the client's grace window.
    pub(super) async fn refresh_grant(
        &self,
        client: &Client,
        req: RefreshRequest,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        let presented = req.refresh_token;
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
        let grace = self.grace(client);
        let replay = match old.usable_by(client, now) {
            Ok(()) => None,
            Err(Unusable::Reused) if grace > 0 => Some(
                self.replay_or_revoke(client, &old, &presented, now, deadline)
                    .await?,
            ),
            Err(why) => return Err(self.refuse(client, &old, why, now, deadline).await),
        };
        let grant = self.current_grant(client, &old, now, deadline).await?;
        let scope = grant.refreshed_scope(client, req.scope.as_deref())?;
        let lifetimes = self.lifetimes(client);
        let access = self.sign(&grant, &old.family_id, &scope, lifetimes, now)?;
        let outcome = match replay {
            Some(successor) => Rotated::Replayed(successor),
            None => {
                self.rotate(client, &old, &presented, &grant, now, deadline)
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
        })
    }

    /// Rotates `old` to a new successor. With the grace window on, the successor is sealed
    /// under `old` on its record, and a rotation that loses to a concurrent use of the same token
    /// hands back the winner's successor instead of revoking the family.
    async fn rotate(
        &self,
        client: &Client,
        old: &StoredToken,
        presented: &Secret,
        grant: &RefreshGrant,
        now: u64,
        deadline: Deadline,
    ) -> Result<Rotated, TokenError> {
        let grace = self.grace(client);
        let refresh = Secret::generate();
        let successor = Successor {
            token_hash: refresh.hash(),
            issued_at: now,
            expires_at: old.successor_expires_at(now, self.lifetimes(client).refresh_token),
            details: grant.details.clone(),
            sealed: (grace > 0).then(|| grace::seal(presented, &old.family_id, &refresh)),
        };
        let mut pause = FIRST_PAUSE;
        let mut contended = grace > 0;
        for _ in 0..ROTATION_ATTEMPTS {
            let rotation = self.refresh.rotate(old, &successor, now);
            match self
                .within(deadline, "refresh-token store", rotation)
                .await?
                .map_err(store_unavailable)?
            {
                Rotation::Rotated => {
                    return Ok(Rotated::New(Handed {
                        token: refresh,
                        expires_at: successor.expires_at,
                    }));
                }
                Rotation::Refused if grace == 0 => break,
                Rotation::Refused => {}
            }
            match self.lost_race(old, presented, grace, now, deadline).await? {
                LostRace::Replay(s) => return Ok(Rotated::Replayed(s)),
                LostRace::Refused => {
                    contended = false;
                    break;
                }
                LostRace::InFlight => {
                    let nap = tokio::time::sleep(pause);
                    self.within(deadline, "refresh-token store", nap).await?;
                    pause *= 2;
                }
            }
        }
        if contended {
            // Still active after every try, its family still at it: contention, not reuse.
            return Err(Unavailable::RotationContended.into());
        }
        // Used already, used concurrently, revoked or expired: in every case nobody should hold
        // a working token of this family any more.
        warn!(client_id = %client.client_id, family = %old.family_id, "refresh token lost its rotation: revoking its family");
        Err(self
            .revoke_reused(client, old, "lost_rotation", now, deadline)
            .await)
    }

    /// Revokes the family of a token used again (`cause`), and says so: what the caller gets
    /// is the one answer every bad refresh token gets, or 503 when the revocation failed.
    async fn revoke_reused(
        &self,
        client: &Client,
        old: &StoredToken,
        cause: &str,
        now: u64,
        deadline: Deadline,
    ) -> TokenError {
        if let Err(e) = self.revoke_family(&old.family_id, now, deadline).await {
            return e;
        }
        reuse_detected(client, &old.family_id, cause);
        bad_refresh_token().into()
    }

    /// Why a rotation of `old` was refused, read again (grace window on): a concurrent use won
    /// (replay its successor if the rules allow), the family ended, or the winner is in flight.
    async fn lost_race(
        &self,
        old: &StoredToken,
        presented: &Secret,
        grace: u64,
        now: u64,
        deadline: Deadline,
    ) -> Result<LostRace, TokenError> {
        let read = self.refresh.get_token(&old.token_hash);
        let now_stored = self
            .within(deadline, "refresh-token store", read)
            .await?
            .map_err(store_unavailable)?;
        match now_stored {
            Some(t) if t.status == TokenStatus::Rotated => Ok(
                match self.replayable(&t, presented, grace, now, deadline).await? {
                    Ok(s) => LostRace::Replay(s),
                    Err(_) => LostRace::Refused,
                },
            ),
            Some(_) => {
                let read = self.refresh.get_family(&old.family_id);
                let family = self
                    .within(deadline, "refresh-token store", read)
                    .await?
                    .map_err(store_unavailable)?;
                let live = family.is_some_and(|f| {
                    !f.revoked && f.current_token == old.token_hash && f.expires_at > now
                });
                Ok(if live {
                    LostRace::InFlight
                } else {
                    LostRace::Refused
                })
            }
            None => Ok(LostRace::Refused),
        }
    }

    /// A rotated token came back within the grace window: its successor when the rules allow,
    /// else the family is revoked as for any reuse.
    async fn replay_or_revoke(
        &self,
        client: &Client,
        old: &StoredToken,
        presented: &Secret,
        now: u64,
        deadline: Deadline,
    ) -> Result<Handed, TokenError> {
        let grace = self.grace(client);
        match self
            .replayable(old, presented, grace, now, deadline)
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

    /// The successor of `old` (rotated), if it was rotated within `grace` seconds, its sealed
    /// successor opens with the presented token, and that successor is still unused.
    async fn replayable(
        &self,
        old: &StoredToken,
        presented: &Secret,
        grace: u64,
        now: u64,
        deadline: Deadline,
    ) -> Result<Result<Handed, NoReplay>, TokenError> {
        if let Err(why) = grace::within_window(old, grace, now) {
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
        let family = self.refresh.get_family(&old.family_id);
        let family = self
            .within(deadline, "refresh-token store", family)
            .await?
            .map_err(store_unavailable)?;
        let record = self.refresh.get_token(&hash);
        let record = self
            .within(deadline, "refresh-token store", record)
            .await?
            .map_err(store_unavailable)?;
        let expires_at = record.as_ref().map_or(0, |r| r.expires_at);
        Ok(
            grace::still_unused(family.as_ref(), record.as_ref(), &hash, now).map(|()| Handed {
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
                self.revoke_family(&old.family_id, now, deadline).await?;
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
    /// client gets.
    async fn refuse(
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
