//! The code flow attacked through the served function: redirect URIs that are not the
//! registered one, open redirects through error paths, forged and replayed form posts, hostile
//! names, guessing through the form, PKCE downgrades, codes used twice or by another client,
//! and a public client at the password grant.

use tollgate_oauth::error::is_description_text;
use tollgate_tests::code_flow::{
    Callback, Pkce, authorize_url, code_client, code_for, exchange, get_page, post_sign_in,
    sign_in_http,
};
use tollgate_tests::{post_token, unique};

use super::Flow;

#[tokio::test]
async fn an_unregistered_prefix_or_fragment_redirect_uri_gets_an_error_page_never_a_redirect() {
    let f = Flow::public().await;
    let registered = f.callback.uri.clone();
    let variants = [
        "https://evil.example/callback".to_owned(),
        format!("{registered}/x"),
        format!("{registered}x"),
        registered.trim_end_matches("callback").to_owned(),
        format!("{registered}#frag"),
        format!("{registered}?next=https://evil.example"),
        registered.replace("127.0.0.1", "localhost"),
    ];
    for uri in &variants {
        let p = get_page(&authorize_url(
            &f.served.base,
            &f.with(&[("redirect_uri", Some(uri))]),
        ))
        .await;
        assert_eq!(p.status, 400, "{uri}: {p:?}");
        assert_eq!(p.header("location"), None, "{uri}");
        assert!(p.text.contains("has not registered"), "{uri}: {}", p.text);
        assert!(
            !p.text.contains("evil.example"),
            "the page repeats no URI: {}",
            p.text
        );
    }
    // An unknown client: the page, whatever its redirect_uri says.
    let p = get_page(&authorize_url(
        &f.served.base,
        &f.with(&[
            ("client_id", Some("no-such-client")),
            ("redirect_uri", Some("https://evil.example/")),
        ]),
    ))
    .await;
    assert_eq!((p.status, p.header("location")), (400, None), "{p:?}");
}

#[tokio::test]
async fn every_error_goes_back_only_to_the_registered_uri_with_state_and_iss() {
    let f = Flow::public().await;
    let long = "x".repeat(2000);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            f.with(&[("response_type", Some("token"))]),
            "unsupported_response_type",
        ),
        (f.with(&[("response_type", None)]), "invalid_request"),
        (f.with(&[("code_challenge", None)]), "invalid_request"),
        (
            f.with(&[("code_challenge_method", Some("plain"))]),
            "invalid_request",
        ),
        (
            f.with(&[("scope", Some("admin <b>\"x\""))]),
            "invalid_scope",
        ),
        (f.with(&[("prompt", Some("none"))]), "login_required"),
        (f.with(&[("nonce", Some(&long))]), "invalid_request"),
        (f.with(&[("evil<script>", Some(&long))]), "invalid_request"),
    ];
    let mut twice = f.params();
    twice.push(("scope", "openid"));
    let mut all = cases;
    all.push((twice, "invalid_request"));
    for (params, error) in all {
        let p = get_page(&authorize_url(&f.served.base, &params)).await;
        assert_eq!(p.status, 302, "{params:?}: {p:?}");
        let location = p.header("location").unwrap_or_default();
        assert!(
            location.starts_with(&format!("{}?", f.callback.uri)),
            "{location}"
        );
        let q = p.location_params();
        assert_eq!(q["error"], error, "{params:?}");
        assert_eq!(q["state"], f.state);
        assert_eq!(q["iss"], f.served.issuer);
        let d = &q["error_description"];
        assert!(is_description_text(d), "{d}");
        assert!(
            !d.contains("evil") && !d.contains("<b>") && !d.contains("xxxx"),
            "{d}"
        );
    }
}

