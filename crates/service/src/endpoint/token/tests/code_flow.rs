//! The authorization code flow against the memory adapters: `/authorize` (the request's checks,
//! in their order), the sign-in post (the password grant's path, lockout shared), and the code
//! exchange (PKCE, single use, reuse ending the session, a lost answer never taken for reuse).

use std::collections::HashMap;

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::pkce::CodeChallenge;

use super::*;
use crate::endpoint::authorize::{
    Again, AuthorizationQuery, AuthorizationRequest, Authorized, NotRedirectable, Notice, SignedIn,
};
use crate::testkit::failing::Failing;

pub(super) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(super) const CALLBACK: &str = "https://spa.example.com/cb";
pub(super) const SIGNED_OUT: &str = "https://spa.example.com/bye";

/// A public client of the code flow.
pub(super) fn spa() -> client::Client {
    client::Client {
        public: true,
        secret_hash: String::new(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec![CALLBACK.into()],
        post_logout_redirect_uris: vec![SIGNED_OUT.into()],
        allowed_scopes: Scopes::parse("read write openid").unwrap_or_default(),
        ..client::Client::for_tests("spa", "unused")
    }
}

/// A confidential client of the code flow with two redirect URIs, and the password grant.
pub(super) fn web() -> client::Client {
    client::Client {
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::Password,
            GrantType::RefreshToken,
        ],
        redirect_uris: vec![
            "https://web.example.com/cb".into(),
            "https://web.example.com/other".into(),
        ],
        ..client::Client::for_tests("web", "web-secret")
    }
}

fn query(pairs: &[(&str, &str)]) -> AuthorizationQuery {
    AuthorizationQuery::from_pairs(pairs.iter().copied())
}

fn good() -> Vec<(&'static str, String)> {
    vec![
        ("client_id", "spa".into()),
        ("redirect_uri", CALLBACK.into()),
        ("response_type", "code".into()),
        (
            "code_challenge",
            CodeChallenge::of(VERIFIER).as_str().into(),
        ),
        ("code_challenge_method", "S256".into()),
        ("state", "st<>\"ate".into()),
        ("scope", "read".into()),
    ]
}

pub(super) fn with(changes: &[(&'static str, Option<&str>)]) -> AuthorizationQuery {
    let mut pairs = good();
    for (k, v) in changes {
        pairs.retain(|(n, _)| n != k);
        if let Some(v) = v {
            pairs.push((k, (*v).into()));
        }
    }
    AuthorizationQuery::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
}

pub(super) async fn authorize(f: &Fixture, q: &AuthorizationQuery) -> Authorized {
    f.service.authorize(q, Deadline::none()).await
}

async fn request(f: &Fixture) -> AuthorizationRequest {
    match authorize(f, &with(&[])).await {
        Authorized::SignIn { request, .. } => request,
        other => panic!("a good request gets the sign-in page: {other:?}"),
    }
}

/// The parameters of a redirect's `Location`, decoded.
pub(super) fn params(location: &str) -> HashMap<String, String> {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
            (k.to_owned(), v.into_owned())
        })
        .collect()
}

fn redirected(a: Authorized) -> HashMap<String, String> {
    match a {
        Authorized::Redirect(r) => {
            assert!(r.location().starts_with(CALLBACK), "{r:?}");
            params(&r.location())
        }
        other => panic!("expected a redirect: {other:?}"),
    }
}

/// Signs `user` in through the form of a fresh request: the code, or what came instead.
async fn sign_in(f: &Fixture, user: &str, pw: &str) -> Result<String, SignedIn> {
    let r = request(f).await;
    match f
        .service
        .sign_in(&r, user, &Secret::new(pw), Deadline::none())
        .await
    {
        SignedIn::Redirect(to) => {
            let p = params(&to.location());
            assert_eq!(p["state"], "st<>\"ate");
            assert_eq!(p["iss"], "iss");
            Ok(p["code"].clone())
        }
        other => Err(other),
    }
}

