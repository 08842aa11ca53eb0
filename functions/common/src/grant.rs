//! The token endpoint's rules (RFC 6749 §4.3, §5): which checks run in which order, and what a
//! successful grant issues. The handler only translates HTTP to a `TokenRequest` and back.

use std::collections::HashMap;
use std::sync::Arc;

use tracing::{info, warn};

use crate::access_token::{
    AccessTokenClaims, AccessTokenIssuer, IssuedAccessToken, allowed_details,
};
use crate::client::{
    self, AuthenticateError, ClientCredentials, ClientRejection, ClientStore, GrantType,
};
use crate::clock::{Clock, Deadline};
use crate::error::{ErrorCode, OAuthError};
use crate::lockout::{LockoutPolicy, LockoutStore, Reservation, clean_username, lockout_key};
use crate::password::{PasswordCheck, PasswordVerifier};
use crate::refresh::{
    NewFamily, RefreshGrant, RefreshStore, RefreshStoreError, Rotation, Successor, TokenStatus,
};
use crate::scope::Scopes;
use crate::secret::{Secret, SecretHasher, hash_str, random_token};

/// Lifetimes and limits that apply to every client unless its record overrides them.
#[derive(Debug, Clone)]
pub struct GrantPolicy {
    pub access_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub refresh_family_ttl: u64,
    pub lockout: LockoutPolicy,
    /// User-detail claims from the auth endpoint that may go into tokens.
    pub user_claims: Vec<String>,
}

/// A token request after form parsing: the parameters, with client credentials taken out.
/// `Debug` names the parameters but shows no value: they include passwords and tokens.
pub struct TokenRequest {
    pub credentials: Option<ClientCredentials>,
    /// Every other parameter, each at most once; empty values were dropped (RFC 6749 §3.1).
    pub params: HashMap<String, String>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.params.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("TokenRequest")
            .field("credentials", &self.credentials)
            .field("params", &names)
            .finish()
    }
}

impl TokenRequest {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
    fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.param(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }
}

/// A successful token response (RFC 6749 §5.1). `Debug` hides both tokens.
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Secret,
    pub scope: Scopes,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
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
    pub verifier: Arc<dyn PasswordVerifier>,
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
    pub result: Result<T, OAuthError>,
}

impl TokenService {
    /// `POST /token` without a deadline (tests and tools).
    pub async fn token(&self, req: &TokenRequest) -> Result<TokenResponse, OAuthError> {
        self.handle_token(req, Deadline::none()).await.result
    }

    /// `POST /token`, with every outbound call ending before `deadline`.
    pub async fn handle_token(
        &self,
        req: &TokenRequest,
        deadline: Deadline,
    ) -> Handled<TokenResponse> {
        let mut client_id = None;
        let result = self.token_inner(req, deadline, &mut client_id).await;
        Handled { client_id, result }
    }