#[tokio::test]
async fn a_forged_or_replayed_form_post_never_reaches_the_password_check() {
    let f = Flow::public().await;
    let username = unique("forged");
    let first = get_page(&authorize_url(&f.served.base, &f.params())).await;
    let field = first.request_field().unwrap();
    let cookie = first.cookie().unwrap();
    // Another browser: another cookie, and a form of its own.
    let other = get_page(&authorize_url(&f.served.base, &f.params())).await;
    let other_cookie = other.cookie().unwrap();
    assert_ne!(cookie, other_cookie);
    let fields = |field: &str| {
        vec![
            ("request".to_owned(), field.to_owned()),
            ("username".to_owned(), username.clone()),
            ("password".to_owned(), "x".to_owned()),
        ]
    };
    let post = |cookie: Option<String>, field: String| {
        let base = f.served.base.clone();
        let fields = fields(&field);
        async move {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            post_sign_in(&base, cookie.as_deref(), &pairs).await
        }
    };
    for (cookie, why) in [
        (None, "no cookie"),
        (Some(other_cookie.clone()), "another browser's cookie"),
    ] {
        let p = post(cookie, field.clone()).await;
        assert_eq!(p.status, 403, "{why}: {p:?}");
        assert!(p.text.contains("not opened in this browser"), "{why}");
        assert_eq!(p.header("location"), None);
    }
    let mut altered = field.clone();
    altered.replace_range(10..11, if &field[10..11] == "A" { "B" } else { "A" });
    let p = post(Some(cookie.clone()), altered).await;
    assert_eq!(p.status, 400, "an altered form: {p:?}");
    assert!(p.text.contains("expired"));
    let p = post(Some(cookie.clone()), String::new()).await;
    assert_eq!(p.status, 400, "no form: {p:?}");
    // None of these reached the domain: no sign-in was refused (or counted) for this client.
    let log = std::fs::read_to_string(&f.served.log_path).unwrap_or_default();
    assert!(
        !log.lines()
            .any(|l| l.contains("sign_in_refused") && l.contains(&f.id)),
        "a forged post reached the password check"
    );
}

#[tokio::test]
async fn a_hostile_client_name_is_shown_as_text() {
    let evil = "\"><script>alert(1)</script><img src=x onerror=alert(2)>";
    let f = Flow::new(true, evil).await;
    let p = get_page(&authorize_url(&f.served.base, &f.params())).await;
    assert_eq!(p.status, 200);
    assert!(!p.text.contains("<script>alert(1)") && !p.text.contains("<img src=x"));
    assert!(
        p.text
            .contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    // Hostile state and scope come back encoded in the redirect, never into a page.
    let state = "<script>alert(3)</script>\"'&";
    let bad = f.with(&[("state", Some(state)), ("response_type", Some("x<y"))]);
    let r = get_page(&authorize_url(&f.served.base, &bad)).await;
    let location = r.header("location").unwrap_or_default();
    assert!(
        !location.contains('<') && !location.contains('"') && !location.contains(' '),
        "{location}"
    );
    assert_eq!(r.location_params()["state"], state);
}

#[tokio::test]
async fn guessing_through_the_form_is_locked_out_with_the_password_grants_count() {
    let f = Flow::public().await;
    // Two wrong passwords through the form, the third through the password grant of another
    // client: one count (LOCKOUT_MAX_FAILURES is 3 in the served stack).
    for _ in 0..2 {
        let p = sign_in_http(&f.served.base, &f.params(), "formlock", "wrong").await;
        assert_eq!(p.status, 400, "{p:?}");
        assert!(p.text.contains("The username or password is incorrect."));
        assert!(
            p.text.contains("value=\"formlock\""),
            "the username stays filled in"
        );
    }
    let (id, secret) = tollgate_tests::ClientSpec::default()
        .create(&tollgate_tests::dynamo().await, &f.served.clients_table)
        .await;
    let pairs = [
        ("grant_type", "password"),
        ("username", " FormLock"),
        ("password", "wrong"),
    ];
    post_token(&f.served.token_url(), Some((&id, &secret)), &pairs)
        .await
        .assert_error(400, "invalid_grant");
    let p = sign_in_http(&f.served.base, &f.params(), "formlock", "formlock-password").await;
    assert_eq!(p.status, 400, "locked: {p:?}");
    assert!(p.text.contains("Too many failed attempts"), "{}", p.text);
    let right = [
        ("grant_type", "password"),
        ("username", "formlock"),
        ("password", "formlock-password"),
    ];
    let a = post_token(&f.served.token_url(), Some((&id, &secret)), &right).await;
    assert_eq!(
        a.json["error_description"],
        "too many failed attempts for this username; try again later"
    );
}

#[tokio::test]
async fn a_missing_plain_or_wrong_verifier_is_refused() {
    let f = Flow::public().await;
    let code = code_for(&f.served.base, &f.params(), &f.username, &f.password).await;
    let token_url = f.served.token_url();
    let missing = tollgate_tests::send(
        tollgate_tests::http()
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(tollgate_tests::form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &f.id),
            ])),
    )
    .await;
    missing.assert_error(400, "invalid_request");
    for wrong in [
        f.pkce.challenge.as_str(),
        Pkce::new().verifier.as_str(),
        "short",
    ] {
        exchange(&token_url, f.client(), &code, wrong, Some(&f.callback.uri))
            .await
            .assert_error(400, "invalid_grant");
    }
    let ok = exchange(
        &token_url,
        f.client(),
        &code,
        &f.pkce.verifier,
        Some(&f.callback.uri),
    )
    .await;
    assert_eq!(
        ok.status, 200,
        "the wrong verifiers did not use the code up: {ok:?}"
    );
}

