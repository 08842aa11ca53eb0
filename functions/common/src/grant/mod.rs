//! The token endpoint's rules (RFC 6749 §4.3, §5): which checks run in which order, and what a
//! successful grant issues. One file per grant (`password`, `refresh`, `client_credentials`);
//! revocation is
//! `crate::revoke`. The handler only translates HTTP to a `TokenRequest` and back.

mod admit;
mod client_credentials;
mod lifetimes;
mod password;
mod refresh;
mod refresh_events;
mod request;
mod rotation;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use tracing::warn;

use crate::access_token::{AccessTokenClaims, AccessTokenIssuer, IssuedAccessToken};
use crate::audit::Event;
use crate::client::{
    self, AuthenticateError, ClientCredentials, ClientRejection, ClientStore, GrantType,
    PasswordGrantSunset, ResponseProfile,
};
use crate::clock::{Clock, Deadline};
use crate::error::{Description, ErrorCode, Fact, Internal, OAuthError, TokenError, Unavailable};
use crate::lockout::{LockoutPolicy, LockoutStore};
use crate::observe;
use crate::password::PasswordVerifier;
use crate::rate_limit::RateLimitStore;
use crate::refresh::{NewFamily, RefreshGrant, RefreshStore, RefreshStoreError};
use crate::scope::Scopes;
use crate::secret::{Secret, SecretHasher, hash_str, random_token};
use crate::user_status::UserDirectory;

pub use lifetimes::Lifetimes;
use request::{GrantRequest, PasswordRequest, RefreshRequest};
pub use request::{RequestedGrant, TokenRequest};

/// Lifetimes and limits that apply to every client unless its record overrides them.
#[derive(Debug, Clone)]
pub struct GrantPolicy {
    pub access_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub refresh_family_ttl: u64,
    pub lockout: LockoutPolicy,
    /// User-detail claims from the auth endpoint that may go into tokens.
    pub user_claims: Vec<String>,
    /// `/token` requests a client may make per minute unless its record says otherwise; 0 is
    /// unlimited.
    pub rate_limit: u32,
    /// Seconds after a rotation during which the rotated token may be retried and gets the same
    /// successor back (`crate::grace`); 0 is off. Clients may override it.
    pub refresh_reuse_grace: u64,
    /// Seconds after a rotation whose answer was lost (the client was told `503`) during which
    /// a retry with the rotated token gets the successor that landed, whatever the grace window
    /// (`LOST_ANSWER_WINDOW_SECONDS`): the function's timeout, the `Retry-After`, and a margin.
    pub lost_answer_window: u64,
    /// Without a user-status endpoint: the most seconds after sign-in that a refresh may still
    /// copy the details captured then (`MAX_CLAIMS_AGE`); `None` is no limit.
    pub max_claims_age: Option<u64>,
}

/// A successful token response (RFC 6749 §5.1). `Debug` hides both tokens.
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
    /// When it was issued (seconds since the epoch), and how long the refresh token lives:
    /// what the Apigee profile answers with besides RFC 6749's members.
    pub issued_at: u64,
    pub refresh_token_expires_in: Option<u64>,
    /// None for `client_credentials` (RFC 6749 §4.4.3): the client authenticates again instead.
    pub refresh_token: Option<Secret>,
    pub scope: Scopes,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("issued_at", &self.issued_at)
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Wires the ports together; built once at cold start.
pub struct TokenService {
    pub clients: Arc<dyn ClientStore>,
    pub refresh: Arc<dyn RefreshStore>,
    pub lockout: Arc<dyn LockoutStore>,
    /// Per-client request counters (the lockouts table in AWS).
    pub rate_limits: Arc<dyn RateLimitStore>,
    pub verifier: Arc<dyn PasswordVerifier>,
    /// The organisation's user-status endpoint, asked on every refresh when configured.
    pub directory: Option<Arc<dyn UserDirectory>>,
    pub issuer: AccessTokenIssuer,
    pub policy: GrantPolicy,
    pub clock: Arc<dyn Clock>,
    /// Hashes and checks client secrets (with the deployment's pepper, when it has one).
    pub secrets: SecretHasher,
}

/// What a request came to, and which client it authenticated as (if it got that far): only an
/// authenticated client_id may be logged as it is.
#[derive(Debug)]
pub struct Handled<T> {
    pub client_id: Option<String>,
    /// How the answer is shaped: the authenticated client's choice, RFC 6749 before that.
    pub answer: Answer,
    pub result: Result<T, TokenError>,
}