    /// Runs the checks in the order that leaks least: a caller learns nothing about grants or
    /// users until its client credentials are good.
    async fn token_inner(
        &self,
        req: &TokenRequest,
        deadline: Deadline,
        authenticated: &mut Option<String>,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.client(req, deadline).await?;
        *authenticated = Some(client.client_id.clone());
        let grant_type = req.required("grant_type")?;
        let Some(grant) = GrantType::parse(grant_type) else {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "grant_type is not supported",
            ));
        };
        if !client.allows(grant) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("this client may not use the {} grant", grant.as_str()),
            ));
        }
        match grant {
            GrantType::Password => self.password_grant(&client, req, deadline).await,
            GrantType::RefreshToken => self.refresh_grant(&client, req, deadline).await,
        }
    }

    /// Runs one outbound call with at most the time left before the deadline (its own timeout
    /// may be shorter); running out is `503 temporarily_unavailable`.
    async fn within<T>(
        &self,
        deadline: Deadline,
        what: &'static str,
        call: impl Future<Output = T>,
    ) -> Result<T, OAuthError> {
        let left = deadline.remaining(self.clock.as_ref());
        match tokio::time::timeout(left, call).await {
            Ok(out) => Ok(out),
            Err(_) => {
                warn!(
                    dependency = what,
                    "no answer before the function's deadline"
                );
                Err(OAuthError::unavailable())
            }
        }
    }

    /// Authenticates the client of a request that needs one (`/token`, `/revoke`).
    async fn client(
        &self,
        req: &TokenRequest,
        deadline: Deadline,
    ) -> Result<client::Client, OAuthError> {
        let Some(creds) = &req.credentials else {
            return Err(OAuthError::invalid_client(
                "client authentication is required",
            ));
        };
        let lookup = client::authenticate_with(self.clients.as_ref(), &self.secrets, creds);
        self.within(deadline, "client store", lookup)
            .await?
            .map_err(|e| {
                // A client_id that names no client may be anything (even a secret sent in the
                // wrong field): only a short hash of it is logged, which still lets repeated
                // probes be correlated. An id that names a client is ours, not the caller's.
                match e {
                    AuthenticateError::Rejected(ClientRejection::WrongSecret)
                    | AuthenticateError::Rejected(ClientRejection::Disabled) => {
                        warn!(client_id = %creds.client_id, reason = %e, "client authentication failed")
                    }
                    _ => {
                        warn!(client_id_hash = short_hash(&creds.client_id), reason = %e, "client authentication failed")
                    }
                }
                e.to_oauth()
            })
    }

    /// RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14.2): every use retires the
    /// token and returns its successor; presenting a retired token revokes the whole family.
    async fn refresh_grant(
        &self,
        client: &client::Client,
        req: &TokenRequest,
        deadline: Deadline,
    ) -> Result<TokenResponse, OAuthError> {
        let presented = Secret::new(req.required("refresh_token")?);
        let now = self.clock.now();
        let hash = presented.hash();
        let lookup = self.refresh.get_token(&hash);
        let Some(old) = self
            .within(deadline, "refresh-token store", lookup)
            .await?
            .map_err(store_unavailable)?
        else {
            return Err(bad_refresh_token());
        };
        check_owner(client, &old.grant)?;
        if old.status == TokenStatus::Rotated {
            warn!(client_id = %client.client_id, family = %old.family_id, "refresh token reused: revoking its family");
            self.revoke_family(&old.family_id, now, deadline).await?;
            return Err(bad_refresh_token());
        }
        if now >= old.expires_at || now >= old.family_expires_at {
            return Err(bad_refresh_token());
        }
        let scope = refresh_scope(client, &old.grant, req.param("scope"))?;
        let access = self.sign(client, &old.grant, &scope, now)?;
        let refresh = Secret::generate();
        let lifetimes = Lifetimes::of(client, &self.policy);
        let successor = Successor {
            token_hash: refresh.hash(),
            issued_at: now,
            expires_at: now
                .saturating_add(lifetimes.refresh_token)
                .min(old.family_expires_at),
        };
        let rotation = self.refresh.rotate(&old, &successor, now);
        match self
            .within(deadline, "refresh-token store", rotation)
            .await?
            .map_err(store_unavailable)?
        {
            Rotation::Rotated => Ok(TokenResponse {
                access_token: access.token,
                expires_in: access.expires_in,
                refresh_token: refresh,
                scope,
            }),
            Rotation::Refused => {
                // Used already, used concurrently, revoked or expired: in every case nobody
                // should hold a working token of this family any more.
                warn!(client_id = %client.client_id, family = %old.family_id, "refresh token lost its rotation: revoking its family");
                self.revoke_family(&old.family_id, now, deadline).await?;
                Err(bad_refresh_token())
            }
        }
    }

    async fn revoke_family(
        &self,
        family_id: &str,
        now: u64,
        deadline: Deadline,
    ) -> Result<(), OAuthError> {
        let call = self.refresh.revoke_family(family_id, now);
        self.within(deadline, "refresh-token store", call)
            .await?
            .map_err(store_unavailable)
    }

    /// RFC 7009 without a deadline (tests and tools).
    pub async fn revoke(&self, req: &TokenRequest) -> Result<(), OAuthError> {
        self.handle_revoke(req, Deadline::none()).await.result
    }

    /// RFC 7009. The client must authenticate; a refresh token it owns has its whole family
    /// revoked. Unknown tokens, tokens of other clients, and access tokens (short-lived JWTs,
    /// not stored) are accepted without effect, so the answer reveals nothing.
    pub async fn handle_revoke(&self, req: &TokenRequest, deadline: Deadline) -> Handled<()> {
        let client = match self.client(req, deadline).await {
            Ok(c) => c,
            Err(e) => {
                return Handled {
                    client_id: None,
                    result: Err(e),
                };
            }
        };
        let result = self.revoke_for(&client, req, deadline).await;
        Handled {
            client_id: Some(client.client_id),
            result,
        }
    }

    async fn revoke_for(
        &self,
        client: &client::Client,
        req: &TokenRequest,
        deadline: Deadline,
    ) -> Result<(), OAuthError> {
        let token = Secret::new(req.required("token")?);
        let now = self.clock.now();
        let hash = token.hash();
        let lookup = self.refresh.get_token(&hash);
        match self
            .within(deadline, "refresh-token store", lookup)
            .await?
            .map_err(store_unavailable)?
        {
            Some(t) if t.grant.client_id == client.client_id => {
                self.revoke_family(&t.family_id, now, deadline).await?;
                info!(client_id = %client.client_id, family = %t.family_id, "refresh-token family revoked");
            }
            Some(_) => {
                warn!(client_id = %client.client_id, "revocation of another client's token ignored")
            }
            None => {}
        }
        Ok(())
    }

    async fn password_grant(
        &self,
        client: &client::Client,
        req: &TokenRequest,
        deadline: Deadline,
    ) -> Result<TokenResponse, OAuthError> {
        let username = clean_username(req.required("username")?)
            .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        let password = Secret::new(req.required("password")?);
        let scope = Scopes::resolve(
            req.param("scope"),
            &client.allowed_scopes,
            &client.default_scopes,
        )?;
        let now = self.clock.now();
        let key = lockout_key(username);
        self.reserve_attempt(client, &key, now, deadline).await?;
        let check = self.verifier.verify(username, &password, &client.client_id);
        let check = match self.within(deadline, "auth endpoint", check).await {
            Ok(Ok(check)) => check,
            failed => {
                if let Ok(Err(e)) = &failed {
                    warn!(client_id = %client.client_id, error = %e, "auth endpoint failed");
                }
                // No answer: nobody learnt anything from this attempt, so it is given back.
                self.release_attempt(&key).await;
                return Err(OAuthError::unavailable());
            }
        };
        let user = match check {
            PasswordCheck::Valid(user) => user,
            PasswordCheck::Invalid => return Err(self.failed_attempt(client, &key, now).await),
        };
        if self.lockout_on() {
            // A failed reset only leaves an older count that expires by TTL; the login stands.
            if let Err(e) = self.lockout.reset(&key).await {
                warn!(error = %e, "failed to reset login-failure counter");
            }
        }
        let details = allowed_details(&user.details, &self.policy.user_claims);
        let grant = RefreshGrant {
            client_id: client.client_id.clone(),
            sub: user.sub,
            scope,
            details,
            auth_time: now,
        };
        self.issue(client, grant, now, deadline).await
    }

    fn lockout_on(&self) -> bool {
        self.policy.lockout.max_failures > 0
    }

    /// Takes one of the username's attempts before its password is checked, so that parallel
    /// guesses are all counted; refused when locked or none is left.
    async fn reserve_attempt(
        &self,
        client: &client::Client,
        key: &str,
        now: u64,
        deadline: Deadline,
    ) -> Result<(), OAuthError> {
        if !self.lockout_on() {
            return Ok(());
        }
        let reserve = self.lockout.reserve(key, now, &self.policy.lockout);
        let reservation = self
            .within(deadline, "lockout store", reserve)
            .await?
            .map_err(|e| {
                warn!(error = %e, source = ?std::error::Error::source(&e), "lockout check failed");
                OAuthError::unavailable()
            })?;
        match reservation {
            Reservation::Granted => Ok(()),
            Reservation::Locked => {
                info!(client_id = %client.client_id, "password grant refused: username locked");
                Err(locked_error())
            }
            Reservation::Busy => {
                // Every attempt of the window is being checked right now: this one waits its
                // turn (503 with Retry-After) rather than be told its password is wrong.
                info!(client_id = %client.client_id, "password grant deferred: all attempts in flight");
                Err(OAuthError::unavailable())
            }
        }
    }

    async fn release_attempt(&self, key: &str) {
        if self.lockout_on()
            && let Err(e) = self.lockout.release(key).await
        {
            warn!(error = %e, "failed to give back a login attempt");
        }
    }

    /// Counts a wrong password; the failure that reaches the limit locks the username.
    async fn failed_attempt(&self, client: &client::Client, key: &str, now: u64) -> OAuthError {
        if self.lockout_on() {
            match self
                .lockout
                .record_failure(key, now, &self.policy.lockout)
                .await
            {
                Ok(Some(_)) => {
                    info!(client_id = %client.client_id, "username locked after repeated failures");
                    return locked_error();
                }
                Ok(None) => {}
                // The attempt stays reserved, so the limit still holds.
                Err(e) => warn!(error = %e, "failed to count login failure"),
            }
        }
        OAuthError::invalid_grant("the username or password is wrong")
    }

    fn sign(
        &self,
        client: &client::Client,
        grant: &RefreshGrant,
        scope: &Scopes,
        now: u64,
    ) -> Result<IssuedAccessToken, OAuthError> {
        self.issuer
            .issue(&AccessTokenClaims {
                sub: &grant.sub,
                client_id: &grant.client_id,
                scope,
                details: &grant.details,
                auth_time: grant.auth_time,
                now,
                ttl: Lifetimes::of(client, &self.policy).access_token,
            })
            .map_err(|e| {
                warn!(error = %e, "signing failed");
                OAuthError::new(ErrorCode::ServerError, "the token could not be issued")
            })
    }

    /// Issues an access token and starts a refresh-token family for `grant`.
    async fn issue(
        &self,
        client: &client::Client,
        grant: RefreshGrant,
        now: u64,
        deadline: Deadline,
    ) -> Result<TokenResponse, OAuthError> {
        let lifetimes = Lifetimes::of(client, &self.policy);
        let access = self.sign(client, &grant, &grant.scope, now)?;
        let refresh = Secret::generate();
        let family = NewFamily {
            family_id: random_token(16),
            token_hash: refresh.hash(),
            grant,
            issued_at: now,
            token_expires_at: now.saturating_add(lifetimes.refresh_token),
            family_expires_at: now.saturating_add(lifetimes.refresh_family),
        };
        let create = self.refresh.create_family(&family);
        self.within(deadline, "refresh-token store", create)
            .await?
            .map_err(|e| {
                warn!(error = %e, "failed to store refresh token");
                OAuthError::unavailable()
            })?;
        Ok(TokenResponse {
            access_token: access.token,
            expires_in: access.expires_in,
            refresh_token: refresh,
            scope: family.grant.scope,
        })
    }
}

