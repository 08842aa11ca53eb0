//! Writing a refresh token's rotation, and what a refused or unanswered write means.
//!
//! The write is idempotent (the same successor sent again finds its own work done), so a write
//! whose answer was lost is simply sent again, marked *unconfirmed* and with the successor
//! sealed under the old token, until an answer comes or the function's time runs out. A client told `503` then retries with the same token and gets
//! the successor that landed (`crate::refresh::grace::replay_window`), whatever its grace window: a
//! retry done as told is never taken for theft.

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::secret::Secret;
use tracing::warn;

use crate::client::Client;
use crate::endpoint::{TokenService, store_unavailable};
use crate::error::{TokenError, Unavailable};
use crate::refresh::{RefreshGrant, Rotation, StoredToken, Successor, TokenStatus, Unusable};
use crate::refresh::{TokenRef, grace, in_family};

/// A successor refresh token handed to the client, with its end (seconds since the epoch).
pub(super) struct Handed {
    pub(super) token: Secret,
    pub(super) expires_at: u64,
}

/// What became of a refresh token presented for rotation.
pub(super) enum Rotated {
    /// This request rotated it: the successor is new.
    New(Handed),
    /// Another use of it rotated it moments ago, and the rules let this one have the same
    /// successor: a retry within the grace window or after a lost answer.
    Replayed(Handed),
}

/// What a lost rotation turned out to be.
enum LostRace {
    Replay(Handed),
    /// Another use rotated it and this one may not have the successor: reuse.
    Reused,
    /// The session ended meanwhile (revoked or expired): refused quietly.
    Ended(Unusable),
    /// The family still names the presented token, active: nothing a concurrent use explains.
    /// The rotation is one conditional write, never half-landed, so no winner can be in
    /// flight; it is not taken for reuse either.
    Unchanged,
}

impl TokenService {
    /// Rotates `old` to a new successor, sealed under `old` on its record. A rotation that loses
    /// to a concurrent use of the same token hands back the winner's successor when the grace
    /// window allows, instead of revoking the family.
    pub(super) async fn rotate(
        &self,
        client: &Client,
        old: &StoredToken,
        (presented, access_until): (&Secret, u64),
        grant: &RefreshGrant,
        now: u64,
        deadline: Deadline,
    ) -> Result<Rotated, TokenError> {
        let refresh = in_family::successor_of(presented);
        let mut successor = self.successor(client, old, (presented, &refresh), grant, now);
        successor.access_until = access_until;
        if self
            .write_rotation(old, &mut successor, (presented, &refresh), now, deadline)
            .await?
            == Rotation::Rotated
        {
            return Ok(Rotated::New(Handed {
                token: refresh,
                expires_at: successor.expires_at,
            }));
        }
        match self
            .lost_race(client, old, presented, now, deadline)
            .await?
        {
            LostRace::Replay(s) => Ok(Rotated::Replayed(s)),
            LostRace::Ended(why) => Err(self.refuse(client, old, why, now, deadline).await),
            // Nobody is signed out for a refusal no use explains: `503`, nothing revoked.
            LostRace::Unchanged => Err(Unavailable::RotationRefused.into()),
            LostRace::Reused => {
                // Used already or concurrently: nobody should hold a working token of this family.
                warn!(client_id = %client.client_id, family = %old.family_id, "refresh token lost its rotation: revoking its family");
                Err(self
                    .revoke_reused(client, old, "lost_rotation", now, deadline)
                    .await)
            }
        }
    }

    /// The successor `next` of `old`, sealed under the presented token when the client's grace
    /// window is on.
    fn successor(
        &self,
        client: &Client,
        old: &StoredToken,
        (presented, next): (&Secret, &Secret),
        grant: &RefreshGrant,
        now: u64,
    ) -> Successor {
        Successor {
            token_hash: next.hash(),
            issued_at: now,
            expires_at: old.successor_expires_at(now, self.lifetimes(client).refresh_token),
            details: grant.details.clone(),
            sealed: (self.grace(client) > 0).then(|| grace::seal(presented, &old.family_id, next)),
            unconfirmed: false,
            access_until: now,
        }
    }

    /// Sends the rotation (`send_until_answered`); a re-send is marked unconfirmed, with the
    /// successor sealed under the old token whatever the grace window, so the client told `503`
    /// can get it back.
    async fn write_rotation(
        &self,
        old: &StoredToken,
        successor: &mut Successor,
        (presented, next): (&Secret, &Secret),
        now: u64,
        deadline: Deadline,
    ) -> Result<Rotation, TokenError> {
        let mark = |s: &mut Successor| {
            warn!(family = %old.family_id, "refresh-token rotation got no answer: sending it again");
            s.unconfirmed = true;
            if s.sealed.is_none() {
                s.sealed = Some(grace::seal(presented, &old.family_id, next));
            }
        };
        self.send_until_answered(
            successor,
            |s, _| self.refresh.rotate(old, s, now),
            mark,
            deadline,
        )
        .await
    }

    /// Why a rotation of `old` was refused, read again: a concurrent use won (replay its
    /// successor if the rules allow), or the session ended.
    async fn lost_race(
        &self,
        client: &Client,
        old: &StoredToken,
        presented: &Secret,
        now: u64,
        deadline: Deadline,
    ) -> Result<LostRace, TokenError> {
        let token = TokenRef::of(presented);
        let read = self.refresh.get_presented(&token);
        let Some((t, family)) = self
            .within(deadline, "refresh-token store", read)
            .await?
            .map_err(store_unavailable)?
        else {
            return Ok(LostRace::Ended(Unusable::FamilyExpired));
        };
        match t.usable_by(client, family.as_ref(), now) {
            Err(Unusable::Reused) => {
                let window =
                    grace::replay_window(&t, self.grace(client), self.policy.lost_answer_window);
                let replay = self
                    .replayable(&t, family.as_ref(), presented, window, now, deadline)
                    .await?;
                Ok(replay.map_or(LostRace::Reused, LostRace::Replay))
            }
            Err(why) => Ok(LostRace::Ended(why)),
            Ok(())
                if t.status == TokenStatus::Active
                    && family.is_some_and(|f| f.current_token == old.token_hash) =>
            {
                Ok(LostRace::Unchanged)
            }
            Ok(()) => Ok(LostRace::Reused),
        }
    }
}