impl<T> Handled<T> {
    /// A request refused before its client authenticated: no client to name, RFC 6749's shape.
    pub(crate) fn unauthenticated(e: TokenError) -> Self {
        Self {
            client_id: None,
            answer: Answer::default(),
            result: Err(e),
        }
    }
}

/// What the edge needs to shape a `/token` answer for the client that authenticated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub profile: ResponseProfile,
    pub client_id: String,
    /// The client's name, or its client_id when it has none (Apigee's `application_name`).
    pub application_name: String,
    /// Set on a password grant whose client's password grant has a sunset still to come: the
    /// answer carries `Deprecation` and `Sunset`.
    pub sunset: Option<PasswordGrantSunset>,
}

impl Answer {
    fn for_client(client: &client::Client) -> Self {
        let name = if client.name.is_empty() {
            &client.client_id
        } else {
            &client.name
        };
        Self {
            profile: client.response_profile,
            client_id: client.client_id.clone(),
            application_name: name.clone(),
            sunset: None,
        }
    }
}

impl TokenService {
    /// `POST /token` without a deadline (tests and tools).
    /// The answer as the client sees it.
    pub async fn token(&self, req: &TokenRequest) -> Result<TokenResponse, OAuthError> {
        self.handle_token(req, Deadline::none())
            .await
            .result
            .map_err(|e| e.to_oauth())
    }

    /// `POST /token`, with every outbound call ending before `deadline`. The checks run in the
    /// order that leaks least: a caller learns nothing about grants or users until its client
    /// credentials are good.
    pub async fn handle_token(
        &self,
        req: &TokenRequest,
        deadline: Deadline,
    ) -> Handled<TokenResponse> {
        let (client, counted) = match self.authenticate_counted(req, deadline).await {
            Ok(admitted) => admitted,
            Err(e) => return Handled::unauthenticated(e),
        };
        let mut answer = Answer::for_client(&client);
        // Refused over the limit only now, so the refusal names the client and has its shape.
        let allowed = self
            .check_limit(&client, counted)
            .and_then(|()| self.allowed_grant(&client, req.grant_type));
        let result = match allowed {
            Ok((grant, sunset)) => {
                answer.sunset = sunset;
                self.run_grant(&client, grant, req, deadline).await
            }
            Err(e) => Err(e),
        };
        Handled {
            client_id: Some(client.client_id),
            answer,
            result,
        }
    }