#[tokio::test]
async fn a_code_used_twice_is_refused_and_its_session_ends() {
    let f = Flow::public().await;
    let code = code_for(&f.served.base, &f.params(), &f.username, &f.password).await;
    let url = f.served.token_url();
    let first = exchange(
        &url,
        f.client(),
        &code,
        &f.pkce.verifier,
        Some(&f.callback.uri),
    )
    .await;
    assert_eq!(first.status, 200);
    exchange(
        &url,
        f.client(),
        &code,
        &f.pkce.verifier,
        Some(&f.callback.uri),
    )
    .await
    .assert_error(400, "invalid_grant");
    let rt = first.json["refresh_token"].as_str().unwrap();
    post_token(
        &url,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", &f.id),
        ],
    )
    .await
    .assert_error(400, "invalid_grant");
    let log = std::fs::read_to_string(&f.served.log_path).unwrap_or_default();
    assert!(log.contains("authorization code used again: revoking its session"));
}

#[tokio::test]
async fn a_code_of_another_client_or_redirect_uri_is_refused() {
    let f = Flow::public().await;
    let code = code_for(&f.served.base, &f.params(), &f.username, &f.password).await;
    let other_callback = Callback::start().await;
    let (other, _) = code_client(
        &f.served.clients_table,
        true,
        "test",
        &[&other_callback.uri],
    )
    .await;
    let url = f.served.token_url();
    exchange(
        &url,
        (&other, ""),
        &code,
        &f.pkce.verifier,
        Some(&f.callback.uri),
    )
    .await
    .assert_error(400, "invalid_grant");
    exchange(
        &url,
        f.client(),
        &code,
        &f.pkce.verifier,
        Some(&other_callback.uri),
    )
    .await
    .assert_error(400, "invalid_grant");
    // Named in the request, so the exchange must name it too.
    exchange(&url, f.client(), &code, &f.pkce.verifier, None)
        .await
        .assert_error(400, "invalid_grant");
    let ok = exchange(
        &url,
        f.client(),
        &code,
        &f.pkce.verifier,
        Some(&f.callback.uri),
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
}

#[tokio::test]
async fn a_public_client_may_not_use_the_password_grant_nor_introspect() {
    let f = Flow::public().await;
    let url = f.served.token_url();
    let pairs = [
        ("grant_type", "password"),
        ("username", "demo"),
        ("password", "demo-password"),
        ("client_id", f.id.as_str()),
    ];
    post_token(&url, None, &pairs)
        .await
        .assert_error(400, "unauthorized_client");
    let introspect = format!("{}/introspect", f.served.base);
    post_token(&introspect, None, &[("token", "x"), ("client_id", &f.id)])
        .await
        .assert_error(401, "invalid_client");
}

#[tokio::test]
async fn a_duplicated_client_id_or_redirect_uri_is_an_error_page() {
    let f = Flow::public().await;
    for name in ["client_id", "redirect_uri"] {
        let mut p = f.params();
        let value = p.iter().find(|(k, _)| *k == name).unwrap().1;
        p.push((name, value));
        let page = get_page(&authorize_url(&f.served.base, &p)).await;
        assert_eq!(
            (page.status, page.header("location")),
            (400, None),
            "{name}"
        );
        assert!(page.text.contains("malformed"));
    }
}
