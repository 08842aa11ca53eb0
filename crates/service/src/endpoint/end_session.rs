//! `GET`/`POST /end_session` (OpenID Connect RP-Initiated Logout 1.0): an application signs
//! its user out. The `id_token_hint` names the session (`sid`), the user and the client; the
//! session ends the way `revoke-sessions` ends one (its family revoked, a `session_revoked`
//! audit line), and the browser goes back to a `post_logout_redirect_uri` the client registered
//! (exactly), or sees a signed-out page. A hint that is not an ID token Tollgate signed, or a
//! redirect URI the client did not register, ends on an error page: never a redirect.

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::id_token::HintVerifier;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;
use tracing::info;

use super::TokenService;
use crate::client::redirect;
use crate::error::TokenError;

/// Who signs out: the actor of the `session_revoked` line.
pub const ACTOR: &str = "rp_initiated_logout";

/// `/end_session`'s parameters (OpenID Connect RP-Initiated Logout §2).
#[derive(Debug, Clone, Default)]
pub struct EndSessionRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub state: Option<String>,
}

/// What a sign-out came to.
#[derive(Debug)]
pub enum EndedSession {
    /// Back to the client's registered URI, with `state` when one was sent.
    Redirect { uri: String, state: Option<String> },
    /// No URI asked for: the signed-out page.
    SignedOut,
    /// The hint is missing, not Tollgate's, or not the named client's; or the URI is not
    /// registered for it: an error page.
    Refused(LogoutRefusal),
    /// The store did not answer: the page says to try again (the session may still stand).
    Unavailable(TokenError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutRefusal {
    InvalidHint,
    UnregisteredRedirect,
}

impl LogoutRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidHint => "invalid_id_token_hint",
            Self::UnregisteredRedirect => "unregistered_post_logout_redirect_uri",
        }
    }
}

impl TokenService {
    pub async fn end_session(
        &self,
        hints: &HintVerifier,
        req: &EndSessionRequest,
        deadline: Deadline,
    ) -> EndedSession {
        let Some(hint) = req.id_token_hint.as_deref().and_then(|h| hints.verify(h)) else {
            return EndedSession::Refused(LogoutRefusal::InvalidHint);
        };
        if req.client_id.as_ref().is_some_and(|c| *c != hint.client_id) {
            return EndedSession::Refused(LogoutRefusal::InvalidHint);
        }
        let client = match self
            .within(deadline, "client store", self.clients.get(&hint.client_id))
            .await
        {
            Ok(Ok(Some(c))) => c,
            Ok(Ok(None)) => return EndedSession::Refused(LogoutRefusal::InvalidHint),
            Ok(Err(e)) => {
                let e = crate::error::Unavailable::ClientStore(Box::new(e));
                return EndedSession::Unavailable(e.into());
            }
            Err(e) => return EndedSession::Unavailable(e),
        };
        let asked = req.post_logout_redirect_uri.as_deref();
        let back = match asked {
            None => None,
            Some(a) => match redirect::select(&client.post_logout_redirect_uris, Some(a)) {
                Some(uri) => Some(uri.to_owned()),
                None => return EndedSession::Refused(LogoutRefusal::UnregisteredRedirect),
            },
        };
        if let Err(e) = self.end_one_session(&hint, deadline).await {
            return EndedSession::Unavailable(e);
        }
        match back {
            Some(uri) => EndedSession::Redirect {
                uri,
                state: req.state.clone(),
            },
            None => EndedSession::SignedOut,
        }
    }

    /// Ends the hint's session when it is that user's with that client and still stands: the
    /// revocation `revoke-sessions` makes, and its audit line. A session that ended already is
    /// left as it is (a second sign-out is harmless).
    async fn end_one_session(
        &self,
        hint: &tollgate_oauth::id_token::IdTokenHint,
        deadline: Deadline,
    ) -> Result<(), TokenError> {
        let now = self.clock.now();
        let family = self.family(&hint.sid, deadline).await?;
        let ends = family.is_some_and(|f| {
            f.active_at(now) && f.client_id == hint.client_id && f.sub == hint.sub
        });
        if ends {
            self.revoke_family(&hint.sid, now, deadline).await?;
        }
        info!(client_id = %hint.client_id, sessions = u64::from(ends), "session ended by its application (RP-initiated logout)");
        observe::event(&Event::SessionRevoked {
            actor: ACTOR,
            subject: Some(&hint.sub),
            client_id: Some(&hint.client_id),
            sessions: u64::from(ends),
        });
        Ok(())
    }
}
