//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3): the user behind an access token, as the
//! token carries them: `sub` and the allow-listed user details (`USER_CLAIMS`), nothing more.
//! The token must be valid (the keys, issuer, audience and lifetime `/introspect` checks), hold
//! the `openid` scope, and belong to a session that still stands: a revoked session's access
//! token gets nothing here even before it expires.

use serde_json::{Map, Value};
use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::{ErrorCode, OAuthError};
use tracing::info;

use super::introspect::Introspector;
use super::{OPENID, TokenService};
use crate::error::TokenError;

impl TokenService {
    /// The claims `/userinfo` answers with for the bearer token `token`, or why not: `401
    /// invalid_token` (RFC 6750 §3.1) for a token that is not a live access token of a live
    /// session, `403 insufficient_scope` without `openid`.
    pub async fn userinfo(
        &self,
        introspector: &Introspector,
        token: Option<&str>,
        deadline: Deadline,
    ) -> Result<Map<String, Value>, TokenError> {
        let invalid = || {
            TokenError::from(OAuthError::new(
                ErrorCode::InvalidToken,
                "the access token is missing, invalid or expired",
            ))
        };
        let now = self.clock.now();
        let Some(verified) = token
            .and_then(|t| introspector.verifier.verify_at(t, now).ok())
            .filter(|v| now < v.exp)
        else {
            return Err(invalid());
        };
        if !verified.scope.contains(OPENID) {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token does not have the openid scope",
            )
            .into());
        }
        // A token issued from a session (every one with `openid` is): the session must stand.
        let Some(sid) = verified.sid.as_deref() else {
            return Err(invalid());
        };
        let family = self.family(sid, deadline).await?;
        if !family.is_some_and(|f| f.active_at(now) && f.client_id == verified.client_id) {
            info!(client_id = %verified.client_id, "userinfo refused: the session has ended");
            return Err(invalid());
        }
        let mut claims = verified.details;
        claims.insert("sub".into(), verified.sub.into());
        Ok(claims)
    }
}