/// The lifetimes one client gets: its overrides where it has them, else the deployment's, and
/// never more than the hard maximums (a record written by hand cannot exceed them either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_token: u64,
    pub refresh_token: u64,
    pub refresh_family: u64,
}

impl Lifetimes {
    pub fn of(client: &client::Client, policy: &GrantPolicy) -> Self {
        let pick = |own: Option<u64>, default: u64, max: u64| own.unwrap_or(default).clamp(1, max);
        let refresh_family = pick(
            client.refresh_family_ttl,
            policy.refresh_family_ttl,
            client::MAX_REFRESH_FAMILY_TTL,
        );
        Self {
            access_token: pick(
                client.access_token_ttl,
                policy.access_token_ttl,
                client::MAX_ACCESS_TOKEN_TTL,
            ),
            refresh_token: pick(
                client.refresh_token_ttl,
                policy.refresh_token_ttl,
                client::MAX_REFRESH_TOKEN_TTL,
            )
            .min(refresh_family),
            refresh_family,
        }
    }
}

/// A refresh token works only for the client it was issued to, and only if that client record
/// is not younger than it: a client deleted and created again under the same id must not
/// inherit the old client's sessions.
fn check_owner(client: &client::Client, grant: &RefreshGrant) -> Result<(), OAuthError> {
    if grant.client_id != client.client_id {
        warn!(client_id = %client.client_id, "refresh token presented by a client it was not issued to");
        return Err(bad_refresh_token());
    }
    if grant.auth_time < client.created_at {
        warn!(client_id = %client.client_id, "refresh token older than its client record");
        return Err(bad_refresh_token());
    }
    Ok(())
}

