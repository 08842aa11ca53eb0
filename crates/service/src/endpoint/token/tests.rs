//! The token endpoint's rules against the in-memory adapters.

use std::sync::Arc;

use tollgate_oauth::access_token::AccessTokenIssuer;
use tollgate_oauth::clock::{Clock, ManualClock};
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};
use tollgate_oauth::secret::SecretHasher;

use super::*;
use crate::client::{ClientCredentials, ClientStore};
use crate::endpoint::introspect::Introspector;
use crate::endpoint::revoke::RevocationRequest;
use crate::endpoint::{GrantPolicy, Lifetimes};
use crate::lockout::{LockoutPolicy, LockoutStore};
use crate::lockout::{Reservation, lockout_key};
use crate::password::PasswordVerifier;
use crate::password::{PasswordCheck, VerifiedUser};
use crate::testkit::failing::Failing;
use crate::testkit::memory::{
    MemoryClients, MemoryLockout, MemoryRateLimits, MemoryRefresh, MemoryRevocations,
    MemoryVerifier,
};

mod audit_events;
mod client_credentials;
mod code_flow;
mod concurrency;
mod grace;
mod in_family;
mod legacy;
mod limits;
mod lost_answers;
mod oidc;
mod revocations;
mod store_failures;
mod user_status;

struct Fixture {
    service: TokenService,
    /// The published key set of the service's signing key.
    jwks: String,
    verifier: Arc<MemoryVerifier>,
    refresh: Arc<MemoryRefresh>,
    /// What was recorded for the authorizers; fails the calls a test names.
    revocations: Arc<Failing<MemoryRevocations>>,
    /// The keys `/revoke` verifies access tokens with (the service's own).
    keys: Introspector,
    clock: ManualClock,
}

/// The verifier of tokens `key` signs, as the token function builds it for `/introspect` and
/// `/revoke`.
fn keys_of(key: &SigningKey) -> Introspector {
    use tollgate_oauth::keys::published_jwks;
    use tollgate_oauth::verify::{AccessTokenVerifier, DEFAULT_MAX_LIFETIME, VerifierConfig};
    let jwks = serde_json::to_string(&published_jwks(key, None).unwrap()).unwrap();
    let cfg = VerifierConfig {
        issuer: "iss".into(),
        audience: "aud".into(),
        leeway: 0,
        algorithms: vec![jsonwebtoken::Algorithm::ES256],
        max_lifetime: DEFAULT_MAX_LIFETIME,
    };
    Introspector {
        verifier: AccessTokenVerifier::new(&jwks, &cfg).unwrap(),
        issuer: "iss".into(),
    }
}

async fn fixture() -> Fixture {
    let clients = Arc::new(MemoryClients::default());
    let mk = |id: &str, secret: &str, enabled: bool, grants: Vec<GrantType>| client::Client {
        enabled,
        grant_types: grants,
        ..client::Client::for_tests(id, secret)
    };
    let both = vec![GrantType::Password, GrantType::RefreshToken];
    for client in [
        mk("app", "app-secret", true, both.clone()),
        mk("other", "other-secret", true, both),
        mk("off", "off-secret", false, vec![GrantType::Password]),
        mk("norop", "norop-secret", true, vec![GrantType::RefreshToken]),
        mk(
            "svc",
            "svc-secret",
            true,
            vec![GrantType::ClientCredentials],
        ),
        code_flow::spa(),
        code_flow::web(),
    ] {
        clients.create(&client).await.unwrap();
    }
    let user = VerifiedUser {
        sub: "u-1".into(),
        details: serde_json::from_str(r#"{"sub":"u-1","email":"a@b","password_hash":"x"}"#)
            .unwrap(),
    };
    let rtl = |sub: &str| VerifiedUser {
        sub: sub.into(),
        details: serde_json::Map::new(),
    };
    let verifier = Arc::new(
        MemoryVerifier::default()
            .with_user("alice", "pw", user)
            .with_user("مريم", "pw", rtl("u-ar"))
            .with_user("שרה", "pw", rtl("u-he")),
    );
    let refresh = Arc::new(MemoryRefresh::default());
    let clock = ManualClock::new(1_000_000);
    let key = SigningKey::from_pem(
        &generate_pem(SigningAlg::Es256).unwrap(),
        SigningAlg::Es256,
        None,
    )
    .unwrap();
    let keys = keys_of(&key);
    let revocations = Arc::new(Failing::new(MemoryRevocations::default()));
    let jwks = tollgate_oauth::keys::published_jwks(&key, None).unwrap();
    let jwks = serde_json::to_string(&jwks).unwrap();
    let service = TokenService {
        clients,
        refresh: refresh.clone(),
        codes: refresh.clone(),
        lockout: Arc::new(MemoryLockout::default()),
        rate_limits: Arc::new(MemoryRateLimits::default()),
        verifier: verifier.clone(),
        directory: None,
        legacy: None,
        revocations: revocations.clone(),
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
            rate_limit: 0,
            refresh_reuse_grace: 0,
            lost_answer_window: 30,
            max_claims_age: None,
        },
        clock: Arc::new(clock.clone()),
        secrets: SecretHasher::default(),
        known_limits: Default::default(),
    };
    Fixture {
        service,
        jwks,
        verifier,
        refresh,
        revocations,
        keys,
        clock,
    }
}

