//! Introspection's rules against the in-memory adapters and a real signing key.

use std::collections::HashMap;
use std::sync::Arc;
use tollgate_oauth::verify::DEFAULT_MAX_LIFETIME;

use serde_json::json;
use tollgate_oauth::access_token::AccessTokenIssuer;
use tollgate_oauth::clock::{Clock, ManualClock};
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem, published_jwks};
use tollgate_oauth::secret::SecretHasher;
use tollgate_oauth::verify::VerifierConfig;

use super::*;
use crate::client::{ClientStore, GrantType};
use crate::endpoint::sessions::revoke_sessions;
use crate::endpoint::{GrantPolicy, TokenRequest};
use crate::lockout::LockoutPolicy;
use crate::password::VerifiedUser;
use crate::refresh::SessionQuery;
use crate::testkit::failing::Failing;
use crate::testkit::memory::{
    MemoryClients, MemoryLockout, MemoryRateLimits, MemoryRefresh, MemoryRevocations,
    MemoryVerifier,
};

struct Fixture {
    service: TokenService,
    introspector: Introspector,
    /// The refresh-token store, failing the calls a test names.
    refresh: Arc<Failing<MemoryRefresh>>,
    /// The revocations recorded, failing the calls a test names.
    revocations: Arc<Failing<MemoryRevocations>>,
    clock: ManualClock,
}

fn client(id: &str, grants: Vec<GrantType>, introspect_any: bool) -> Client {
    Client {
        grant_types: grants,
        introspect_any,
        ..Client::for_tests(id, &format!("{id}-secret"))
    }
}

async fn fixture() -> Fixture {
    let clients = Arc::new(MemoryClients::default());
    let user = vec![GrantType::Password, GrantType::RefreshToken];
    for c in [
        client("app", user.clone(), false),
        client("other", user, false),
        client("rs", vec![GrantType::ClientCredentials], true),
        client("svc", vec![GrantType::ClientCredentials], false),
    ] {
        clients.create(&c).await.unwrap();
    }
    let verified = VerifiedUser {
        sub: "u-1".into(),
        details: serde_json::Map::new(),
    };
    let key = SigningKey::from_pem(
        &generate_pem(SigningAlg::Es256).unwrap(),
        SigningAlg::Es256,
        None,
    )
    .unwrap();
    let jwks = serde_json::to_string(&published_jwks(&key, None).unwrap()).unwrap();
    let cfg = VerifierConfig {
        issuer: "iss".into(),
        audience: "aud".into(),
        leeway: 0,
        algorithms: vec![jsonwebtoken::Algorithm::ES256],
        max_lifetime: DEFAULT_MAX_LIFETIME,
    };
    let refresh = Arc::new(Failing::new(MemoryRefresh::default()));
    let revocations = Arc::new(Failing::new(MemoryRevocations::default()));
    let clock = ManualClock::new(1_000_000);
    let service = TokenService {
        clients,
        refresh: refresh.clone(),
        codes: refresh.clone(),
        lockout: Arc::new(MemoryLockout::default()),
        rate_limits: Arc::new(MemoryRateLimits::default()),
        directory: None,
        legacy: None,
        revocations: revocations.clone(),
        verifier: Arc::new(MemoryVerifier::default().with_user("alice", "pw", verified)),
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
            user_claims: vec![],
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
        introspector: Introspector {
            verifier: AccessTokenVerifier::new(&jwks, &cfg).unwrap(),
            issuer: "iss".into(),
        },
        refresh,
        revocations,
        clock,
    }
}

fn creds(id: &str) -> Option<ClientCredentials> {
    Some(ClientCredentials {
        client_id: id.into(),
        secret: Some(Secret::new(format!("{id}-secret"))),
    })
}

fn token_req(id: &str, params: &[(&str, &str)]) -> TokenRequest {
    TokenRequest::new(
        creds(id),
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
    )
}

/// (access token, refresh token) of a password grant by `app`.
async fn login(f: &Fixture) -> (String, String) {
    let r = f
        .service
        .token(&token_req(
            "app",
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "pw"),
            ],
        ))
        .await
        .unwrap();
    (r.access_token, r.refresh_token.unwrap().expose().to_owned())
}

async fn ask(
    f: &Fixture,
    who: &str,
    token: &str,
    hint: Option<TokenTypeHint>,
) -> serde_json::Value {
    let req = IntrospectionRequest {
        credentials: creds(who),
        token: Some(Secret::new(token)),
        token_type_hint: hint,
    };
    let answer = f.service.introspect(&f.introspector, &req).await.unwrap();
    serde_json::to_value(&answer).unwrap()
}

fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn an_access_token_is_active_until_its_session_is_revoked() {
    let f = fixture().await;
    let (access, _) = login(&f).await;
    let c = claims(&access);
    let sid = c["sid"].as_str().unwrap().to_owned();
    assert_eq!(f.refresh.inner.families.lock().unwrap().len(), 1);
    assert!(f.refresh.inner.families.lock().unwrap().contains_key(&sid));
    let answer = ask(&f, "app", &access, None).await;
    assert_eq!(
        answer,
        json!({
            "active": true, "scope": "read", "client_id": "app", "sub": "u-1",
            "exp": c["exp"], "iat": c["iat"], "token_type": "Bearer", "iss": "iss",
            "aud": "aud", "jti": c["jti"], "sid": sid,
        })
    );
    let q = SessionQuery::from_parts(Some("u-1"), None).unwrap();
    let now = f.clock.now();
    assert_eq!(
        revoke_sessions(f.refresh.as_ref(), f.revocations.as_ref(), &q, now)
            .await
            .unwrap(),
        [sid]
    );
    assert_eq!(
        ask(&f, "app", &access, None).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn another_clients_token_is_inactive_unless_the_caller_may_introspect_any() {
    let f = fixture().await;
    let (access, refresh) = login(&f).await;
    for token in [&access, &refresh] {
        assert_eq!(
            ask(&f, "other", token, None).await,
            json!({"active": false})
        );
        assert_eq!(ask(&f, "svc", token, None).await, json!({"active": false}));
        let seen = ask(&f, "rs", token, None).await;
        assert_eq!(
            (seen["active"].clone(), seen["client_id"].clone()),
            (json!(true), json!("app"))
        );
    }
}

#[tokio::test]
async fn a_refresh_token_is_active_while_current_and_unexpired() {
    let f = fixture().await;
    let (_, refresh) = login(&f).await;
    let answer = ask(&f, "app", &refresh, Some(TokenTypeHint::RefreshToken)).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["exp"], 1_000_000 + 3600);
    assert_eq!(answer["iat"], 1_000_000);
    assert!(answer.get("token_type").is_none() && answer.get("aud").is_none());
    // A wrong hint does not hide it.
    let hinted = ask(&f, "app", &refresh, Some(TokenTypeHint::AccessToken)).await;
    assert_eq!(hinted, answer);
    let rotated = f
        .service
        .token(&token_req(
            "app",
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        ))
        .await
        .unwrap();
    let next = rotated.refresh_token.unwrap().expose().to_owned();
    assert_eq!(
        ask(&f, "app", &refresh, None).await,
        json!({"active": false})
    );
    assert_eq!(ask(&f, "app", &next, None).await["active"], true);
    f.clock.advance(3600);
    assert_eq!(ask(&f, "app", &next, None).await, json!({"active": false}));
}

#[tokio::test]
async fn expired_forged_and_unknown_tokens_are_inactive() {
    let f = fixture().await;
    let (access, _) = login(&f).await;
    let forged = format!("{access}x");
    for t in [forged.as_str(), "nope", "a.b.c", ""] {
        assert_eq!(
            ask(&f, "app", t, None).await,
            json!({"active": false}),
            "{t}"
        );
    }
    f.clock.advance(900);
    assert_eq!(
        ask(&f, "app", &access, None).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn a_machine_token_has_no_session_and_is_active_while_valid() {
    let f = fixture().await;
    let r = f
        .service
        .token(&token_req("svc", &[("grant_type", "client_credentials")]))
        .await
        .unwrap();
    assert!(claims(&r.access_token).get("sid").is_none());
    let answer = ask(&f, "svc", &r.access_token, None).await;
    assert_eq!(
        (answer["active"].clone(), answer["sub"].clone()),
        (json!(true), json!("svc"))
    );
}

#[tokio::test]
async fn the_caller_must_authenticate_and_name_a_token() {
    let f = fixture().await;
    let no_token = IntrospectionRequest {
        credentials: creds("app"),
        token: None,
        token_type_hint: None,
    };
    let e = f.service.introspect(&f.introspector, &no_token).await.err();
    assert_eq!(e.map(|e| e.code.as_str()), Some("invalid_request"));
    let bad = IntrospectionRequest {
        credentials: Some(ClientCredentials {
            client_id: "app".into(),
            secret: Some(Secret::new("wrong")),
        }),
        token: Some(Secret::new("x")),
        token_type_hint: None,
    };
    let e = f.service.introspect(&f.introspector, &bad).await.err();
    assert_eq!(e.map(|e| e.code.as_str()), Some("invalid_client"));
    let anonymous = IntrospectionRequest {
        credentials: None,
        token: Some(Secret::new("x")),
        token_type_hint: None,
    };
    let e = f
        .service
        .introspect(&f.introspector, &anonymous)
        .await
        .err();
    assert_eq!(e.map(|e| e.code.as_str()), Some("invalid_client"));
    let debug = format!("{bad:?}");
    assert!(
        !debug.contains("wrong") && debug.contains("redacted"),
        "{debug}"
    );
}

#[tokio::test]
async fn a_token_whose_client_is_disabled_deleted_or_recreated_is_inactive() {
    let f = fixture().await;
    let (access, refresh) = login(&f).await;
    let active = |v: serde_json::Value| v["active"] == json!(true);
    for token in [&access, &refresh] {
        assert!(active(ask(&f, "rs", token, None).await), "while app stands");
    }
    let disable = crate::client::ClientUpdate {
        enabled: Some(false),
        ..Default::default()
    };
    f.service.clients.update("app", &disable).await.unwrap();
    for token in [&access, &refresh] {
        assert_eq!(ask(&f, "rs", token, None).await, json!({"active": false}));
    }
    // Deleted and created again under the same id a second later: enabled, but newer than the
    // tokens, which it does not inherit, whoever asks.
    f.service.clients.delete("app").await.unwrap();
    f.clock.advance(1);
    let user = vec![GrantType::Password, GrantType::RefreshToken];
    let again = Client {
        created_at: f.clock.now(),
        ..client("app", user, false)
    };
    f.service.clients.create(&again).await.unwrap();
    for who in ["rs", "app"] {
        for token in [&access, &refresh] {
            assert_eq!(ask(&f, who, token, None).await, json!({"active": false}));
        }
    }
    // The new record's own tokens are active: the rule is the record's age, not its id.
    let (access, refresh) = login(&f).await;
    for who in ["rs", "app"] {
        for token in [&access, &refresh] {
            assert!(active(ask(&f, who, token, None).await), "{who}");
        }
    }
}

#[tokio::test]
async fn a_refresh_token_of_a_revoked_or_moved_on_session_is_inactive() {
    let f = fixture().await;
    let (_, refresh) = login(&f).await;
    let hash = Secret::new(refresh.as_str()).hash();
    let sid = f
        .refresh
        .inner
        .token_as_it_stands(&Secret::new(refresh.as_str()))
        .unwrap()
        .family_id;
    let set_current = |to: &str| {
        let mut families = f.refresh.inner.families.lock().unwrap();
        families.get_mut(&sid).unwrap().current_token = to.to_owned();
    };
    // A family that names another token as current (a state only a broken write could leave):
    // this one, though still marked active itself, is not the session's.
    set_current("sha256:another");
    assert_eq!(
        ask(&f, "app", &refresh, None).await,
        json!({"active": false})
    );
    set_current(&hash);
    assert_eq!(ask(&f, "app", &refresh, None).await["active"], true);
    // Revoking the session leaves the token's own record as it was: the family decides.
    let q = SessionQuery::from_parts(Some("u-1"), None).unwrap();
    revoke_sessions(
        f.refresh.as_ref(),
        f.revocations.as_ref(),
        &q,
        f.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        ask(&f, "app", &refresh, None).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn the_hint_says_which_kind_is_tried_first() {
    let f = fixture().await;
    let (access, _) = login(&f).await;
    // With refresh-token lookups failing, a JWT hinted (or looking like) an access token is
    // answered without one; hinted as a refresh token, the lookup comes first and fails.
    f.refresh.fail("get_token");
    for hint in [Some(TokenTypeHint::AccessToken), None] {
        assert_eq!(
            ask(&f, "app", &access, hint).await["active"],
            true,
            "{hint:?}"
        );
    }
    let req = IntrospectionRequest {
        credentials: creds("app"),
        token: Some(Secret::new(access.as_str())),
        token_type_hint: Some(TokenTypeHint::RefreshToken),
    };
    let e = f
        .service
        .introspect(&f.introspector, &req)
        .await
        .unwrap_err();
    assert_eq!(
        e.code,
        tollgate_oauth::error::ErrorCode::TemporarilyUnavailable
    );
    assert_eq!(f.refresh.failed(), ["get_token"]);
    assert_eq!(
        TokenTypeHint::parse("refresh_token"),
        Some(TokenTypeHint::RefreshToken)
    );
    assert_eq!(
        TokenTypeHint::parse("access_token"),
        Some(TokenTypeHint::AccessToken)
    );
    assert_eq!(TokenTypeHint::parse("id_token"), None);
}
