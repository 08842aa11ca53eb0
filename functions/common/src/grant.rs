//! The token endpoint's rules (RFC 6749 §4.3, §5): which checks run in which order, and what a
//! successful grant issues. The handler only translates HTTP to a `TokenRequest` and back.

use std::collections::HashMap;
use std::sync::Arc;

use tracing::{info, warn};

use crate::access_token::{
    AccessTokenClaims, AccessTokenIssuer, IssuedAccessToken, allowed_details,
};
use crate::auth_endpoint::{PasswordCheck, PasswordVerifier};
use crate::client::{
    self, AuthenticateError, ClientCredentials, ClientRejection, ClientStore, GrantType,
};
use crate::clock::Clock;
use crate::error::{ErrorCode, OAuthError};
use crate::lockout::{LockoutPolicy, LockoutStore, lockout_key};
use crate::refresh::{
    NewFamily, RefreshGrant, RefreshStore, RefreshStoreError, Rotation, Successor, TokenStatus,
};
use crate::scope::Scopes;
use crate::secret::{Secret, hash_str, random_token};

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
#[derive(Debug)]
pub struct TokenRequest {
    pub credentials: Option<ClientCredentials>,
    /// Every other parameter, each at most once; empty values were dropped (RFC 6749 §3.1).
    pub params: HashMap<String, String>,
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

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Secret,
    pub scope: Scopes,
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
}