fn req(client: &str, secret: &str, params: &[(&str, &str)]) -> TokenRequest {
    TokenRequest::new(
        Some(ClientCredentials {
            client_id: client.into(),
            secret: Some(Secret::new(secret)),
        }),
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
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
    assert!(
        f.refresh.tokens.lock().unwrap().is_empty(),
        "the family holds its token: no record of its own"
    );
    assert_eq!(f.refresh.families.lock().unwrap().len(), 1);
    let t = f
        .refresh
        .token_as_it_stands(resp.refresh_token.as_ref().unwrap())
        .unwrap();
    assert_eq!(t.status, crate::refresh::TokenStatus::Active);
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
async fn usernames_with_direction_controls_are_invalid_request_and_right_to_left_names_sign_in() {
    let f = fixture().await;
    for bad in [
        "ali\u{2028}ce",
        "ali\u{2029}ce",
        "\u{202e}ecila",
        "alice\u{2066}x\u{2069}",
        "\u{200f}alice",
        "مريم\u{061c}",
    ] {
        let p = password(bad, "pw");
        let e = f
            .service
            .token(&req("app", "app-secret", &to_params(&p)))
            .await;
        let e = e.err().unwrap_or_else(|| panic!("{bad:?} signed in"));
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{bad:?}");
        assert_eq!(
            e.description,
            "username contains a line separator or a text-direction control"
        );
    }
    assert_eq!(
        f.verifier.calls(),
        0,
        "refused before the auth endpoint is asked"
    );
    for (name, sub) in [("مريم", "u-ar"), ("שרה", "u-he")] {
        let p = password(name, "pw");
        let t = f
            .service
            .token(&req("app", "app-secret", &to_params(&p)))
            .await;
        let t = t.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let claims = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&t.access_token);
        assert_eq!(
            claims.map(|c| c.claims["sub"].clone()).ok(),
            Some(sub.into()),
            "{name}"
        );
    }
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
    let err = handled.result.unwrap_err();
    assert_eq!(err.to_oauth().code, ErrorCode::TemporarilyUnavailable);
    // The edge learns which dependency ran out of time, to log it once.
    assert!(
        matches!(
            err,
            TokenError::Unavailable(Unavailable::Deadline {
                dependency: "auth endpoint"
            })
        ),
        "{err:?}"
    );
    assert_eq!(handled.client_id.as_deref(), Some("app"));
    // A deadline already inside the margin: 503 at once.
    f.clock.advance_ms(300);
    let handled = f
        .service
        .handle_token(&r, Deadline::at_ms(now_ms + 700))
        .await;
    assert_eq!(
        handled.result.unwrap_err().to_oauth().code,
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
    assert_eq!(
        h.result.unwrap_err().to_oauth().code,
        ErrorCode::InvalidClient
    );
    assert_eq!(h.client_id, None);
    let r = req("app", "app-secret", &[]);
    let h = f.service.handle_token(&r, Deadline::none()).await;
    assert_eq!(
        h.result.unwrap_err().to_oauth().code,
        ErrorCode::InvalidRequest
    );
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
        rate_limit: 0,
        refresh_reuse_grace: 0,
        lost_answer_window: 30,
        max_claims_age: None,
    };
    let client = client::Client {
        client_id: "c".into(),
        name: String::new(),
        secret_hash: String::new(),
        previous_secret: None,
        enabled: true,
        grant_types: vec![],
        allowed_scopes: Scopes::default(),
        default_scopes: Scopes::default(),
        access_token_ttl: Some(10 * 365 * 24 * 3600),
        refresh_token_ttl: Some(u64::MAX),
        refresh_family_ttl: Some(u64::MAX),
        rate_limit: None,
        password_grant_sunset: None,
        response_profile: Default::default(),
        refresh_reuse_grace: None,
        created_at: 0,
        introspect_any: false,
        public: false,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
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
        issued_at: 2,
        refresh_token_expires_in: Some(3),
        refresh_token: Some(Secret::new("refresh-value")),
        scope: Scopes::default(),
        id_token: None,
    };
    let shown = format!("{resp:?}");
    assert!(
        !shown.contains("eyJ") && !shown.contains("refresh-value"),
        "{shown}"
    );
}

/// A response's refresh token.
fn rt(r: &TokenResponse) -> &Secret {
    r.refresh_token.as_ref().unwrap()
}

/// Whether a family of the fixture's store was revoked.
fn revoked(f: &Fixture) -> bool {
    f.refresh
        .families
        .lock()
        .unwrap()
        .values()
        .any(|fam| fam.revoked)
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
    let second = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    assert_ne!(first.refresh_token, second.refresh_token);
    assert_eq!(second.scope.to_string(), "read");
    let again = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn rotated_refresh_token_reuse_revokes_family() {
    let f = fixture().await;
    let first = login(&f, None).await;
    let second = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    let third = refresh(&f, APP, second.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    // The thief replays the first token: the newest token of the family dies with it.
    assert_eq!(
        refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::InvalidGrant
    );
    assert_eq!(
        refresh(&f, APP, third.refresh_token.as_ref().unwrap(), None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::InvalidGrant
    );
    // Other families are untouched.
    let other = login(&f, None).await;
    assert!(
        refresh(&f, APP, other.refresh_token.as_ref().unwrap(), None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn refresh_token_of_another_client_is_invalid_grant_and_stays_usable() {
    let f = fixture().await;
    let first = login(&f, None).await;
    let err = refresh(
        &f,
        ("other", "other-secret"),
        first.refresh_token.as_ref().unwrap(),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGrant);
    assert!(
        refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn refresh_scope_may_narrow_but_never_widen() {
    let f = fixture().await;
    let first = login(&f, Some("read write")).await;
    let narrow = refresh(
        &f,
        APP,
        first.refresh_token.as_ref().unwrap(),
        Some("write"),
    )
    .await
    .unwrap();
    assert_eq!(narrow.scope.to_string(), "write");
    // The successor keeps the original scope (RFC 6749 §6).
    let back = refresh(&f, APP, narrow.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(back.scope.to_string(), "read write");

    let reader = login(&f, Some("read")).await;
    let err = refresh(
        &f,
        APP,
        reader.refresh_token.as_ref().unwrap(),
        Some("read write"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidScope);
    assert!(
        refresh(&f, APP, reader.refresh_token.as_ref().unwrap(), None)
            .await
            .is_ok(),
        "a refused scope does not use the token"
    );
}

#[tokio::test]
async fn expired_refresh_token_and_expired_family_are_invalid_grant() {
    let f = fixture().await;
    let first = login(&f, None).await;
    f.clock.advance(3600);
    assert_eq!(
        refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::InvalidGrant
    );

    // Rotating keeps the family alive only until its absolute end (7200 s).
    let f = fixture().await;
    let mut current = login(&f, None).await.refresh_token.unwrap();
    for _ in 0..3 {
        f.clock.advance(2000);
        current = refresh(&f, APP, &current, None)
            .await
            .unwrap()
            .refresh_token
            .unwrap();
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
    let err = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGrant);
    let fresh = login(&f, None).await;
    assert!(
        refresh(&f, APP, fresh.refresh_token.as_ref().unwrap(), None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn refresh_carries_the_same_user_details() {
    let f = fixture().await;
    let first = login(&f, None).await;
    let second = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
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
    let revoke = |client: (&'static str, &'static str), token: String| RevocationRequest {
        credentials: Some(ClientCredentials {
            client_id: client.0.into(),
            secret: Some(Secret::new(client.1)),
        }),
        token: Some(Secret::new(token)),
    };
    f.service
        .revoke(
            &f.keys,
            &revoke(
                ("other", "other-secret"),
                first.refresh_token.as_ref().unwrap().expose().into(),
            ),
        )
        .await
        .unwrap();
    let second = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    f.service
        .revoke(&f.keys, &revoke(APP, "no-such-token".into()))
        .await
        .unwrap();
    f.service
        .revoke(
            &f.keys,
            &revoke(APP, second.refresh_token.as_ref().unwrap().expose().into()),
        )
        .await
        .unwrap();
    assert_eq!(
        refresh(&f, APP, second.refresh_token.as_ref().unwrap(), None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::InvalidGrant
    );
    let unauthenticated = RevocationRequest {
        credentials: None,
        token: None,
    };
    assert_eq!(
        f.service
            .revoke(&f.keys, &unauthenticated)
            .await
            .unwrap_err()
            .code,
        ErrorCode::InvalidClient
    );
}