pub(super) fn exchange(code: &str, verifier: Option<&str>, redirect: Option<&str>) -> TokenRequest {
    let mut params = HashMap::from([
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".to_owned(), code.to_owned()),
    ]);
    if let Some(v) = verifier {
        params.insert("code_verifier".into(), v.into());
    }
    if let Some(r) = redirect {
        params.insert("redirect_uri".into(), r.into());
    }
    let creds = ClientCredentials {
        client_id: "spa".into(),
        secret: None,
    };
    TokenRequest::new(Some(creds), params)
}

async fn exchanged(f: &Fixture, code: &str) -> Result<TokenResponse, OAuthError> {
    f.service
        .token(&exchange(code, Some(VERIFIER), Some(CALLBACK)))
        .await
}

#[tokio::test]
async fn a_good_request_gets_the_form_bound_to_its_checked_parameters() {
    let f = fixture().await;
    let Authorized::SignIn {
        request,
        client_name,
    } = authorize(&f, &with(&[])).await
    else {
        panic!("sign-in page expected")
    };
    assert_eq!(client_name, "spa");
    assert_eq!(request.redirect_uri, CALLBACK);
    assert!(request.redirect_uri_sent);
    assert_eq!(request.scope.to_string(), "read");
    assert_eq!(request.state.as_deref(), Some("st<>\"ate"));
    // One registered URI: it may be left out, and the token request may leave it out too.
    let Authorized::SignIn { request, .. } = authorize(&f, &with(&[("redirect_uri", None)])).await
    else {
        panic!("the only registered URI is implied")
    };
    assert!(!request.redirect_uri_sent);
}

#[tokio::test]
async fn no_usable_client_or_redirect_uri_is_an_error_page_never_a_redirect() {
    let f = fixture().await;
    use NotRedirectable::*;
    let cases: Vec<(AuthorizationQuery, NotRedirectable)> = vec![
        (with(&[("client_id", None)]), UnknownClient),
        (with(&[("client_id", Some("nobody"))]), UnknownClient),
        (with(&[("client_id", Some("bad id!"))]), UnknownClient),
        // Clients without the code flow, or disabled.
        (with(&[("client_id", Some("app"))]), UnknownClient),
        (with(&[("client_id", Some("off"))]), UnknownClient),
        (
            with(&[("redirect_uri", Some("https://evil.example/cb"))]),
            UnregisteredRedirect,
        ),
        (
            with(&[("redirect_uri", Some("https://spa.example.com/cb/x"))]),
            UnregisteredRedirect,
        ),
        (
            with(&[("redirect_uri", Some("https://spa.example.com/c"))]),
            UnregisteredRedirect,
        ),
        (
            with(&[("redirect_uri", Some("https://spa.example.com/cb#f"))]),
            UnregisteredRedirect,
        ),
        (
            with(&[("redirect_uri", Some("https://spa.example.com/cb?x=1"))]),
            UnregisteredRedirect,
        ),
        (
            query(&[
                ("client_id", "spa"),
                ("client_id", "spa"),
                ("response_type", "code"),
            ]),
            Malformed,
        ),
        (
            query(&[
                ("client_id", "spa"),
                ("redirect_uri", CALLBACK),
                ("redirect_uri", CALLBACK),
            ]),
            Malformed,
        ),
        (
            query(&[("client_id", "web"), ("response_type", "code")]),
            MissingRedirect,
        ),
    ];
    for (q, page) in cases {
        // Even a request broken in every other way gets the page, not a redirect.
        let mut q = q;
        q.params.insert("response_type".into(), "token".into());
        assert_eq!(authorize(&f, &q).await, Authorized::Page(page), "{q:?}");
    }
}

