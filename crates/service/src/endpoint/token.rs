//! `POST /token` (RFC 6749 §4.3, §5): which checks run in which order, the grant each request
//! runs, and what a successful grant issues. Before a grant: `admit` (rate limit, sunset); the
//! typed requests: `request`; one file per grant: `authorization_code` (with `code_write`, the
//! exchange's write and what a lost answer to it means), `password` (and the password path the
//! sign-in page shares), `refresh` (with `rotation`), `client_credentials`. The handler only
//! translates HTTP to a `TokenRequest` and back.

mod admit;
mod authorization_code;
mod client_credentials;
mod code_write;
mod legacy;
mod legacy_write;
mod password;
mod refresh;
mod request;
mod resend;
mod rotation;
#[cfg(test)]
mod tests;

use request::{GrantRequest, PasswordRequest, RefreshRequest};
use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::{Description, ErrorCode, Fact, OAuthError};
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;

use super::Handled;
use super::TokenService;
use crate::client::{self, GrantType, PasswordGrantSunset, ResponseProfile};
use crate::error::{TokenError, Unavailable};
use crate::refresh::RefreshGrant;
pub(in crate::endpoint) use password::{SignInAttempt, SignInCheck};
pub use request::{RequestedGrant, TokenRequest};

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
    /// OpenID Connect's ID token: issued with the code exchange when the scope has `openid`.
    pub id_token: Option<String>,
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
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What the edge needs to shape a `/token` answer for the client that authenticated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub profile: ResponseProfile,
    pub client_id: String,
    /// The client's name as its record has it (empty when it has none).
    pub client_name: String,
    /// Set on a password grant whose client's password grant has a sunset still to come: the
    /// answer carries `Deprecation` and `Sunset`.
    pub sunset: Option<PasswordGrantSunset>,
}

impl Answer {
    fn for_client(client: &client::Client) -> Self {
        Self {
            profile: client.response_profile,
            client_id: client.client_id.clone(),
            client_name: client.name.clone(),
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
            // A refresh token Tollgate did not issue goes to the legacy endpoint, if any.
            GrantRequest::Refresh(r) => match self.legacy_for(&r.refresh_token) {
                Some(legacy) => self.legacy_refresh_grant(client, legacy, r, deadline).await,
                None => self.refresh_grant(client, r, deadline).await,
            },
            GrantRequest::ClientCredentials { scope } => {
                self.client_credentials_grant(client, scope.as_deref())
            }
            GrantRequest::AuthorizationCode(c) => {
                self.authorization_code_grant(client, c, deadline).await
            }
        }
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
        let scope = grant.scope.clone();
        let (family, access, refresh) = self.start_session(grant, &scope, lifetimes, now)?;
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
            id_token: None,
        })
    }
}
