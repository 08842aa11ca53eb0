//! Token introspection (RFC 7662): the revocation-aware answer to "is this token active?", at
//! once. Besides the signature and the clock, it asks whether the token's session (refresh-token
//! family) and its client still stand, and whether a revocation names it, its user or its
//! client: the entries the authorizer refuses by (`crate::revocation`), read consistently, so
//! both answer alike once the authorizer's state is within its freshness bound.

use std::fmt;

use serde::Serialize;
use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::OAuthError;
use tollgate_oauth::secret::Secret;
use tollgate_oauth::verify::{AccessTokenVerifier, VerifiedToken};
use tracing::warn;

use crate::client::{Client, ClientCredentials};
use crate::endpoint::{Answer, Handled, TokenService, store_unavailable};
use crate::error::{TokenError, Unavailable};
use crate::refresh::{StoredFamily, StoredToken, TokenRef, TokenStatus};
use crate::revocation::{self, Facts};

/// What the caller says the token is (RFC 7662 §2.1); only a hint: both kinds are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

impl TokenTypeHint {
    /// Unknown hints are ignored (RFC 7662 §2.1: the server extends its search).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access_token" => Some(Self::AccessToken),
            "refresh_token" => Some(Self::RefreshToken),
            _ => None,
        }
    }
}

/// `POST /introspect`, parsed. `Debug` never shows the token.
pub struct IntrospectionRequest {
    pub credentials: Option<ClientCredentials>,
    pub token: Option<Secret>,
    pub token_type_hint: Option<TokenTypeHint>,
}

impl fmt::Debug for IntrospectionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionRequest")
            .field("credentials", &self.credentials)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_type_hint", &self.token_type_hint)
            .finish()
    }
}

/// The answer (RFC 7662 §2.2). Inactive is exactly `{"active": false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Introspection {
    Inactive { active: bool },
    Active(Box<ActiveToken>),
}

impl Introspection {
    pub fn inactive() -> Self {
        Self::Inactive { active: false }
    }
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Active(_))
    }
}

/// What an active token stands for. Access tokens carry every member; a refresh token has no
/// `aud`, `jti` or `token_type` (it is not presented to resource servers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveToken {
    pub active: bool,
    pub scope: String,
    pub client_id: String,
    pub sub: String,
    pub exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    pub iss: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The session (refresh-token family) the token belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// What `/introspect` needs besides the token service: the public keys the access tokens
/// verify with, and the issuer it names. Built once at cold start.
#[derive(Debug)]
pub struct Introspector {
    pub verifier: AccessTokenVerifier,
    pub issuer: String,
}

impl TokenService {
    /// RFC 7662 without a deadline (tests and tools). The answer as the client sees it.
    pub async fn introspect(
        &self,
        introspector: &Introspector,
        req: &IntrospectionRequest,
    ) -> Result<Introspection, OAuthError> {
        self.handle_introspect(introspector, req, Deadline::none())
            .await
            .result
            .map_err(|e| e.to_oauth())
    }

    /// RFC 7662. The client authenticates as at `/token`; it may introspect the tokens issued
    /// to it, and every token when its record says `introspect_any`. Another client's token,
    /// an unknown, expired, revoked or rotated one: `{"active": false}`, all alike. A public
    /// client proves nothing by its id, so it may not introspect (RFC 7662 §2.1 wants the caller
    /// authorized): `invalid_client`, as a missing secret is.
    pub async fn handle_introspect(
        &self,
        introspector: &Introspector,
        req: &IntrospectionRequest,
        deadline: Deadline,
    ) -> Handled<Introspection> {
        let client = match self.authenticate(req.credentials.as_ref(), deadline).await {
            Ok(c) if c.public => {
                let e = OAuthError::invalid_client("client_secret is required");
                return Handled::unauthenticated(e.into());
            }
            Ok(c) => c,
            Err(e) => return Handled::unauthenticated(e),
        };
        let result = match &req.token {
            None => Err(OAuthError::invalid_request("token is required").into()),
            Some(token) => {
                self.introspect_for(introspector, &client, token, req.token_type_hint, deadline)
                    .await
            }
        };
        Handled {
            client_id: Some(client.client_id),
            answer: Answer::default(),
            result,
        }
    }

    async fn introspect_for(
        &self,
        introspector: &Introspector,
        client: &Client,
        token: &Secret,
        hint: Option<TokenTypeHint>,
        deadline: Deadline,
    ) -> Result<Introspection, TokenError> {
        // A JWT has dots; a refresh token is base64url without any. The hint only orders the
        // tries, so a wrong hint never hides an active token.
        let looks_like_jwt = token.expose().contains('.');
        let access_first = hint.map_or(looks_like_jwt, |h| h == TokenTypeHint::AccessToken);
        for access in [access_first, !access_first] {
            let answer = if access {
                self.introspect_access(introspector, client, token, deadline)
                    .await?
            } else {
                self.introspect_refresh(introspector, client, token, deadline)
                    .await?
            };
            if answer.is_active() {
                return Ok(answer);
            }
        }
        Ok(Introspection::inactive())
    }

