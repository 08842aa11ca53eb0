//! Writing a code's exchange, and what a lost answer to it means: as a refresh rotation
//! (`rotation`), the write is idempotent and sent again, marked *unconfirmed*, while its outcome
//! is unknown; the session's first refresh token is then sealed on the code's record under the
//! code and the verifier. A client told `503` retries with the same code and verifier and gets
//! that session back (`replay_exchange`), never a "code used twice" that ends it.

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;
use tracing::{info, warn};

use super::TokenResponse;
use super::request::CodeExchangeRequest;
use crate::client::{Client, GrantType};
use crate::code::{Exchange, ExchangeWrite, Exchanged, StoredCode};
use crate::endpoint::{TokenService, store_unavailable};
use crate::error::TokenError;
use crate::refresh::grace;
use crate::refresh::{NewFamily, StoredToken, TokenRef};

/// How the exchange's write ended.
pub(super) enum Written {
    /// The code is consumed by this exchange and its session exists.
    Done,
    /// Another exchange of the same code consumed it.
    Lost,
}

impl TokenService {
    /// Sends the exchange. While its outcome is unknown (no answer came: it may have landed),
    /// sends it again, marked unconfirmed and with the refresh token sealed under the code and
    /// the verifier, until an answer comes or the time runs out. The first send gets at most
    /// half the time left. A store that answers with an error wrote nothing: `503` at once, the
    /// code untouched.
    pub(super) async fn write_exchange(
        &self,
        code_hash: &str,
        family: &NewFamily,
        (code, verifier, refresh): (&Secret, &str, &Secret),
        now: u64,
        deadline: Deadline,
    ) -> Result<Written, TokenError> {
        let mut write = ExchangeWrite {
            code_hash,
            family,
            unconfirmed: false,
            sealed_refresh: None,
            now,
        };
        let mark = |w: &mut ExchangeWrite<'_>| {
            warn!(family = %family.family_id, "authorization code exchange got no answer: sending it again");
            w.unconfirmed = true;
            let key = StoredCode::sealing_key(code, verifier);
            w.sealed_refresh = Some(grace::seal(&key, &family.family_id, refresh));
        };
        let exchange = self
            .send_until_answered(&mut write, |w, _| self.codes.exchange(w), mark, deadline)
            .await?;
        Ok(written(exchange))
    }

    /// A session's first refresh token, when it is still the session's unused current token:
    /// what the retry of a write whose answer was lost (a code exchange, a legacy take-over)
    /// may be given back. `None` once the session moved on or ended.
    pub(super) async fn unused_first_token(
        &self,
        family_id: &str,
        refresh: &Secret,
        now: u64,
        deadline: Deadline,
    ) -> Result<Option<StoredToken>, TokenError> {
        let token = TokenRef::of(refresh);
        let read = self.refresh.get_presented(&token);
        let Some((record, family)) = self
            .within(deadline, "refresh-token store", read)
            .await?
            .map_err(store_unavailable)?
        else {
            return Ok(None);
        };
        let unused = record.family_id == family_id
            && grace::still_unused(family.as_ref(), Some(&record), &token.token_hash, now).is_ok();
        Ok(unused.then_some(record))
    }

    /// The answer again for the retry of an exchange whose answer was lost: the same session
    /// and its first refresh token (still unused), with a new access token. `None` when this is
    /// not such a retry: the exchange was confirmed, the window has passed, the verifier or
    /// redirect URI differs, or the session moved on.
    pub(super) async fn replay_exchange(
        &self,
        client: &Client,
        req: &CodeExchangeRequest,
        stored: &StoredCode,
        now: u64,
        deadline: Deadline,
    ) -> Result<Option<TokenResponse>, TokenError> {
        let Some((ex, refresh)) = self.replay_candidate(client, req, stored, now) else {
            return Ok(None);
        };
        let Some(token) = self
            .unused_first_token(&ex.family_id, &refresh, now, deadline)
            .await?
        else {
            return Ok(None);
        };
        let grant = &token.grant;
        // A token signed here is one a request in flight may sign: the session's revocation entry
        // outlives it without the family recording it (`crate::revocation::session_ended`).
        let session = (ex.family_id.as_str(), token.family_expires_at);
        let access = self.sign(grant, session, &grant.scope, self.lifetimes(client), now)?;
        let nonce = stored.request.nonce.as_deref();
        let id_token = self.id_token(grant, &ex.family_id, nonce, &access, now)?;
        info!(client_id = %client.client_id, family = %ex.family_id, "authorization code exchange answered again after a lost answer");
        observe::event(&Event::TokenIssued {
            grant_type: GrantType::AuthorizationCode.as_str(),
            client_id: &client.client_id,
            subject: &grant.sub,
            scope: &grant.scope.to_string(),
            family: Some(&ex.family_id),
            password_grant_sunset: None,
        });
        Ok(Some(TokenResponse {
            access_token: access.token,
            expires_in: access.expires_in,
            issued_at: now,
            refresh_token_expires_in: Some(token.expires_at.saturating_sub(now)),
            refresh_token: Some(refresh),
            scope: grant.scope.clone(),
            id_token,
        }))
    }
}

impl TokenService {
    /// The unconfirmed exchange of `stored` and the refresh token sealed on it, when `req` is
    /// its retry: within the lost-answer window, by the same client with the same redirect URI
    /// and verifier (the code's lifetime aside: the retry is late by design).
    fn replay_candidate<'a>(
        &self,
        client: &Client,
        req: &CodeExchangeRequest,
        stored: &'a StoredCode,
        now: u64,
    ) -> Option<(&'a Exchanged, Secret)> {
        let ex = stored.exchange.as_ref().filter(|e| {
            e.unconfirmed && now <= e.at.saturating_add(self.policy.lost_answer_window)
        })?;
        let mut unused = stored.clone();
        unused.exchange = None;
        let asked = req.redirect_uri.as_deref();
        unused
            .exchangeable_by(
                &client.client_id,
                asked,
                &req.code_verifier,
                stored.issued_at,
            )
            .ok()?;
        let key = StoredCode::sealing_key(&req.code, &req.code_verifier);
        let sealed = ex.sealed_refresh.as_deref()?;
        grace::open(&key, &ex.family_id, sealed).map(|refresh| (ex, refresh))
    }
}

fn written(e: Exchange) -> Written {
    match e {
        Exchange::Done => Written::Done,
        Exchange::Refused => Written::Lost,
    }
}