    /// The grant `requested`, if `client` may use it, with the sunset its answer announces (a
    /// password grant whose end is still to come).
    fn allowed_grant(
        &self,
        client: &client::Client,
        requested: RequestedGrant,
    ) -> Result<(GrantType, Option<PasswordGrantSunset>), TokenError> {
        let grant = requested.grant()?;
        if !client.allows(grant) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                Description::with(
                    "this client may not use the {} grant",
                    &[Fact::Name(grant.as_str())],
                ),
            )
            .into());
        }
        let sunset = match grant {
            GrantType::Password => self.password_grant_sunset(client)?,
            _ => None,
        };
        Ok((grant, sunset))
    }

    /// Reads the grant's own parameters, then runs it.
    async fn run_grant(
        &self,
        client: &client::Client,
        grant: GrantType,
        req: &TokenRequest,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        match GrantRequest::read(grant, req)? {
            GrantRequest::Password(p) => self.password_grant(client, p, deadline).await,
            GrantRequest::Refresh(r) => self.refresh_grant(client, r, deadline).await,
            GrantRequest::ClientCredentials { scope } => {
                self.client_credentials_grant(client, scope.as_deref())
            }
        }
    }

    /// Runs one outbound call with at most the time left before the deadline (its own timeout
    /// may be shorter); running out is `503 temporarily_unavailable`.
    pub(crate) async fn within<T>(
        &self,
        deadline: Deadline,
        what: &'static str,
        call: impl Future<Output = T>,
    ) -> Result<T, TokenError> {
        let left = deadline.remaining(self.clock.as_ref());
        tokio::time::timeout(left, call)
            .await
            .map_err(|_| Unavailable::Deadline { dependency: what }.into())
    }

    /// Authenticates a client by the credentials of any client-authenticated request
    /// (`/token`, `/revoke`, `/introspect`).
    pub(crate) async fn authenticate(
        &self,
        credentials: Option<&ClientCredentials>,
        deadline: Deadline,
    ) -> Result<client::Client, TokenError> {
        let Some(creds) = credentials else {
            return Err(OAuthError::invalid_client("client authentication is required").into());
        };
        let lookup = client::authenticate_at(
            self.clients.as_ref(),
            &self.secrets,
            creds,
            self.clock.now(),
        );
        let client = self
            .within(deadline, "client store", lookup)
            .await?
            .map_err(|e| {
                // A client_id that names no client may be anything (even a secret sent in the
                // wrong field): only a short hash of it is logged, which still lets repeated
                // probes be correlated. An id that names a client is ours, not the caller's.
                match e {
                    AuthenticateError::Store(e) => {
                        return TokenError::Unavailable(Unavailable::ClientStore(Box::new(e)));
                    }
                    AuthenticateError::Rejected(ClientRejection::WrongSecret)
                    | AuthenticateError::Rejected(ClientRejection::Disabled) => {
                        warn!(client_id = %creds.client_id, reason = %e, "client authentication failed")
                    }
                    AuthenticateError::Rejected(_) => {
                        warn!(client_id_hash = short_hash(&creds.client_id), reason = %e, "client authentication failed")
                    }
                }
                e.to_oauth().into()
            })?;
        // Every later line of the request names the client: the edge opens a `request` span
        // with this field (a span without it ignores the call).
        tracing::Span::current().record("client_id", client.client_id.as_str());
        Ok(client)
    }

    /// The lifetimes `client` gets: resolved here only, from its record and the deployment's.
    pub(crate) fn lifetimes(&self, client: &client::Client) -> Lifetimes {
        Lifetimes::of(client, &self.policy)
    }

    /// The reuse grace window `client` gets (seconds, 0 = off): its override, else the
    /// deployment's, never more than the maximum.
    pub(crate) fn grace(&self, client: &client::Client) -> u64 {
        client
            .refresh_reuse_grace
            .unwrap_or(self.policy.refresh_reuse_grace)
            .min(crate::grace::MAX_GRACE_SECONDS)
    }

    /// Signs an access token for `grant` in the session (refresh-token family) `sid`.
    pub(crate) fn sign(
        &self,
        grant: &RefreshGrant,
        sid: &str,
        scope: &Scopes,
        lifetimes: Lifetimes,
        now: u64,
    ) -> Result<IssuedAccessToken, TokenError> {
        self.issuer
            .issue(&AccessTokenClaims {
                sub: &grant.sub,
                client_id: &grant.client_id,
                sid: Some(sid),
                scope,
                details: &grant.details,
                auth_time: grant.auth_time,
                now,
                ttl: lifetimes.access_token,
            })
            .map_err(|e| TokenError::Internal(Internal::Signing(Box::new(e))))
    }

    /// Issues an access token and starts a refresh-token family for `grant`.
    async fn issue(
        &self,
        client: &client::Client,
        grant: RefreshGrant,
        now: u64,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        let lifetimes = self.lifetimes(client);
        // The family is the session: its id is the access token's `sid`.
        let family_id = random_token(16);
        let access = self.sign(&grant, &family_id, &grant.scope, lifetimes, now)?;
        let refresh = Secret::generate();
        let family = NewFamily {
            family_id,
            token_hash: refresh.hash(),
            grant,
            issued_at: now,
            token_expires_at: now.saturating_add(lifetimes.refresh_token),
            family_expires_at: now.saturating_add(lifetimes.refresh_family),
        };
        let create = self.refresh.create_family(&family);
        self.within(deadline, "refresh-token store", create)
            .await?
            .map_err(|e| Unavailable::NewFamily(Box::new(e)))?;
        observe::event(&Event::TokenIssued {
            grant_type: GrantType::Password.as_str(),
            client_id: &client.client_id,
            subject: &family.grant.sub,
            scope: &family.grant.scope.to_string(),
            family: Some(&family.family_id),
            password_grant_sunset: client
                .password_grant_sunset
                .map(|s| crate::sunset::rfc3339(s.sunset_at)),
        });
        Ok(TokenResponse {
            access_token: access.token,
            expires_in: access.expires_in,
            issued_at: now,
            refresh_token_expires_in: Some(family.token_expires_at.saturating_sub(now)),
            refresh_token: Some(refresh),
            scope: family.grant.scope,
        })
    }
}

/// The first 12 characters of a value's SHA-256: enough to correlate log lines, useless to
/// recover what a caller sent.
pub fn short_hash(value: &str) -> String {
    let h = hash_str(value);
    h.get(7..19).unwrap_or_default().to_owned()
}

/// The refresh-token store failed: a 503, its cause logged by the edge.
pub(crate) fn store_unavailable(e: RefreshStoreError) -> TokenError {
    Unavailable::RefreshStore(Box::new(e)).into()
}