    async fn introspect_access(
        &self,
        introspector: &Introspector,
        client: &Client,
        token: &Secret,
        deadline: Deadline,
    ) -> Result<Introspection, TokenError> {
        let now = self.clock.now();
        // RFC 7519 §4.1.4: active only *before* `exp` (the authorizer's leeway does not apply).
        let Some(verified) = introspector
            .verifier
            .verify_at(token.expose(), now)
            .ok()
            .filter(|v| now < v.exp)
        else {
            return Ok(Introspection::inactive());
        };
        if !may_see(client, &verified.client_id) {
            warn!(client_id = %client.client_id, "introspection of another client's access token answered inactive");
            return Ok(Introspection::inactive());
        }
        if !self
            .owner_stands(client, &verified.client_id, verified.iat, deadline)
            .await?
        {
            return Ok(Introspection::inactive());
        }
        let sid = verified.sid.as_deref();
        if let Some(sid) = sid {
            let family = self.family(sid, deadline).await?;
            if !family.is_some_and(|f| f.active_at(now) && f.client_id == verified.client_id) {
                return Ok(Introspection::inactive());
            }
        }
        if self.revoked(&verified, now, deadline).await? {
            return Ok(Introspection::inactive());
        }
        Ok(Introspection::Active(Box::new(access_answer(
            &verified,
            introspector.verifier.audience(),
        ))))
    }

    async fn introspect_refresh(
        &self,
        introspector: &Introspector,
        client: &Client,
        token: &Secret,
        deadline: Deadline,
    ) -> Result<Introspection, TokenError> {
        let now = self.clock.now();
        let token = TokenRef::of(token);
        let lookup = self.refresh.get_presented(&token);
        let Some((stored, family)) = self
            .within(deadline, "refresh-token store", lookup)
            .await?
            .map_err(store_unavailable)?
        else {
            return Ok(Introspection::inactive());
        };
        if !may_see(client, &stored.grant.client_id) {
            warn!(client_id = %client.client_id, "introspection of another client's refresh token answered inactive");
            return Ok(Introspection::inactive());
        }
        let since = stored.grant.auth_time;
        if !self
            .owner_stands(client, &stored.grant.client_id, since, deadline)
            .await?
        {
            return Ok(Introspection::inactive());
        }
        if !refresh_active(&stored, family.as_ref(), now) {
            return Ok(Introspection::inactive());
        }
        Ok(Introspection::Active(Box::new(ActiveToken {
            active: true,
            scope: stored.grant.scope.to_string(),
            client_id: stored.grant.client_id.clone(),
            sub: stored.grant.sub.clone(),
            exp: stored.expires_at.min(stored.family_expires_at),
            iat: Some(stored.issued_at),
            token_type: None,
            iss: introspector.issuer.clone(),
            aud: None,
            jti: None,
            sid: Some(stored.family_id.clone()),
        })))
    }

    /// Whether the client a token was issued to still stands behind it: its record exists, is
    /// enabled, and was created no later than `since` (the token's issue or its session's
    /// sign-in), so a client deleted and created again under the same id inherits no token, as
    /// `StoredToken::usable_by` rules for refresh. The caller's own record was just read; another
    /// owner's costs one lookup.
    async fn owner_stands(
        &self,
        caller: &Client,
        owner: &str,
        since: u64,
        deadline: Deadline,
    ) -> Result<bool, TokenError> {
        let looked_up;
        let record = if owner == caller.client_id {
            Some(caller)
        } else {
            let lookup = self.clients.get(owner);
            looked_up = self
                .within(deadline, "client store", lookup)
                .await?
                .map_err(|e| Unavailable::ClientStore(Box::new(e)))?;
            looked_up.as_ref()
        };
        Ok(record.is_some_and(|c| c.enabled && c.created_at <= since))
    }
}

impl TokenService {
    /// Whether a revocation names the access token `v`, its user (up to a cut-off) or its
    /// client (up to a cut-off), as the authorizer asks it.
    async fn revoked(
        &self,
        v: &VerifiedToken,
        now: u64,
        deadline: Deadline,
    ) -> Result<bool, TokenError> {
        let facts = Facts {
            sid: v.sid.as_deref(),
            jti: v.jti.as_deref(),
            sub: &v.sub,
            client_id: &v.client_id,
            iat: v.iat,
        };
        let keys = revocation::keys_of(&facts);
        let found = self
            .within(deadline, "revocation store", self.revocations.find(&keys))
            .await?
            .map_err(|e| Unavailable::RevocationStore(Box::new(e)))?;
        Ok(revocation::refused(&found, &facts, now).is_some())
    }
}

/// A client sees its own tokens; one whose record grants introspection sees every token.
fn may_see(client: &Client, owner: &str) -> bool {
    client.introspect_any || client.client_id == owner
}

/// A refresh token is active while it is its family's current token, unexpired, and the family
/// (the session) is neither revoked nor past its absolute lifetime.
fn refresh_active(t: &StoredToken, family: Option<&StoredFamily>, now: u64) -> bool {
    t.status == TokenStatus::Active
        && now < t.expires_at
        && now < t.family_expires_at
        && family.is_some_and(|f| f.active_at(now) && f.current_token == t.token_hash)
}

/// An active access token's answer. Its `aud` is the audience it was verified for (it names
/// it, alone or in a list).
fn access_answer(v: &VerifiedToken, audience: &str) -> ActiveToken {
    ActiveToken {
        active: true,
        scope: v.scope.to_string(),
        client_id: v.client_id.clone(),
        sub: v.sub.clone(),
        exp: v.exp,
        iat: Some(v.iat),
        token_type: Some("Bearer"),
        iss: v.iss.clone(),
        aud: Some(audience.to_owned()),
        jti: v.jti.clone(),
        sid: v.sid.clone(),
    }
}

#[cfg(test)]
mod tests;
