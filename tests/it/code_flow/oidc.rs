//! OpenID Connect on top of the code flow, against the served function: the ID token the
//! `openid` scope adds (verified with the published keys, as a relying party would), `/userinfo`
//! and its RFC 6750 refusals, RP-initiated logout ending the session, and the Rust
//! `openidconnect` crate (discovery, ID-token verification, `at_hash`, userinfo) completing the
//! flow on its own.

use std::collections::HashMap;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tollgate_tests::code_flow::{Page, code_for, exchange, get_page, query_params, signed_out_uri};
use tollgate_tests::{Answer, form, http, send, unique};

use super::Flow;

/// Signs in with `scope` (and a nonce) and exchanges the code: the token answer and the nonce.
async fn tokens(f: &Flow, scope: &str) -> (Answer, String) {
    let nonce = unique("nonce");
    let params = f.with(&[("scope", Some(scope)), ("nonce", Some(&nonce))]);
    let code = code_for(&f.served.base, &params, &f.username, &f.password).await;
    let t = exchange(
        &f.served.token_url(),
        f.client(),
        &code,
        &f.pkce.verifier,
        Some(&f.callback.uri),
    )
    .await;
    assert_eq!(t.status, 200, "{t:?}");
    (t, nonce)
}

/// Verifies an ID token as a relying party does: the published key, ES256, `typ: JWT`, our
/// issuer, this client as the audience, not expired.
async fn verify_id_token(f: &Flow, token: &str) -> HashMap<String, Value> {
    let header = jsonwebtoken::decode_header(token).expect("a JWS");
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let set = f.served.jwks().await;
    let jwk = set
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid is published");
    let mut v = Validation::new(Algorithm::ES256);
    v.set_issuer(&[&f.served.issuer]);
    v.set_audience(&[&f.id]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
    jsonwebtoken::decode(token, &DecodingKey::from_jwk(jwk).expect("key"), &v)
        .expect("the ID token verifies")
        .claims
}

/// OpenID Connect Core §3.1.3.6: the left half of the SHA-256 of the access token.
fn at_hash(access_token: &str) -> String {
    let d = digest::digest(&digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

async fn userinfo_get(f: &Flow, token: Option<&str>) -> Answer {
    let mut req = http().get(format!("{}/userinfo", f.served.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    send(req).await
}

async fn end_session(f: &Flow, params: &[(&str, &str)]) -> Page {
    get_page(&format!("{}/end_session?{}", f.served.base, form(params))).await
}

async fn refresh(f: &Flow, refresh_token: &str) -> Answer {
    send(
        http()
            .post(f.served.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", &f.id),
            ])),
    )
    .await
}

#[tokio::test]
async fn the_openid_scope_adds_an_id_token_that_verifies_with_the_published_key() {
    let f = Flow::public().await;
    let (t, nonce) = tokens(&f, "openid profile").await;
    let access = t.json["access_token"].as_str().unwrap();
    let claims = verify_id_token(&f, t.json["id_token"].as_str().expect("an id_token")).await;
    let at = f.served.verify(access).await;
    assert_eq!(claims["sub"], f.sub.as_str());
    assert_eq!(claims["nonce"], nonce.as_str());
    assert_eq!(claims["at_hash"], at_hash(access).as_str());
    assert_eq!(claims["sid"], at["sid"]);
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    let auth_time = claims["auth_time"].as_u64().expect("auth_time");
    assert!(auth_time <= iat && iat < exp, "{claims:?}");
    // The allow-listed user details ride along, as in the access token.
    assert_eq!(claims["email"], format!("{}@example.com", f.username));
    // Without `openid`, no ID token.
    let (plain, _) = tokens(&f, "profile").await;
    assert!(plain.json.get("id_token").is_none(), "{plain:?}");
}

#[tokio::test]
async fn userinfo_answers_with_the_users_details_and_refuses_as_rfc_6750_says() {
    let f = Flow::public().await;
    let (t, _) = tokens(&f, "openid profile").await;
    let access = t.json["access_token"].as_str().unwrap();
    let got = userinfo_get(&f, Some(access)).await;
    assert_eq!(got.status, 200, "{got:?}");
    got.assert_no_store();
    assert_eq!(got.json["sub"], f.sub.as_str());
    assert_eq!(got.json["email"], format!("{}@example.com", f.username));
    // POST with the token in the form (RFC 6750 §2.2) answers the same.
    let posted = send(
        http()
            .post(format!("{}/userinfo", f.served.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("access_token", access)])),
    )
    .await;
    assert_eq!(posted.json, got.json, "{posted:?}");
    // No token, a forged one: 401 with the challenge.
    for token in [None, Some("not-a-token"), Some(&*format!("{access}x"))] {
        let a = userinfo_get(&f, token).await;
        a.assert_error(401, "invalid_token");
        let challenge = a.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
    }
    // A token without `openid`: 403 insufficient_scope.
    let (plain, _) = tokens(&f, "profile").await;
    let a = userinfo_get(&f, plain.json["access_token"].as_str()).await;
    a.assert_error(403, "insufficient_scope");
    // The token in both places: 400.
    let both = send(
        http()
            .post(format!("{}/userinfo", f.served.base))
            .bearer_auth(access)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("access_token", access)])),
    )
    .await;
    both.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn end_session_ends_the_session_and_returns_to_the_registered_uri_with_state() {
    let f = Flow::public().await;
    let (t, _) = tokens(&f, "openid profile").await;
    let (access, rt) = (
        t.json["access_token"].as_str().unwrap(),
        t.json["refresh_token"].as_str().unwrap(),
    );
    let hint = t.json["id_token"].as_str().unwrap();
    let back = signed_out_uri(&f.callback.uri);
    let state = unique("bye");
    let params = [
        ("id_token_hint", hint),
        ("post_logout_redirect_uri", &back),
        ("state", &state),
    ];
    let out = end_session(&f, &params).await;
    assert_eq!(out.status, 302, "{out:?}");
    let location = out.header("location").unwrap_or_default();
    assert!(location.starts_with(&format!("{back}?")), "{location}");
    assert_eq!(
        query_params(location.split_once('?').unwrap().1)["state"],
        state
    );
    // The session is over: its refresh token and its access token at /userinfo are refused.
    refresh(&f, rt).await.assert_error(400, "invalid_grant");
    userinfo_get(&f, Some(access))
        .await
        .assert_error(401, "invalid_token");
    // Signing out again is harmless; without a URI it ends on the signed-out page.
    let again = end_session(&f, &[("id_token_hint", hint)]).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert!(again.text.contains("You are signed out"), "{}", again.text);
    assert_eq!(again.header("x-frame-options"), Some("DENY"));
}