#[tokio::test]
async fn every_other_error_goes_back_with_state_and_iss_and_names_nothing_the_caller_sent() {
    let f = fixture().await;
    let challenge = CodeChallenge::of(VERIFIER);
    let cases: Vec<(AuthorizationQuery, &str)> = vec![
        (
            with(&[("response_type", Some("token"))]),
            "unsupported_response_type",
        ),
        (with(&[("response_type", None)]), "invalid_request"),
        (with(&[("code_challenge", None)]), "invalid_request"),
        (
            with(&[("code_challenge_method", Some("plain"))]),
            "invalid_request",
        ),
        (with(&[("code_challenge_method", None)]), "invalid_request"),
        (
            with(&[("code_challenge", Some("too-short"))]),
            "invalid_request",
        ),
        (with(&[("scope", Some("admin"))]), "invalid_scope"),
        (with(&[("scope", Some("read\u{7}"))]), "invalid_scope"),
        (with(&[("prompt", Some("none"))]), "login_required"),
        (with(&[("prompt", Some("none login"))]), "invalid_request"),
        (
            with(&[("request", Some("eyJ.x.y"))]),
            "request_not_supported",
        ),
        (
            with(&[("response_mode", Some("fragment"))]),
            "invalid_request",
        ),
        (
            with(&[("nonce", Some(&"n".repeat(257)))]),
            "invalid_request",
        ),
        (
            with(&[("x<script>", Some(&"v".repeat(2000)))]),
            "invalid_request",
        ),
    ];
    for (q, error) in cases {
        let p = redirected(authorize(&f, &q).await);
        assert_eq!(p["error"], error, "{q:?}");
        assert_eq!(p["state"], "st<>\"ate", "{q:?}");
        assert_eq!(p["iss"], "iss");
        let d = &p["error_description"];
        assert!(tollgate_oauth::error::is_description_text(d), "{d}");
        assert!(
            !d.contains("script") && !d.contains("vvv") && !d.contains(VERIFIER),
            "{d}"
        );
    }
    // A repeated parameter: refused; a repeated state is not echoed.
    let twice = query(&[
        ("client_id", "spa"),
        ("response_type", "code"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "a"),
        ("state", "b"),
    ]);
    let p = redirected(authorize(&f, &twice).await);
    assert_eq!(p["error"], "invalid_request");
    assert_eq!(p["error_description"], "state was sent more than once");
    assert!(!p.contains_key("state"));
    let long_state = with(&[("state", Some(&"s".repeat(513)))]);
    let p = redirected(authorize(&f, &long_state).await);
    assert_eq!(p["error_description"], "state is too long");
    assert!(!p.contains_key("state"));
}

#[tokio::test]
async fn the_code_becomes_the_password_grants_tokens_and_session() {
    let f = fixture().await;
    let code = sign_in(&f, "alice", "pw").await.expect("signed in");
    let t = exchanged(&f, &code).await.expect("exchanged");
    assert_eq!(t.scope.to_string(), "read");
    let claims = decode(&t.access_token);
    assert_eq!(claims["sub"], "u-1");
    assert_eq!(claims["client_id"], "spa");
    assert_eq!(claims["email"], "a@b");
    let sid = claims["sid"].as_str().unwrap().to_owned();
    let family = f.refresh.families.lock().unwrap()[&sid].clone();
    assert_eq!(
        (family.sub.as_str(), family.client_id.as_str()),
        ("u-1", "spa")
    );
    // The refresh token rotates as every other, for this public client only.
    let refresh = t.refresh_token.unwrap();
    let r = HashMap::from([
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("refresh_token".to_owned(), refresh.expose().to_owned()),
    ]);
    let spa = ClientCredentials {
        client_id: "spa".into(),
        secret: None,
    };
    let next = f
        .service
        .token(&TokenRequest::new(Some(spa), r.clone()))
        .await;
    assert!(next.unwrap().refresh_token.is_some());
    let other = req("web", "web-secret", &[]);
    let stolen = TokenRequest::new(other.credentials, r);
    assert_eq!(
        f.service.token(&stolen).await.unwrap_err().code,
        ErrorCode::InvalidGrant
    );
}

pub(super) fn decode(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let body = jwt.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn a_missing_plain_or_wrong_verifier_is_refused_and_leaves_the_code_usable() {
    let f = fixture().await;
    let code = sign_in(&f, "alice", "pw").await.unwrap();
    let missing = f
        .service
        .token(&exchange(&code, None, Some(CALLBACK)))
        .await;
    assert_eq!(
        missing.unwrap_err().description,
        "code_verifier is required"
    );
    let challenge = CodeChallenge::of(VERIFIER);
    for wrong in [
        challenge.as_str(),
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
        "short",
    ] {
        let e = f
            .service
            .token(&exchange(&code, Some(wrong), Some(CALLBACK)))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant, "{wrong}");
        assert_eq!(
            e.description,
            "the authorization code is invalid, expired or used"
        );
    }
    exchanged(&f, &code)
        .await
        .expect("the code was not consumed by the wrong verifiers");
}

