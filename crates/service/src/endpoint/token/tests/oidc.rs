//! OpenID Connect against the memory adapters: the code exchange's ID token, `/userinfo` (the
//! `openid` scope and a session that stands), and `/end_session`'s rules (our hint, its client,
//! a registered URI; the session ended as `revoke-sessions` ends it).

use std::collections::HashMap;

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::id_token::HintVerifier;
use tollgate_oauth::verify::{AccessTokenVerifier, DEFAULT_MAX_LIFETIME, VerifierConfig};

use super::code_flow::{CALLBACK, SIGNED_OUT, VERIFIER, authorize, exchange, params, with};
use super::*;
use crate::endpoint::authorize::{Authorized, SignedIn};
use crate::endpoint::end_session::{EndSessionRequest, EndedSession, LogoutRefusal};
use crate::endpoint::introspect::Introspector;

/// Signs alice in for `scope` (with a nonce) and exchanges the code.
async fn tokens(f: &Fixture, scope: &str) -> TokenResponse {
    let q = with(&[("scope", Some(scope)), ("nonce", Some("n-1"))]);
    let Authorized::SignIn { request, .. } = authorize(f, &q).await else {
        panic!("the sign-in page")
    };
    let pw = Secret::new("pw");
    let SignedIn::Redirect(to) = f
        .service
        .sign_in(&request, "alice", &pw, Deadline::none())
        .await
    else {
        panic!("signed in")
    };
    let code = params(&to.location())["code"].clone();
    let req = exchange(&code, Some(VERIFIER), Some(CALLBACK));
    f.service.token(&req).await.expect("exchanged")
}

fn introspector(f: &Fixture) -> Introspector {
    let cfg = VerifierConfig {
        issuer: "iss".into(),
        audience: "aud".into(),
        leeway: 0,
        algorithms: vec![jsonwebtoken::Algorithm::ES256],
        max_lifetime: DEFAULT_MAX_LIFETIME,
    };
    Introspector {
        verifier: AccessTokenVerifier::new(&f.jwks, &cfg).unwrap(),
        issuer: "iss".into(),
    }
}

async fn userinfo(f: &Fixture, token: Option<&str>) -> Result<serde_json::Value, ErrorCode> {
    f.service
        .userinfo(&introspector(f), token, Deadline::none())
        .await
        .map(serde_json::Value::Object)
        .map_err(|e| e.to_oauth().code)
}

async fn refresh(f: &Fixture, t: &TokenResponse) -> Result<TokenResponse, ErrorCode> {
    let r = HashMap::from([
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        (
            "refresh_token".to_owned(),
            t.refresh_token.as_ref().unwrap().expose().to_owned(),
        ),
    ]);
    let spa = ClientCredentials {
        client_id: "spa".into(),
        secret: None,
    };
    f.service
        .token(&TokenRequest::new(Some(spa), r))
        .await
        .map_err(|e| e.code)
}

async fn end(f: &Fixture, ask: EndSessionRequest) -> EndedSession {
    let hints = HintVerifier::new(&f.jwks, "iss").unwrap();
    f.service.end_session(&hints, &ask, Deadline::none()).await
}

fn ask(hint: &str, uri: Option<&str>) -> EndSessionRequest {
    EndSessionRequest {
        id_token_hint: Some(hint.to_owned()),
        post_logout_redirect_uri: uri.map(str::to_owned),
        client_id: None,
        state: Some("s-1".into()),
    }
}

#[tokio::test]
async fn the_openid_scope_adds_an_id_token_to_the_exchange_and_only_it() {
    let f = fixture().await;
    let t = tokens(&f, "openid read").await;
    let id = super::code_flow::decode(t.id_token.as_deref().expect("an ID token"));
    let access = super::code_flow::decode(&t.access_token);
    assert_eq!(id["aud"], "spa");
    assert_eq!(id["iss"], "iss");
    assert_eq!(id["sub"], "u-1");
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["sid"], access["sid"]);
    assert_eq!(id["email"], "a@b");
    assert!(
        id.get("password_hash").is_none(),
        "only the allowed details"
    );
    assert!(id["at_hash"].is_string() && id["auth_time"].is_u64());
    assert!(tokens(&f, "read").await.id_token.is_none());
    // Refresh answers carry none.
    assert!(refresh(&f, &t).await.unwrap().id_token.is_none());
}