#[tokio::test]
async fn end_session_refuses_forged_hints_and_unregistered_uris_on_a_page_and_ends_nothing() {
    let f = Flow::public().await;
    let (t, _) = tokens(&f, "openid profile").await;
    let rt = t.json["refresh_token"].as_str().unwrap();
    let hint = t.json["id_token"].as_str().unwrap();
    let back = signed_out_uri(&f.callback.uri);
    let access = t.json["access_token"].as_str().unwrap();
    let other = Flow::public().await;
    // The same header and claims under a signature changed in its first character.
    let (signed, signature) = hint.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{signed}.{flipped}{}", &signature[1..]);
    let below = format!("{back}/more");
    let cases: [Vec<(&str, &str)>; 6] = [
        vec![("post_logout_redirect_uri", &back)],
        vec![
            ("id_token_hint", &forged),
            ("post_logout_redirect_uri", &back),
        ],
        // An access token is no ID token (typ at+jwt).
        vec![
            ("id_token_hint", access),
            ("post_logout_redirect_uri", &back),
        ],
        vec![
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
        vec![
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", &below),
        ],
        vec![("id_token_hint", hint), ("client_id", &other.id)],
    ];
    for params in cases {
        let page = end_session(&f, &params).await;
        assert_eq!(page.status, 400, "{params:?}: {page:?}");
        assert!(page.header("location").is_none(), "{params:?}");
        assert!(page.text.contains("<h1"), "{params:?}: an error page");
    }
    // The session still stands.
    let r = refresh(&f, rt).await;
    assert_eq!(r.status, 200, "{r:?}");
}

mod openidconnect_crate {
    //! The Rust `openidconnect` crate as a relying party: discovery, the authorization URL with
    //! PKCE and a nonce, the exchange, the ID token's signature, claims, nonce and `at_hash`, and
    //! `/userinfo`.

    use openidconnect::core::{
        CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
        CoreUserInfoClaims,
    };
    use openidconnect::{
        AccessTokenHash, AuthorizationCode, ClientId, CsrfToken, HttpRequest, HttpResponse,
        IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
        TokenResponse,
    };
    use tollgate_tests::code_flow::sign_in_url;
    use tollgate_tests::http;

    use super::super::Flow;

    /// openidconnect 4 takes any async function from `http::Request` to `http::Response`.
    async fn send(req: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
        let (parts, body) = req.into_parts();
        let resp = http()
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await?;
        let mut out = http::Response::builder().status(resp.status());
        for (k, v) in resp.headers() {
            out = out.header(k, v);
        }
        let body = resp.bytes().await?.to_vec();
        Ok(out.body(body).expect("parts of a valid response"))
    }

    #[tokio::test]
    async fn openidconnect_crate_discovers_signs_in_and_verifies_the_id_token() {
        let f = Flow::public().await;
        let issuer = IssuerUrl::new(f.served.issuer.clone()).expect("issuer");
        let meta = CoreProviderMetadata::discover_async(issuer, &send)
            .await
            .unwrap_or_else(|e| panic!("discovery failed: {e:?}"));
        let client = CoreClient::from_provider_metadata(meta, ClientId::new(f.id.clone()), None)
            .set_redirect_uri(RedirectUrl::new(f.callback.uri.clone()).expect("redirect"));
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let back = sign_in_url(url.as_str(), &f.username, &f.password).await;
        assert_eq!(back.get("state"), Some(csrf.secret()));
        assert_eq!(back.get("iss"), Some(&f.served.issuer));
        let token = client
            .exchange_code(AuthorizationCode::new(back["code"].clone()))
            .expect("a token endpoint")
            .set_pkce_verifier(verifier)
            .request_async(&send)
            .await
            .unwrap_or_else(|e| panic!("the exchange failed: {e:?}"));
        let id_token = token.id_token().expect("an ID token for openid");
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
        let claims = id_token
            .claims(&verifier, &nonce)
            .unwrap_or_else(|e| panic!("the ID token does not verify: {e:?}"));
        assert_eq!(claims.subject().as_str(), f.sub);
        let expected = claims.access_token_hash().expect("at_hash");
        let actual = AccessTokenHash::from_token(
            token.access_token(),
            id_token.signing_alg().expect("alg"),
            id_token.signing_key(&verifier).expect("key"),
        )
        .expect("hash");
        assert_eq!(&actual, expected);
        let info: CoreUserInfoClaims = client
            .user_info(token.access_token().clone(), Some(claims.subject().clone()))
            .expect("a userinfo endpoint")
            .request_async(&send)
            .await
            .unwrap_or_else(|e| panic!("userinfo failed: {e:?}"));
        assert_eq!(info.subject().as_str(), f.sub);
        let email = info.email().map(|e| e.as_str().to_owned());
        assert_eq!(email, Some(format!("{}@example.com", f.username)));
    }
}
