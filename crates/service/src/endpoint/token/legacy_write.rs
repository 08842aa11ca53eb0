//! Writing a legacy token's take-over, and what a lost answer to it means: as a code exchange
//! (`code_write`), the write is idempotent and sent again, marked *unconfirmed*, while its
//! outcome is unknown; the session's first refresh token is then sealed on the marker under the
//! legacy token. A client told `503` retries with the same legacy token and gets that session
//! back (`replay_take_over`), never a "used twice".
//!
//! Concurrent first uses of one legacy token: each sends its own take-over; DynamoDB lets one
//! transaction win. A loser reads the marker: another session's is a second use; none yet means
//! the winner has not landed (a transaction conflict), so it tries again, a few times.

use std::time::Duration;

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;
use tracing::{info, warn};

use super::TokenResponse;
use crate::client::{Client, GrantType};
use crate::endpoint::TokenService;
use crate::error::{TokenError, Unavailable};
use crate::legacy::{LegacyPorts, StoredMarker, TakeOver, TakenOver};
use crate::refresh::{NewFamily, grace};

/// Tries of a take-over that found no marker after losing (a concurrent one not landed yet).
const TAKE_OVER_ATTEMPTS: u32 = 5;
const FIRST_CONTENDED_PAUSE: Duration = Duration::from_millis(10);

/// Whose session the legacy token started.
pub(super) enum Taken {
    /// This request's: the marker names its family, which exists.
    Here,
    /// Another use's (earlier, or concurrent and faster): the marker as it is.
    ByAnother(StoredMarker),
}

impl TokenService {
    /// Writes the marker and the session until one answer says which use of the legacy token
    /// won. `503` when the store fails (nothing written, the token usable) or when no use ever
    /// lands within the tries.
    pub(super) async fn write_take_over(
        &self,
        legacy: &LegacyPorts,
        token_hash: &str,
        family: &NewFamily,
        keys: (&Secret, &Secret),
        now: u64,
        deadline: Deadline,
    ) -> Result<Taken, TokenError> {
        let mut write = TakeOver {
            token_hash,
            family,
            unconfirmed: false,
            sealed_refresh: None,
            now,
        };
        let mut pause = FIRST_CONTENDED_PAUSE;
        for _ in 0..TAKE_OVER_ATTEMPTS {
            if self
                .send_take_over(legacy, &mut write, keys, deadline)
                .await?
                == TakenOver::Done
            {
                return Ok(Taken::Here);
            }
            match self.marker(legacy, token_hash, deadline).await? {
                Some(m) if m.family_id == family.family_id => return Ok(Taken::Here),
                Some(m) => return Ok(Taken::ByAnother(m)),
                None => {
                    let nap = tokio::time::sleep(pause);
                    self.within(deadline, "refresh-token store", nap).await?;
                    pause *= 2;
                }
            }
        }
        Err(Unavailable::LegacyContended.into())
    }

    /// Sends the take-over (`send_until_answered`); a re-send is marked unconfirmed, with the
    /// session's refresh token sealed under the legacy token.
    async fn send_take_over<'c>(
        &'c self,
        legacy: &'c LegacyPorts,
        write: &mut TakeOver<'c>,
        (presented, refresh): (&Secret, &Secret),
        deadline: Deadline,
    ) -> Result<TakenOver, TokenError> {
        let mark = |w: &mut TakeOver<'_>| {
            warn!(family = %w.family.family_id, "legacy refresh token take-over got no answer: sending it again");
            w.unconfirmed = true;
            w.sealed_refresh = Some(grace::seal(presented, &w.family.family_id, refresh));
        };
        self.send_until_answered(write, |w, _| legacy.store.take_over(w), mark, deadline)
            .await
    }

    /// The answer again for the retry of a take-over whose answer was lost: the same session and
    /// its first refresh token (still unused), with a new access token. `None` when this is not
    /// such a retry: the take-over was confirmed, the window has passed, another client asks,
    /// the seal does not open with this token, or the session moved on.
    pub(super) async fn replay_take_over(
        &self,
        client: &Client,
        presented: &Secret,
        marker: &StoredMarker,
        asked: Option<&str>,
        now: u64,
        deadline: Deadline,
    ) -> Result<Option<TokenResponse>, TokenError> {
        let window = self.policy.lost_answer_window;
        let retry = marker.unconfirmed
            && now <= marker.at.saturating_add(window)
            && marker.client_id == client.client_id;
        let Some(refresh) = marker
            .sealed_refresh
            .as_deref()
            .filter(|_| retry)
            .and_then(|sealed| grace::open(presented, &marker.family_id, sealed))
        else {
            return Ok(None);
        };
        let Some(token) = self
            .unused_first_token(&marker.family_id, &refresh, now, deadline)
            .await?
        else {
            return Ok(None);
        };
        let grant = &token.grant;
        let scope = grant.refreshed_scope(client, asked)?;
        let session = (marker.family_id.as_str(), token.family_expires_at);
        let access = self.sign(grant, session, &scope, self.lifetimes(client), now)?;
        info!(client_id = %client.client_id, family = %marker.family_id, "legacy refresh token answered again after a lost answer");
        observe::event(&Event::TokenIssued {
            grant_type: GrantType::RefreshToken.as_str(),
            client_id: &client.client_id,
            subject: &grant.sub,
            scope: &scope.to_string(),
            family: Some(&marker.family_id),
            password_grant_sunset: None,
        });
        Ok(Some(TokenResponse {
            access_token: access.token,
            expires_in: access.expires_in,
            issued_at: now,
            refresh_token_expires_in: Some(token.expires_at.saturating_sub(now)),
            refresh_token: Some(refresh),
            scope,
            id_token: None,
        }))
    }
}