#[tokio::test]
async fn userinfo_needs_openid_and_a_session_that_stands() {
    let f = fixture().await;
    let t = tokens(&f, "openid read").await;
    let claims = userinfo(&f, Some(&t.access_token)).await.unwrap();
    assert_eq!(claims, serde_json::json!({"sub": "u-1", "email": "a@b"}));
    let plain = tokens(&f, "read").await;
    assert_eq!(
        userinfo(&f, Some(&plain.access_token)).await,
        Err(ErrorCode::InsufficientScope)
    );
    for bad in [None, Some("x.y.z"), Some("")] {
        assert_eq!(userinfo(&f, bad).await, Err(ErrorCode::InvalidToken));
    }
    // The session ends (here: signed out): the token, still unexpired, gets nothing.
    let hint = t.id_token.clone().unwrap();
    assert!(matches!(
        end(&f, ask(&hint, None)).await,
        EndedSession::SignedOut
    ));
    assert_eq!(
        userinfo(&f, Some(&t.access_token)).await,
        Err(ErrorCode::InvalidToken)
    );
    // And an expired token of a live session.
    let live = tokens(&f, "openid read").await;
    f.clock.advance(901);
    assert_eq!(
        userinfo(&f, Some(&live.access_token)).await,
        Err(ErrorCode::InvalidToken)
    );
}

#[tokio::test]
async fn end_session_needs_our_hint_and_a_registered_uri() {
    let f = fixture().await;
    let t = tokens(&f, "openid read").await;
    let hint = t.id_token.clone().unwrap();
    let refused = [
        (
            EndSessionRequest {
                id_token_hint: None,
                ..ask("", Some(SIGNED_OUT))
            },
            LogoutRefusal::InvalidHint,
        ),
        (ask("x.y.z", Some(SIGNED_OUT)), LogoutRefusal::InvalidHint),
        // An access token is no ID token.
        (
            ask(&t.access_token, Some(SIGNED_OUT)),
            LogoutRefusal::InvalidHint,
        ),
        (
            EndSessionRequest {
                client_id: Some("web".into()),
                ..ask(&hint, Some(SIGNED_OUT))
            },
            LogoutRefusal::InvalidHint,
        ),
        (
            ask(&hint, Some("https://evil.example/bye")),
            LogoutRefusal::UnregisteredRedirect,
        ),
        (
            ask(&hint, Some(&format!("{SIGNED_OUT}/x"))),
            LogoutRefusal::UnregisteredRedirect,
        ),
        (
            ask(&hint, Some(CALLBACK)),
            LogoutRefusal::UnregisteredRedirect,
        ),
    ];
    for (a, why) in refused {
        match end(&f, a.clone()).await {
            EndedSession::Refused(r) => assert_eq!(r, why, "{a:?}"),
            other => panic!("{a:?}: {other:?}"),
        }
    }
    // Nothing ended: the session refreshes.
    let next = refresh(&f, &t).await.expect("the session still stands");
    // The good request ends it and goes back with state.
    let good = EndSessionRequest {
        client_id: Some("spa".into()),
        ..ask(&hint, Some(SIGNED_OUT))
    };
    match end(&f, good).await {
        EndedSession::Redirect { uri, state } => {
            assert_eq!((uri.as_str(), state.as_deref()), (SIGNED_OUT, Some("s-1")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        refresh(&f, &next).await.unwrap_err(),
        ErrorCode::InvalidGrant
    );
    let sid = super::code_flow::decode(&t.access_token)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(f.refresh.families.lock().unwrap()[&sid].revoked);
    // A hint long expired still names its session; signing out again is harmless.
    f.clock.advance(86_400);
    assert!(matches!(
        end(&f, ask(&hint, None)).await,
        EndedSession::SignedOut
    ));
}
