//! The token endpoint's rules (RFC 6749 §4.3, §5): which checks run in which order, and what a
//! successful grant issues. The handler only translates HTTP to a `TokenRequest` and back.

use std::collections::HashMap;
use std::sync::Arc;

use tracing::{info, warn};

use crate::access_token::{AccessTokenClaims, AccessTokenIssuer, allowed_details};
use crate::auth_endpoint::{PasswordCheck, PasswordVerifier};
use crate::client::{self, ClientCredentials, ClientStore, GrantType};
use crate::clock::Clock;
use crate::error::{ErrorCode, OAuthError};
use crate::lockout::{LockoutPolicy, LockoutStore, lockout_key};
use crate::refresh::{NewFamily, RefreshGrant, RefreshStore};
use crate::scope::Scopes;
use crate::secret::{Secret, random_token};

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
        let Some(creds) = &req.credentials else {
            return Err(OAuthError::invalid_client(
                "client authentication is required",
            ));
        };
        let client = client::authenticate(self.clients.as_ref(), creds)
            .await
            .map_err(|e| {
                warn!(client_id = %creds.client_id, reason = %e, "client authentication failed");
                e.to_oauth()
            })?;
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
            GrantType::RefreshToken => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "the refresh_token grant is not available yet",
            )),
        }
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

    /// Issues an access token and starts a refresh-token family for `grant`.
    async fn issue(
        &self,
        client: &client::Client,
        grant: RefreshGrant,
        now: u64,
    ) -> Result<TokenResponse, OAuthError> {
        let access_ttl = client
            .access_token_ttl
            .unwrap_or(self.policy.access_token_ttl);
        let family_ttl = client
            .refresh_family_ttl
            .unwrap_or(self.policy.refresh_family_ttl);
        let refresh_ttl = client
            .refresh_token_ttl
            .unwrap_or(self.policy.refresh_token_ttl)
            .min(family_ttl);
        let access = self
            .issuer
            .issue(&AccessTokenClaims {
                sub: &grant.sub,
                client_id: &grant.client_id,
                scope: &grant.scope,
                details: &grant.details,
                auth_time: grant.auth_time,
                now,
                ttl: access_ttl,
            })
            .map_err(|e| {
                warn!(error = %e, "signing failed");
                OAuthError::new(ErrorCode::ServerError, "the token could not be issued")
            })?;
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

fn locked_error() -> OAuthError {
    OAuthError::invalid_grant("too many failed attempts for this username; try again later")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_endpoint::VerifiedUser;
    use crate::clock::ManualClock;
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
        clients
            .create(&mk("app", "app-secret", true, vec![GrantType::Password]))
            .await
            .unwrap();
        clients
            .create(&mk("off", "off-secret", false, vec![GrantType::Password]))
            .await
            .unwrap();
        clients
            .create(&mk(
                "norop",
                "norop-secret",
                true,
                vec![GrantType::RefreshToken],
            ))
            .await
            .unwrap();
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
        let families = f.refresh.0.lock().unwrap();
        assert_eq!(families.len(), 1);
        assert_eq!(families[0].token_hash, resp.refresh_token.hash());
        assert_eq!(families[0].grant.sub, "u-1");
        assert_eq!(
            serde_json::Value::Object(families[0].grant.details.clone()),
            serde_json::json!({"email": "a@b"})
        );
        assert_eq!(families[0].token_expires_at, 1_000_000 + 3600);
        assert_eq!(families[0].family_expires_at, 1_000_000 + 7200);
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
}