/// The scope of a refreshed access token: it may narrow, never widen, and never exceed what the
/// client is allowed today. The successor refresh token keeps the original scope (§6).
fn refresh_scope(
    client: &client::Client,
    grant: &RefreshGrant,
    asked: Option<&str>,
) -> Result<Scopes, OAuthError> {
    let Some(raw) = asked else {
        return Ok(grant.scope.intersection(&client.allowed_scopes));
    };
    let asked = Scopes::parse(raw)?;
    if asked.is_empty()
        || !asked.is_subset_of(&grant.scope)
        || !asked.is_subset_of(&client.allowed_scopes)
    {
        return Err(OAuthError::invalid_scope(
            "the requested scope exceeds the scope originally granted",
        ));
    }
    Ok(asked)
}

/// The first 12 characters of a value's SHA-256: enough to correlate log lines, useless to
/// recover what a caller sent.
pub fn short_hash(value: &str) -> String {
    let h = hash_str(value);
    h.get(7..19).unwrap_or_default().to_owned()
}

/// The refresh-token store failed: the cause goes to the log, the client gets a 503.
fn store_unavailable(e: RefreshStoreError) -> OAuthError {
    warn!(error = %e, source = ?std::error::Error::source(&e), "refresh-token store failed");
    OAuthError::unavailable()
}

/// One answer for every bad refresh token, so a caller cannot tell unknown from revoked.
fn bad_refresh_token() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}