impl TokenService {
    /// Runs the checks in the order that leaks least: a caller learns nothing about grants or
    /// users until its client credentials are good.
    pub async fn token(&self, req: &TokenRequest) -> Result<TokenResponse, OAuthError> {
        let grant_type = req.required("grant_type")?;
        let client = self.client(req).await?;
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
            GrantType::Password => self.password_grant(&client, req).await,
            GrantType::RefreshToken => self.refresh_grant(&client, req).await,
        }
    }

    /// Authenticates the client of a request that needs one (`/token`, `/revoke`).
    async fn client(&self, req: &TokenRequest) -> Result<client::Client, OAuthError> {
        let Some(creds) = &req.credentials else {
            return Err(OAuthError::invalid_client(
                "client authentication is required",
            ));
        };
        client::authenticate(self.clients.as_ref(), creds)
            .await
            .map_err(|e| {
                // An unknown client_id may be anything (even a secret sent in the wrong field):
                // log a short hash of it, which still lets repeated probes be correlated.
                match e {
                    AuthenticateError::Rejected(ClientRejection::Unknown) => {
                        let id_hash = hash_str(&creds.client_id);
                        warn!(client_id_hash = &id_hash[7..19], reason = %e, "client authentication failed");
                    }
                    _ => warn!(client_id = %creds.client_id, reason = %e, "client authentication failed"),
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
    ) -> Result<TokenResponse, OAuthError> {
        let presented = Secret::new(req.required("refresh_token")?);
        let now = self.clock.now();
        let Some(old) = self
            .refresh
            .get_token(&presented.hash())
            .await
            .map_err(store_unavailable)?
        else {
            return Err(bad_refresh_token());
        };
        if old.grant.client_id != client.client_id {
            warn!(client_id = %client.client_id, "refresh token presented by a client it was not issued to");
            return Err(bad_refresh_token());
        }
        // A client deleted and created again under the same id must not inherit the old
        // client's sessions: a family older than the client record is dead.
        if old.grant.auth_time < client.created_at {
            warn!(client_id = %client.client_id, "refresh token older than its client record");
            return Err(bad_refresh_token());
        }
        if old.status == TokenStatus::Rotated {
            warn!(client_id = %client.client_id, family = %old.family_id, "refresh token reused: revoking its family");
            self.refresh
                .revoke_family(&old.family_id, now)
                .await
                .map_err(store_unavailable)?;
            return Err(bad_refresh_token());
        }
        if now >= old.expires_at || now >= old.family_expires_at {
            return Err(bad_refresh_token());
        }
        // The new access token may narrow the scope, never widen it, and never exceed what the
        // client is allowed today. The successor refresh token keeps the original scope (§6).
        let scope = match req.param("scope") {
            None => old.grant.scope.intersection(&client.allowed_scopes),
            Some(raw) => {
                let asked = Scopes::parse(raw)?;
                if asked.is_empty()
                    || !asked.is_subset_of(&old.grant.scope)
                    || !asked.is_subset_of(&client.allowed_scopes)
                {
                    return Err(OAuthError::invalid_scope(
                        "the requested scope exceeds the scope originally granted",
                    ));
                }
                asked
            }
        };
        let access = self.sign(client, &old.grant, &scope, now)?;
        let refresh = Secret::generate();
        let refresh_ttl = client
            .refresh_token_ttl
            .unwrap_or(self.policy.refresh_token_ttl);
        let successor = Successor {
            token_hash: refresh.hash(),
            issued_at: now,
            expires_at: (now + refresh_ttl).min(old.family_expires_at),
        };
        match self
            .refresh
            .rotate(&old, &successor, now)
            .await
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
                self.refresh
                    .revoke_family(&old.family_id, now)
                    .await
                    .map_err(store_unavailable)?;
                Err(bad_refresh_token())
            }
        }
    }

    /// RFC 7009. The client must authenticate; a refresh token it owns has its whole family
    /// revoked. Unknown tokens, tokens of other clients, and access tokens (short-lived JWTs,
    /// not stored) are accepted without effect, so the answer reveals nothing.
    pub async fn revoke(&self, req: &TokenRequest) -> Result<(), OAuthError> {
        let client = self.client(req).await?;
        let token = Secret::new(req.required("token")?);
        let now = self.clock.now();
        match self
            .refresh
            .get_token(&token.hash())
            .await
            .map_err(store_unavailable)?
        {
            Some(t) if t.grant.client_id == client.client_id => {
                self.refresh
                    .revoke_family(&t.family_id, now)
                    .await
                    .map_err(store_unavailable)?;
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
    ) -> Result<TokenResponse, OAuthError> {
        let username = req.required("username")?;
        let password = Secret::new(req.required("password")?);
        let scope = Scopes::resolve(
            req.param("scope"),
            &client.allowed_scopes,
            &client.default_scopes,
        )?;

        let now = self.clock.now();
        let policy = &self.policy.lockout;
        let key = lockout_key(username);
        if policy.max_failures > 0 {
            let locked = self.lockout.locked_until(&key, now).await.map_err(|e| {
                warn!(error = %e, source = ?std::error::Error::source(&e), "lockout check failed");
                OAuthError::unavailable()
            })?;
            if locked.is_some() {
                info!(client_id = %client.client_id, "password grant refused: username locked");
                return Err(locked_error());
            }
        }

        let check = self
            .verifier
            .verify(username, &password, &client.client_id)
            .await
            .map_err(|e| {
                warn!(client_id = %client.client_id, error = %e, "auth endpoint failed");
                OAuthError::unavailable()
            })?;
        let user = match check {
            PasswordCheck::Valid(user) => user,
            PasswordCheck::Invalid => {
                if policy.max_failures > 0 {
                    let locked = self
                        .lockout
                        .record_failure(&key, now, policy)
                        .await
                        .map_err(|e| {
                            warn!(error = %e, "failed to count login failure");
                            OAuthError::unavailable()
                        })?;
                    if locked.is_some() {
                        info!(client_id = %client.client_id, "username locked after repeated failures");
                        return Err(locked_error());
                    }
                }
                return Err(OAuthError::invalid_grant(
                    "the username or password is wrong",
                ));
            }
        };
        if policy.max_failures > 0 {
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
        self.issue(client, grant, now).await
    }

    fn sign(
        &self,
        client: &client::Client,
        grant: &RefreshGrant,
        scope: &Scopes,
        now: u64,
    ) -> Result<IssuedAccessToken, OAuthError> {
        let ttl = client
            .access_token_ttl
            .unwrap_or(self.policy.access_token_ttl);
        self.issuer
            .issue(&AccessTokenClaims {
                sub: &grant.sub,
                client_id: &grant.client_id,
                scope,
                details: &grant.details,
                auth_time: grant.auth_time,
                now,
                ttl,
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
    ) -> Result<TokenResponse, OAuthError> {
        let family_ttl = client
            .refresh_family_ttl
            .unwrap_or(self.policy.refresh_family_ttl);
        let refresh_ttl = client
            .refresh_token_ttl
            .unwrap_or(self.policy.refresh_token_ttl)
            .min(family_ttl);
        let access = self.sign(client, &grant, &grant.scope, now)?;
        let refresh = Secret::generate();
        let family = NewFamily {
            family_id: random_token(16),
            token_hash: refresh.hash(),
            grant,
            issued_at: now,
            token_expires_at: now + refresh_ttl,
            family_expires_at: now + family_ttl,
        };
        self.refresh.create_family(&family).await.map_err(|e| {
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
    use crate::auth_endpoint::VerifiedUser;
    use crate::clock::{Clock, ManualClock};
    use crate::keys::{SigningAlg, SigningKey, generate_pem};
    use crate::memory::{MemoryClients, MemoryLockout, MemoryRefresh, MemoryVerifier};

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