#[tokio::test]
async fn another_clients_code_another_redirect_or_a_late_code_is_refused() {
    let f = fixture().await;
    let code = sign_in(&f, "alice", "pw").await.unwrap();
    let mut theirs = exchange(&code, Some(VERIFIER), Some(CALLBACK));
    theirs.credentials = req("web", "web-secret", &[]).credentials;
    let e = f.service.token(&theirs).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    for other in [Some("https://spa.example.com/cb2"), None] {
        let e = f
            .service
            .token(&exchange(&code, Some(VERIFIER), other))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant, "{other:?}");
    }
    f.clock.advance(crate::code::CODE_TTL);
    assert_eq!(
        exchanged(&f, &code).await.unwrap_err().code,
        ErrorCode::InvalidGrant
    );
    assert!(
        f.refresh.families.lock().unwrap().is_empty(),
        "no session started"
    );
}

#[tokio::test]
async fn a_code_used_twice_is_refused_and_ends_the_session_the_first_use_started() {
    let f = fixture().await;
    let code = sign_in(&f, "alice", "pw").await.unwrap();
    let first = exchanged(&f, &code).await.unwrap();
    let again = exchanged(&f, &code).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::InvalidGrant);
    let sid = decode(&first.access_token)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(f.refresh.families.lock().unwrap()[&sid].revoked);
    let r = HashMap::from([
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        (
            "refresh_token".to_owned(),
            first.refresh_token.unwrap().expose().to_owned(),
        ),
    ]);
    let spa = ClientCredentials {
        client_id: "spa".into(),
        secret: None,
    };
    let refused = f.service.token(&TokenRequest::new(Some(spa), r)).await;
    assert_eq!(refused.unwrap_err().code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn the_form_and_the_password_grant_share_one_failure_count() {
    let f = fixture().await;
    for _ in 0..2 {
        match sign_in(&f, "ALICE ", "wrong").await {
            Err(SignedIn::Again(Again {
                notice: Notice::WrongCredentials,
                cause: None,
                ..
            })) => {}
            other => panic!("a wrong password shows the form again: {other:?}"),
        }
    }
    // The third failure, through the password grant, locks the username for both.
    let p = password("alice", "wrong");
    let e = f
        .service
        .token(&req("web", "web-secret", &to_params(&p)))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    match sign_in(&f, "alice", "pw").await {
        Err(SignedIn::Again(Again {
            notice: Notice::Locked,
            cause: None,
            ..
        })) => {}
        other => panic!("locked through the form too: {other:?}"),
    }
    let calls = f.verifier.calls();
    let _ = sign_in(&f, "Alice", "pw").await;
    assert_eq!(
        f.verifier.calls(),
        calls,
        "a locked username never reaches the endpoint"
    );
}

#[tokio::test]
async fn a_username_that_cannot_be_one_is_a_wrong_password_to_the_page() {
    let f = fixture().await;
    for bad in ["", "a\u{7}b", "\u{202e}alice"] {
        match sign_in(&f, bad, "pw").await {
            Err(SignedIn::Again(Again {
                notice: Notice::WrongCredentials,
                cause: None,
                ..
            })) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_public_client_may_not_use_the_password_grant_nor_present_a_secret() {
    let f = fixture().await;
    let p = password("alice", "pw");
    let mut r = req("spa", "x", &to_params(&p));
    r.credentials = Some(ClientCredentials {
        client_id: "spa".into(),
        secret: None,
    });
    assert_eq!(
        f.service.token(&r).await.unwrap_err().code,
        ErrorCode::UnauthorizedClient
    );
    let with_secret = req("spa", "unused", &to_params(&p));
    assert_eq!(
        f.service.token(&with_secret).await.unwrap_err().code,
        ErrorCode::InvalidClient
    );
    // A confidential client's id alone is told its secret is missing.
    let mut alone = req("app", "x", &to_params(&p));
    alone.credentials = Some(ClientCredentials {
        client_id: "app".into(),
        secret: None,
    });
    let e = f.service.token(&alone).await.unwrap_err();
    assert_eq!(
        (e.code, e.description.as_str()),
        (ErrorCode::InvalidClient, "client_secret is required")
    );
}

/// The fixture with its code store able to lose answers.
fn lossy(f: &mut Fixture) -> Arc<Failing<MemoryRefresh>> {
    let store = Arc::new(Failing::new(MemoryRefresh::default()));
    f.service.refresh = store.clone();
    f.service.codes = store.clone();
    store
}

#[tokio::test]
async fn an_exchange_whose_answer_was_lost_is_sent_again_and_answered() {
    let mut f = fixture().await;
    let store = lossy(&mut f);
    let code = sign_in(&f, "alice", "pw").await.unwrap();
    store.lose_answers("exchange", 2);
    let t = exchanged(&f, &code)
        .await
        .expect("answered once a send was answered");
    let record = store.inner.codes.lock().unwrap()[&Secret::new(code).hash()].clone();
    let ex = record.exchange.unwrap();
    assert!(ex.unconfirmed && ex.sealed_refresh.is_some());
    assert_eq!(decode(&t.access_token)["sid"], ex.family_id.as_str());
    assert_eq!(store.inner.families.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_gets_the_session_that_landed_not_a_revocation() {
    let mut f = fixture().await;
    let store = lossy(&mut f);
    let code = sign_in(&f, "alice", "pw").await.unwrap();
    store.lose_answers("exchange", 100);
    let deadline = Deadline::at_ms(f.clock.now_ms() + 800);
    let r = exchange(&code, Some(VERIFIER), Some(CALLBACK));
    let lost = f.service.handle_token(&r, deadline).await.result;
    assert!(matches!(lost, Err(TokenError::Unavailable(_))), "{lost:?}");
    store.lose_answers("exchange", 0);
    f.clock.advance(5);
    let retry = exchanged(&f, &code)
        .await
        .expect("the retry gets the session");
    let families = store.inner.families.lock().unwrap().clone();
    assert_eq!(families.len(), 1, "one session, not two");
    let family = families.values().next().unwrap();
    assert!(!family.revoked, "a retry as told is no reuse");
    let refresh = retry.refresh_token.unwrap();
    assert_eq!(family.current_token, refresh.hash());
    // A wrong verifier is no such retry: it is reuse, and ends the session.
    let e = f
        .service
        .token(&exchange(
            &code,
            Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"),
            Some(CALLBACK),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    assert!(store.inner.families.lock().unwrap()[&family.family_id].revoked);
}

#[tokio::test]
async fn after_the_window_or_once_the_session_moved_on_the_retry_is_reuse() {
    for moved_on in [false, true] {
        let mut f = fixture().await;
        let store = lossy(&mut f);
        let code = sign_in(&f, "alice", "pw").await.unwrap();
        store.lose_answers("exchange", 100);
        let deadline = Deadline::at_ms(f.clock.now_ms() + 800);
        let r = exchange(&code, Some(VERIFIER), Some(CALLBACK));
        let _ = f.service.handle_token(&r, deadline).await;
        store.lose_answers("exchange", 0);
        if moved_on {
            let retry = exchanged(&f, &code).await.unwrap();
            let rt = retry.refresh_token.unwrap();
            let p = HashMap::from([
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("refresh_token".to_owned(), rt.expose().to_owned()),
            ]);
            let spa = ClientCredentials {
                client_id: "spa".into(),
                secret: None,
            };
            f.service
                .token(&TokenRequest::new(Some(spa), p))
                .await
                .unwrap();
        } else {
            f.clock.advance(f.service.policy.lost_answer_window + 1);
        }
        assert_eq!(
            exchanged(&f, &code).await.unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        let families = store.inner.families.lock().unwrap();
        assert!(families.values().all(|f| f.revoked), "moved_on={moved_on}");
    }
}