fn locked_error() -> OAuthError {
    OAuthError::invalid_grant("too many failed attempts for this username; try again later")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::keys::{SigningAlg, SigningKey, generate_pem};
    use crate::password::VerifiedUser;
    use crate::store::memory::{MemoryClients, MemoryLockout, MemoryRefresh, MemoryVerifier};

    struct Fixture {
        service: TokenService,
        verifier: Arc<MemoryVerifier>,
        refresh: Arc<MemoryRefresh>,
        clock: ManualClock,
    }

    async fn fixture() -> Fixture {
        let clients = Arc::new(MemoryClients::default());
        let mk = |id: &str, secret: &str, enabled: bool, grants: Vec<GrantType>| client::Client {
            client_id: id.into(),
            name: id.into(),
            secret_hash: Secret::new(secret).hash(),
            enabled,
            grant_types: grants,
            allowed_scopes: Scopes::parse("read write").unwrap(),
            default_scopes: Scopes::parse("read").unwrap(),
            access_token_ttl: None,
            refresh_token_ttl: None,
            refresh_family_ttl: None,
            created_at: 0,
        };
        let both = vec![GrantType::Password, GrantType::RefreshToken];
        for client in [
            mk("app", "app-secret", true, both.clone()),
            mk("other", "other-secret", true, both),
            mk("off", "off-secret", false, vec![GrantType::Password]),
            mk("norop", "norop-secret", true, vec![GrantType::RefreshToken]),
        ] {
            clients.create(&client).await.unwrap();
        }
        let user = VerifiedUser {
            sub: "u-1".into(),
            details: serde_json::from_str(r#"{"sub":"u-1","email":"a@b","password_hash":"x"}"#)
                .unwrap(),
        };
        let verifier = Arc::new(MemoryVerifier::default().with_user("alice", "pw", user));
        let refresh = Arc::new(MemoryRefresh::default());
        let clock = ManualClock::new(1_000_000);
        let key = SigningKey::from_pem(
            &generate_pem(SigningAlg::Es256).unwrap(),
            SigningAlg::Es256,
            None,
        )
        .unwrap();
        let service = TokenService {
            clients,
            refresh: refresh.clone(),
            lockout: Arc::new(MemoryLockout::default()),
            verifier: verifier.clone(),
            issuer: AccessTokenIssuer::new("iss".into(), "aud".into(), Arc::new(key)),
            policy: GrantPolicy {
                access_token_ttl: 900,
                refresh_token_ttl: 3600,
                refresh_family_ttl: 7200,
                lockout: LockoutPolicy {
                    max_failures: 3,
                    window_secs: 60,
                    lockout_secs: 300,
                },
                user_claims: vec!["email".into()],
            },
            clock: Arc::new(clock.clone()),
            secrets: SecretHasher::default(),
        };
        Fixture {
            service,
            verifier,
            refresh,
            clock,
        }
    }

    fn req(client: &str, secret: &str, params: &[(&str, &str)]) -> TokenRequest {
        TokenRequest {
            credentials: Some(ClientCredentials {
                client_id: client.into(),
                secret: Secret::new(secret),
                via_basic: false,
            }),
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn password(user: &str, pw: &str) -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", "password".into()),
            ("username", user.into()),
            ("password", pw.into()),
        ]
    }

    async fn code(f: &Fixture, r: TokenRequest) -> Option<ErrorCode> {
        f.service.token(&r).await.err().map(|e| e.code)
    }

    fn to_params<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        v.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    #[tokio::test]
    async fn password_grant_issues_tokens_with_default_scope_and_allowed_details() {
        let f = fixture().await;
        let p = password("alice", "pw");
        let resp = f
            .service
            .token(&req("app", "app-secret", &to_params(&p)))
            .await
            .unwrap();
        assert_eq!(resp.scope.to_string(), "read");
        assert_eq!(resp.expires_in, 900);
        let tokens = f.refresh.tokens.lock().unwrap();
        assert_eq!(tokens.len(), 1);
        let t = &tokens[&resp.refresh_token.hash()];
        assert_eq!(t.grant.sub, "u-1");
        assert_eq!(
            serde_json::Value::Object(t.grant.details.clone()),
            serde_json::json!({"email": "a@b"})
        );
        assert_eq!(t.expires_at, 1_000_000 + 3600);
        assert_eq!(t.family_expires_at, 1_000_000 + 7200);
    }

    #[tokio::test]
    async fn client_errors_come_before_grant_errors() {
        let f = fixture().await;
        let p = password("alice", "pw");
        assert_eq!(
            code(&f, req("nobody", "x", &to_params(&p))).await,
            Some(ErrorCode::InvalidClient)
        );
        assert_eq!(
            code(&f, req("app", "wrong", &to_params(&p))).await,
            Some(ErrorCode::InvalidClient)
        );
        assert_eq!(
            code(&f, req("off", "off-secret", &to_params(&p))).await,
            Some(ErrorCode::InvalidClient)
        );
        assert_eq!(
            code(&f, req("norop", "norop-secret", &to_params(&p))).await,
            Some(ErrorCode::UnauthorizedClient)
        );
        assert_eq!(
            code(&f, req("app", "app-secret", &[("grant_type", "magic")])).await,
            Some(ErrorCode::UnsupportedGrantType)
        );
        assert_eq!(
            code(&f, req("app", "app-secret", &[("username", "alice")])).await,
            Some(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            f.verifier.calls(),
            0,
            "the auth endpoint must not be asked for a bad client"
        );
    }

    #[tokio::test]
    async fn missing_username_or_password_is_invalid_request() {
        let f = fixture().await;
        let r = req(
            "app",
            "app-secret",
            &[("grant_type", "password"), ("username", "alice")],
        );
        assert_eq!(code(&f, r).await, Some(ErrorCode::InvalidRequest));
    }

    #[tokio::test]
    async fn scope_outside_the_clients_allowed_set_is_invalid_scope() {
        let f = fixture().await;
        let pw = password("alice", "pw");
        let mut p = to_params(&pw);
        p.push(("scope", "read admin"));
        assert_eq!(
            code(&f, req("app", "app-secret", &p)).await,
            Some(ErrorCode::InvalidScope)
        );
    }

    #[tokio::test]
    async fn repeated_failures_lock_the_username_without_asking_the_endpoint() {
        let f = fixture().await;
        let bad = password("Alice", "nope");
        for _ in 0..3 {
            assert_eq!(
                code(&f, req("app", "app-secret", &to_params(&bad))).await,
                Some(ErrorCode::InvalidGrant)
            );
        }
        let calls = f.verifier.calls();
        let good = password("alice", "pw");
        let err = f
            .service
            .token(&req("app", "app-secret", &to_params(&good)))
            .await
            .err()
            .unwrap();
        assert_eq!(err.code, ErrorCode::InvalidGrant);
        assert!(err.description.contains("too many failed attempts"));
        assert_eq!(
            f.verifier.calls(),
            calls,
            "a locked username must not reach the auth endpoint"
        );
        f.clock.advance(301);
        assert!(
            f.service
                .token(&req("app", "app-secret", &to_params(&good)))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_success_resets_the_failure_count() {
        let f = fixture().await;
        let bad = password("alice", "nope");
        let good = password("alice", "pw");
        for _ in 0..2 {
            code(&f, req("app", "app-secret", &to_params(&bad))).await;
        }
        assert!(
            f.service
                .token(&req("app", "app-secret", &to_params(&good)))
                .await
                .is_ok()
        );
        for _ in 0..2 {
            code(&f, req("app", "app-secret", &to_params(&bad))).await;
        }
        assert!(
            f.service
                .token(&req("app", "app-secret", &to_params(&good)))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn failures_outside_the_window_do_not_add_up() {
        let f = fixture().await;
        let bad = password("alice", "nope");
        for _ in 0..2 {
            code(&f, req("app", "app-secret", &to_params(&bad))).await;
        }
        f.clock.advance(61);
        code(&f, req("app", "app-secret", &to_params(&bad))).await;
        let good = password("alice", "pw");
        assert!(
            f.service
                .token(&req("app", "app-secret", &to_params(&good)))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn username_variants_share_one_lock() {
        let f = fixture().await;
        for variant in ["ALICE", " alice", "ａｌｉｃｅ"] {
            let bad = password(variant, "nope");
            code(&f, req("app", "app-secret", &to_params(&bad))).await;
        }
        let calls = f.verifier.calls();
        let good = password("alice", "pw");
        let err = f
            .service
            .token(&req("app", "app-secret", &to_params(&good)))
            .await
            .unwrap_err();
        assert!(err.description.contains("too many failed attempts"));
        assert_eq!(f.verifier.calls(), calls);
    }

    #[tokio::test]
    async fn attempts_all_in_flight_defer_the_next_login_with_503() {
        let f = fixture().await;
        let key = lockout_key("alice");
        let policy = f.service.policy.lockout;
        for _ in 0..3 {
            let r = f
                .service
                .lockout
                .reserve(&key, f.clock.now(), &policy)
                .await;
            assert_eq!(r.unwrap(), Reservation::Granted);
        }
        let good = password("alice", "pw");
        assert_eq!(
            code(&f, req("app", "app-secret", &to_params(&good))).await,
            Some(ErrorCode::TemporarilyUnavailable)
        );
        assert_eq!(
            f.verifier.calls(),
            0,
            "no check beyond the window's attempts"
        );
        f.service.lockout.release(&key).await.unwrap();
        assert!(
            f.service
                .token(&req("app", "app-secret", &to_params(&good)))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn usernames_with_control_characters_are_invalid_request() {
        let f = fixture().await;
        for bad in ["ali\nce", "alice\u{0}", "\u{1b}[31malice"] {
            let p = password(bad, "pw");
            assert_eq!(
                code(&f, req("app", "app-secret", &to_params(&p))).await,
                Some(ErrorCode::InvalidRequest),
                "{bad:?}"
            );
        }
        assert_eq!(f.verifier.calls(), 0);
        // Surrounding whitespace is not part of the username: the user logs in as `alice`.
        let p = password("  alice\t", "pw");
        assert!(
            f.service
                .token(&req("app", "app-secret", &to_params(&p)))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn malformed_client_ids_are_invalid_client_before_any_lookup() {
        let f = fixture().await;
        let p = password("alice", "pw");
        for id in [
            "x".repeat(3000),
            "a b".into(),
            "app\n".into(),
            "ａｐｐ".into(),
        ] {
            assert_eq!(
                code(&f, req(&id, "app-secret", &to_params(&p))).await,
                Some(ErrorCode::InvalidClient)
            );
        }
    }

    /// An auth endpoint that never answers.
    struct Hanging;

    #[async_trait::async_trait]
    impl PasswordVerifier for Hanging {
        async fn verify(
            &self,
            _: &str,
            _: &Secret,
            _: &str,
        ) -> Result<PasswordCheck, crate::password::AuthEndpointError> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_hanging_auth_endpoint_is_503_before_the_deadline_and_costs_no_attempt() {
        let mut f = fixture().await;
        f.service.verifier = Arc::new(Hanging);
        let now_ms = f.clock.now_ms();
        let p = password("alice", "pw");
        let r = req("app", "app-secret", &to_params(&p));
        // 700 ms left: 200 ms for the call once the margin is kept back.
        let handled = f
            .service
            .handle_token(&r, Deadline::at_ms(now_ms + 700))
            .await;
        assert_eq!(
            handled.result.unwrap_err().code,
            ErrorCode::TemporarilyUnavailable
        );
        assert_eq!(handled.client_id.as_deref(), Some("app"));
        // A deadline already inside the margin: 503 at once.
        f.clock.advance_ms(300);
        let handled = f
            .service
            .handle_token(&r, Deadline::at_ms(now_ms + 700))
            .await;
        assert_eq!(
            handled.result.unwrap_err().code,
            ErrorCode::TemporarilyUnavailable
        );
        // Unanswered attempts were given back: all three of the window's are still there.
        f.service.verifier = f.verifier.clone();
        for _ in 0..2 {
            let bad = password("alice", "nope");
            code(&f, req("app", "app-secret", &to_params(&bad))).await;
        }
        assert!(f.service.token(&r).await.is_ok());
    }

    #[tokio::test]
    async fn an_unauthenticated_client_id_is_not_reported_as_the_client() {
        let f = fixture().await;
        let missing_grant = req("nobody", "x", &[]);
        let h = f
            .service
            .handle_token(&missing_grant, Deadline::none())
            .await;
        assert_eq!(h.result.unwrap_err().code, ErrorCode::InvalidClient);
        assert_eq!(h.client_id, None);
        let r = req("app", "app-secret", &[]);
        let h = f.service.handle_token(&r, Deadline::none()).await;
        assert_eq!(h.result.unwrap_err().code, ErrorCode::InvalidRequest);
        assert_eq!(h.client_id.as_deref(), Some("app"));
    }

    #[test]
    fn lifetimes_are_capped_and_never_overflow() {
        let policy = GrantPolicy {
            access_token_ttl: 900,
            refresh_token_ttl: 3600,
            refresh_family_ttl: 7200,
            lockout: LockoutPolicy {
                max_failures: 3,
                window_secs: 60,
                lockout_secs: 300,
            },
            user_claims: vec![],
        };
        let client = client::Client {
            client_id: "c".into(),
            name: String::new(),
            secret_hash: String::new(),
            enabled: true,
            grant_types: vec![],
            allowed_scopes: Scopes::default(),
            default_scopes: Scopes::default(),
            access_token_ttl: Some(10 * 365 * 24 * 3600),
            refresh_token_ttl: Some(u64::MAX),
            refresh_family_ttl: Some(u64::MAX),
            created_at: 0,
        };
        let l = Lifetimes::of(&client, &policy);
        assert_eq!(l.access_token, client::MAX_ACCESS_TOKEN_TTL);
        assert_eq!(l.refresh_token, client::MAX_REFRESH_TOKEN_TTL);
        assert_eq!(l.refresh_family, client::MAX_REFRESH_FAMILY_TTL);
        assert!(u64::MAX.checked_sub(l.refresh_family).is_some());
    }

    #[test]
    fn requests_and_responses_redact_themselves_in_debug() {
        let r = req(
            "a-secret-looking-id",
            "the-client-secret",
            &[("password", "hunter2"), ("refresh_token", "rt-value")],
        );
        let shown = format!("{r:?}");
        for hidden in [
            "a-secret-looking-id",
            "the-client-secret",
            "hunter2",
            "rt-value",
        ] {
            assert!(!shown.contains(hidden), "{shown}");
        }
        assert!(shown.contains("password"), "{shown}");
        let resp = TokenResponse {
            access_token: "eyJ.access.token".into(),
            expires_in: 1,
            refresh_token: Secret::new("refresh-value"),
            scope: Scopes::default(),
        };
        let shown = format!("{resp:?}");
        assert!(
            !shown.contains("eyJ") && !shown.contains("refresh-value"),
            "{shown}"
        );
    }

    async fn login(f: &Fixture, scope: Option<&str>) -> TokenResponse {
        let mut p = password("alice", "pw");
        if let Some(scope) = scope {
            p.push(("scope", scope.into()));
        }
        f.service
            .token(&req("app", "app-secret", &to_params(&p)))
            .await
            .unwrap()
    }

    async fn refresh(
        f: &Fixture,
        client: (&str, &str),
        token: &Secret,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let mut p = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", token.expose()),
        ];
        if let Some(scope) = scope {
            p.push(("scope", scope));
        }
        f.service.token(&req(client.0, client.1, &p)).await
    }

    const APP: (&str, &str) = ("app", "app-secret");

    #[tokio::test]
    async fn refresh_rotates_and_the_old_token_stops_working() {
        let f = fixture().await;
        let first = login(&f, None).await;
        let second = refresh(&f, APP, &first.refresh_token, None).await.unwrap();
        assert_ne!(first.refresh_token, second.refresh_token);
        assert_eq!(second.scope.to_string(), "read");
        let again = refresh(&f, APP, &first.refresh_token, None)
            .await
            .unwrap_err();
        assert_eq!(again.code, ErrorCode::InvalidGrant);
    }

    #[tokio::test]
    async fn rotated_refresh_token_reuse_revokes_family() {
        let f = fixture().await;
        let first = login(&f, None).await;
        let second = refresh(&f, APP, &first.refresh_token, None).await.unwrap();
        let third = refresh(&f, APP, &second.refresh_token, None).await.unwrap();
        // The thief replays the first token: the newest token of the family dies with it.
        assert_eq!(
            refresh(&f, APP, &first.refresh_token, None)
                .await
                .unwrap_err()
                .code,
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            refresh(&f, APP, &third.refresh_token, None)
                .await
                .unwrap_err()
                .code,
            ErrorCode::InvalidGrant
        );
        // Other families are untouched.
        let other = login(&f, None).await;
        assert!(refresh(&f, APP, &other.refresh_token, None).await.is_ok());
    }

    #[tokio::test]
    async fn refresh_token_of_another_client_is_invalid_grant_and_stays_usable() {
        let f = fixture().await;
        let first = login(&f, None).await;
        let err = refresh(&f, ("other", "other-secret"), &first.refresh_token, None)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidGrant);
        assert!(refresh(&f, APP, &first.refresh_token, None).await.is_ok());
    }

    #[tokio::test]
    async fn refresh_scope_may_narrow_but_never_widen() {
        let f = fixture().await;
        let first = login(&f, Some("read write")).await;
        let narrow = refresh(&f, APP, &first.refresh_token, Some("write"))
            .await
            .unwrap();
        assert_eq!(narrow.scope.to_string(), "write");
        // The successor keeps the original scope (RFC 6749 §6).
        let back = refresh(&f, APP, &narrow.refresh_token, None).await.unwrap();
        assert_eq!(back.scope.to_string(), "read write");

        let reader = login(&f, Some("read")).await;
        let err = refresh(&f, APP, &reader.refresh_token, Some("read write"))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
        assert!(
            refresh(&f, APP, &reader.refresh_token, None).await.is_ok(),
            "a refused scope does not use the token"
        );
    }

    #[tokio::test]
    async fn expired_refresh_token_and_expired_family_are_invalid_grant() {
        let f = fixture().await;
        let first = login(&f, None).await;
        f.clock.advance(3600);
        assert_eq!(
            refresh(&f, APP, &first.refresh_token, None)
                .await
                .unwrap_err()
                .code,
            ErrorCode::InvalidGrant
        );

        // Rotating keeps the family alive only until its absolute end (7200 s).
        let f = fixture().await;
        let mut current = login(&f, None).await.refresh_token;
        for _ in 0..3 {
            f.clock.advance(2000);
            current = refresh(&f, APP, &current, None)
                .await
                .unwrap()
                .refresh_token;
        }
        f.clock.advance(1201);
        assert_eq!(
            refresh(&f, APP, &current, None).await.unwrap_err().code,
            ErrorCode::InvalidGrant
        );
    }

    #[tokio::test]
    async fn a_recreated_client_does_not_inherit_old_refresh_tokens() {
        let f = fixture().await;
        let first = login(&f, None).await;
        let mut client = f.service.clients.get("app").await.unwrap().unwrap();
        f.service.clients.delete("app").await.unwrap();
        f.clock.advance(10);
        client.created_at = f.clock.now();
        f.service.clients.create(&client).await.unwrap();
        let err = refresh(&f, APP, &first.refresh_token, None)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidGrant);
        let fresh = login(&f, None).await;
        assert!(refresh(&f, APP, &fresh.refresh_token, None).await.is_ok());
    }

    #[tokio::test]
    async fn refresh_carries_the_same_user_details() {
        let f = fixture().await;
        let first = login(&f, None).await;
        let second = refresh(&f, APP, &first.refresh_token, None).await.unwrap();
        let claims = |t: &str| -> serde_json::Value {
            let payload = t.split('.').nth(1).unwrap();
            use base64::Engine;
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(payload)
                    .unwrap(),
            )
            .unwrap()
        };
        let (a, b) = (claims(&first.access_token), claims(&second.access_token));
        for k in ["sub", "email", "client_id", "auth_time"] {
            assert_eq!(a[k], b[k], "{k}");
        }
    }

    #[tokio::test]
    async fn revoke_kills_the_family_and_ignores_unknown_and_foreign_tokens() {
        let f = fixture().await;
        let first = login(&f, None).await;
        let revoke = |client: (&'static str, &'static str), token: String| TokenRequest {
            credentials: Some(ClientCredentials {
                client_id: client.0.into(),
                secret: Secret::new(client.1),
                via_basic: true,
            }),
            params: [("token".to_owned(), token)].into_iter().collect(),
        };
        f.service
            .revoke(&revoke(
                ("other", "other-secret"),
                first.refresh_token.expose().into(),
            ))
            .await
            .unwrap();
        let second = refresh(&f, APP, &first.refresh_token, None).await.unwrap();
        f.service
            .revoke(&revoke(APP, "no-such-token".into()))
            .await
            .unwrap();
        f.service
            .revoke(&revoke(APP, second.refresh_token.expose().into()))
            .await
            .unwrap();
        assert_eq!(
            refresh(&f, APP, &second.refresh_token, None)
                .await
                .unwrap_err()
                .code,
            ErrorCode::InvalidGrant
        );
        let unauthenticated = TokenRequest {
            credentials: None,
            params: HashMap::new(),
        };
        assert_eq!(
            f.service.revoke(&unauthenticated).await.unwrap_err().code,
            ErrorCode::InvalidClient
        );
    }
}
