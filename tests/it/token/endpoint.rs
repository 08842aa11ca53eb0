//! `POST /token` over HTTP, served by `cargo lambda watch`, backed by DynamoDB Local and the dev
//! auth endpoint. Every error case of the password grant asserts status, `error` and no-store.
//! The successful grants and the 405 also run as REST API proxy events (`Transport::ALL`).

use tollgate_service::client::GrantType;
use tollgate_tests::{
    Answer, ClientSpec, Served, Transport, basic_header, dynamo, http, post_token, send, unique,
};

async fn client(spec: ClientSpec) -> (Served, String, String) {
    let served = Served::from_env();
    let db = dynamo().await;
    let (id, secret) = spec.create(&db, &served.clients_table).await;
    (served, id, secret)
}

const DEMO: [(&str, &str); 3] = [
    ("grant_type", "password"),
    ("username", "demo"),
    ("password", "demo-password"),
];

#[tokio::test]
async fn password_grant_with_basic_returns_tokens_that_verify_against_the_jwks() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    for t in Transport::ALL {
        let a = t
            .post_form(&served, "/token", Some((&id, &secret)), &DEMO)
            .await;
        assert_eq!(a.status, 200, "{t:?}: {a:?}");
        a.assert_no_store();
        assert_eq!(a.header("content-type"), Some("application/json"));
        assert_eq!(a.json["token_type"], "Bearer");
        assert_eq!(a.json["expires_in"], 900);
        assert_eq!(a.json["scope"], "profile");
        let refresh = a.json["refresh_token"].as_str().unwrap();
        assert!(refresh.len() >= 43);

        let claims = served
            .verify(a.json["access_token"].as_str().unwrap())
            .await;
        assert_eq!(claims["sub"], "user-0001");
        assert_eq!(claims["client_id"], id.as_str());
        assert_eq!(claims["scope"], "profile");
        assert_eq!(claims["email"], "demo@example.com");
        assert_eq!(claims["groups"], serde_json::json!(["staff", "beta"]));
        assert!(
            !claims.contains_key("internal_id"),
            "claims outside USER_CLAIMS must not pass"
        );
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            900
        );
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
        assert!(claims.contains_key("auth_time"));
    }
}

#[tokio::test]
async fn password_grant_with_body_credentials_and_a_narrower_scope() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let mut p = DEMO.to_vec();
    p.extend([
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", "orders:read profile"),
    ]);
    for t in Transport::ALL {
        let a = t.post_form(&served, "/token", None, &p).await;
        assert_eq!(a.status, 200, "{t:?}: {a:?}");
        assert_eq!(a.json["scope"], "orders:read profile");
        let other = t.post_form(&served, "/token", None, &p).await;
        assert_ne!(a.json["refresh_token"], other.json["refresh_token"]);
        assert_ne!(a.json["access_token"], other.json["access_token"]);
    }
}

#[tokio::test]
async fn discovery_documents_are_published() {
    let served = Served::from_env();
    let m = send(http().get(format!(
        "{}/.well-known/oauth-authorization-server",
        served.base
    )))
    .await;
    assert_eq!(m.status, 200);
    assert_eq!(m.json["issuer"], served.issuer.as_str());
    assert_eq!(m.json["token_endpoint"], served.token_url().as_str());
    assert_eq!(
        m.json["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials"
        ])
    );
    assert_eq!(m.json["revocation_endpoint"], served.revoke_url().as_str());
    // OpenID Connect Discovery: the same document and what OpenID Connect adds.
    let o = send(http().get(format!("{}/.well-known/openid-configuration", served.base))).await;
    assert_eq!(o.status, 200, "{o:?}");
    for same in [
        "issuer",
        "token_endpoint",
        "authorization_endpoint",
        "jwks_uri",
    ] {
        assert_eq!(o.json[same], m.json[same], "{same}");
    }
    let base = &served.base;
    assert_eq!(o.json["userinfo_endpoint"], format!("{base}/userinfo"));
    assert_eq!(
        o.json["end_session_endpoint"],
        format!("{base}/end_session")
    );
    assert_eq!(
        o.json["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    assert_eq!(
        o.json["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(o.json["scopes_supported"], serde_json::json!(["openid"]));
    assert_eq!(
        o.json["response_types_supported"],
        serde_json::json!(["code"])
    );
    let set = served.jwks().await;
    assert!(!set.keys.is_empty());
    let raw = serde_json::to_string(&set).unwrap();
    assert!(!raw.contains("\"d\""), "no private key material");
}

#[tokio::test]
async fn missing_grant_type_is_invalid_request() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let a = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[("username", "demo"), ("password", "x")],
    )
    .await;
    a.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn missing_username_or_password_is_invalid_request() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let a = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[("grant_type", "password"), ("username", "demo")],
    )
    .await;
    a.assert_error(400, "invalid_request");
    let a = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[("grant_type", "password"), ("password", "x")],
    )
    .await;
    a.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn duplicate_parameter_is_invalid_request() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let mut p = DEMO.to_vec();
    p.push(("scope", "profile"));
    p.push(("scope", "orders:read"));
    post_token(&served.token_url(), Some((&id, &secret)), &p)
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn wrong_content_type_is_invalid_request() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let a = send(
        http()
            .post(served.token_url())
            .header("authorization", basic_header(&id, &secret))
            .header("content-type", "application/json")
            .body(r#"{"grant_type":"password","username":"demo","password":"demo-password"}"#),
    )
    .await;
    a.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let big = "x".repeat(20 * 1024);
    let mut p = DEMO.to_vec();
    p.push(("padding", &big));
    post_token(&served.token_url(), Some((&id, &secret)), &p)
        .await
        .assert_error(413, "invalid_request");
}

#[tokio::test]
async fn basic_and_body_credentials_together_are_invalid_request() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let mut p = DEMO.to_vec();
    p.extend([
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ]);
    post_token(&served.token_url(), Some((&id, &secret)), &p)
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn unknown_client_is_invalid_client_with_basic_challenge() {
    let served = Served::from_env();
    let a = post_token(
        &served.token_url(),
        Some(("no-such-client", "whatever")),
        &DEMO,
    )
    .await;
    a.assert_error(401, "invalid_client");
    assert!(
        a.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic")),
        "{a:?}"
    );
}

#[tokio::test]
async fn wrong_secret_is_invalid_client() {
    let (served, id, _) = client(ClientSpec::default()).await;
    let a = post_token(&served.token_url(), Some((&id, "wrong-secret")), &DEMO).await;
    a.assert_error(401, "invalid_client");
    assert!(
        a.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic")),
        "{a:?}"
    );

    let mut p = DEMO.to_vec();
    p.extend([
        ("client_id", id.as_str()),
        ("client_secret", "wrong-secret"),
    ]);
    let a = post_token(&served.token_url(), None, &p).await;
    a.assert_error(401, "invalid_client");
}

#[tokio::test]
async fn missing_client_credentials_is_invalid_client() {
    let served = Served::from_env();
    post_token(&served.token_url(), None, &DEMO)
        .await
        .assert_error(401, "invalid_client");
}

#[tokio::test]
async fn disabled_client_is_invalid_client() {
    let (served, id, secret) = client(ClientSpec {
        enabled: false,
        ..ClientSpec::default()
    })
    .await;
    post_token(&served.token_url(), Some((&id, &secret)), &DEMO)
        .await
        .assert_error(401, "invalid_client");
}

#[tokio::test]
async fn grant_not_allowed_for_the_client_is_unauthorized_client() {
    let (served, id, secret) = client(ClientSpec {
        grant_types: vec![GrantType::RefreshToken],
        ..ClientSpec::default()
    })
    .await;
    post_token(&served.token_url(), Some((&id, &secret)), &DEMO)
        .await
        .assert_error(400, "unauthorized_client");
}

#[tokio::test]
async fn unknown_grant_type_is_unsupported_grant_type() {
    // client_credentials and authorization_code are served now (tests/it/token/client_credentials.rs,
    // tests/it/code_flow/); these are not. A client not registered for the code flow gets
    // unauthorized_client for it.
    let (served, id, secret) = client(ClientSpec::default()).await;
    let code = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    code.assert_error(400, "unauthorized_client");
    for unknown in [
        "urn:ietf:params:oauth:grant-type:device_code",
        "Client_Credentials",
    ] {
        let a = post_token(
            &served.token_url(),
            Some((&id, &secret)),
            &[("grant_type", unknown)],
        )
        .await;
        a.assert_error(400, "unsupported_grant_type");
    }
}

const WRONG: &str = "the username or password is wrong";
const LOCKED: &str = "too many failed attempts";

/// Asserts `invalid_grant` whose description names the reason: a wrong password or a lock.
fn assert_invalid_grant(a: &Answer, reason: &str) {
    a.assert_error(400, "invalid_grant");
    let d = a.json["error_description"].as_str().unwrap();
    assert!(d.contains(reason), "expected {reason:?}: {a:?}");
}

/// `wrongpw` is this test's own user: no other test's failures count toward its lock.
#[tokio::test]
async fn wrong_password_is_invalid_grant() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let p = [
        ("grant_type", "password"),
        ("username", "wrongpw"),
        ("password", "not-the-password"),
    ];
    let a = post_token(&served.token_url(), Some((&id, &secret)), &p).await;
    assert_invalid_grant(&a, WRONG);
    assert!(
        !a.json["error_description"]
            .as_str()
            .unwrap()
            .contains(LOCKED)
    );
    // One failure locks nothing: the right password still works.
    let p = [
        ("grant_type", "password"),
        ("username", "wrongpw"),
        ("password", "wrongpw-password"),
    ];
    let a = post_token(&served.token_url(), Some((&id, &secret)), &p).await;
    assert_eq!(a.status, 200, "{a:?}");
}

#[tokio::test]
async fn unknown_user_is_invalid_grant() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let user = unique("nobody");
    let p = [
        ("grant_type", "password"),
        ("username", user.as_str()),
        ("password", "x"),
    ];
    post_token(&served.token_url(), Some((&id, &secret)), &p)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn scope_the_client_may_not_have_is_invalid_scope() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let mut p = DEMO.to_vec();
    p.push(("scope", "profile admin"));
    post_token(&served.token_url(), Some((&id, &secret)), &p)
        .await
        .assert_error(400, "invalid_scope");
}

async fn password(served: &Served, id: &str, secret: &str, user: &str, pw: &str) -> Answer {
    let p = [
        ("grant_type", "password"),
        ("username", user),
        ("password", pw),
    ];
    post_token(&served.token_url(), Some((id, secret)), &p).await
}

/// `lockme` is this test's own user. The served function runs with LOCKOUT_MAX_FAILURES=3
/// (scripts/test.sh).
#[tokio::test]
async fn repeated_failures_lock_the_username_even_for_the_right_password() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    for _ in 0..2 {
        let a = password(&served, &id, &secret, "lockme", "wrong").await;
        assert_invalid_grant(&a, WRONG);
    }
    let third = password(&served, &id, &secret, "lockme", "wrong").await;
    assert_invalid_grant(&third, LOCKED);
    let a = password(&served, &id, &secret, "lockme", "lockme-password").await;
    assert_invalid_grant(&a, LOCKED);
    // The dev auth endpoint matches usernames exactly, so LOCKME with the right password would
    // be a wrong password there; the description shows the lock answered first.
    let a = password(&served, &id, &secret, "LOCKME", "lockme-password").await;
    assert_invalid_grant(&a, LOCKED);
}

/// Case variants share one count: three failures spelled three ways lock `caselock` (its own
/// user), and its right password is then refused as locked.
#[tokio::test]
async fn username_case_variants_share_one_failure_count() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let a = password(&served, &id, &secret, "CaseLock", "wrong").await;
    assert_invalid_grant(&a, WRONG);
    let a = password(&served, &id, &secret, "CASELOCK", "wrong").await;
    assert_invalid_grant(&a, WRONG);
    let a = password(&served, &id, &secret, "caselock", "wrong").await;
    assert_invalid_grant(&a, LOCKED);
    let a = password(&served, &id, &secret, "caselock", "caselock-password").await;
    assert_invalid_grant(&a, LOCKED);
}

async fn expect_unavailable(url: &str, username: &str) {
    let (_, id, secret) = client(ClientSpec::default()).await;
    let p = [
        ("grant_type", "password"),
        ("username", username),
        ("password", "x"),
    ];
    let a = post_token(url, Some((&id, &secret)), &p).await;
    a.assert_error(503, "temporarily_unavailable");
    assert!(a.header("retry-after").is_some());
    // Never a hang, without a stopwatch: `slow` answers (200, a good password) only after
    // 30 s, so the 503 itself shows the function's 5 s auth timeout (scripts/test.sh) ended
    // the wait; and the test client gives up after 60 s (`tollgate_tests::http`).
}

#[tokio::test]
async fn auth_endpoint_slow_past_its_timeout_is_503() {
    expect_unavailable(&Served::from_env().token_url(), "slow").await;
}

#[tokio::test]
async fn auth_endpoint_500_is_503() {
    expect_unavailable(&Served::from_env().token_url(), "broken").await;
}

#[tokio::test]
async fn auth_endpoint_answering_not_json_is_503() {
    expect_unavailable(&Served::from_env().token_url(), "garbage").await;
}

#[tokio::test]
async fn auth_endpoint_hanging_up_is_503() {
    expect_unavailable(&Served::from_env().token_url(), "hangup").await;
}

#[tokio::test]
async fn auth_endpoint_down_is_503() {
    let served = Served::from_env();
    expect_unavailable(&format!("{}/token", served.base_auth_down), "demo").await;
}

#[tokio::test]
async fn get_on_the_token_endpoint_is_405() {
    let served = Served::from_env();
    for t in Transport::ALL {
        let a = t.get(&served, "/token").await;
        assert_eq!(a.status, 405, "{t:?}: {a:?}");
        assert_eq!(a.header("allow"), Some("POST"));
        a.assert_no_store();
    }
}

#[tokio::test]
async fn malformed_bodies_never_crash_the_function() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    for body in [
        "%",
        "%zz=1",
        "=x",
        "grant_type=%ff",
        "&&&",
        "a=b=c&grant_type=password",
    ] {
        let a = send(
            http()
                .post(served.token_url())
                .header("authorization", basic_header(&id, &secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned()),
        )
        .await;
        assert!(a.status == 400 || a.status == 401, "{body:?}: {a:?}");
        a.assert_no_store();
    }
    // And the function still answers afterwards.
    let a = post_token(&served.token_url(), Some((&id, &secret)), &DEMO).await;
    assert_eq!(a.status, 200);
}

/// A client_id no client can have (too long, or characters outside the allowed set) is refused
/// as `invalid_client` before any lookup: never a 503 from DynamoDB refusing the key.
#[tokio::test]
async fn oversized_or_malformed_client_id_is_invalid_client() {
    let served = Served::from_env();
    let long = "x".repeat(3000);
    for id in [long.as_str(), "has space", "tab\there", "ｆｕｌｌ", "a/b"] {
        let mut p = DEMO.to_vec();
        p.extend([("client_id", id), ("client_secret", "some-secret")]);
        post_token(&served.token_url(), None, &p)
            .await
            .assert_error(401, "invalid_client");
        let a = post_token(&served.token_url(), Some((id, "some-secret")), &DEMO).await;
        a.assert_error(401, "invalid_client");
        assert!(a.header("www-authenticate").is_some(), "{a:?}");
    }
}

/// Line separators and text-direction controls in a username could become `sub` and make it
/// read as another name; right-to-left letters are letters and sign in (tests/fixtures/users.json
/// has an Arabic and a Hebrew user).
#[tokio::test]
async fn usernames_with_direction_controls_are_invalid_request_and_right_to_left_names_sign_in() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    let basic = Some((id.as_str(), secret.as_str()));
    let login = |username: &'static str, password: &'static str| {
        let url = served.token_url();
        async move {
            let p = [
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ];
            post_token(&url, basic, &p).await
        }
    };
    for username in [
        "de\u{2028}mo",
        "de\u{2029}mo",
        "\u{202e}omed",
        "demo\u{2067}x\u{2069}",
        "\u{200e}demo",
        "مريم\u{200f}",
    ] {
        let a = login(username, "demo-password").await;
        a.assert_error(400, "invalid_request");
        assert_eq!(
            a.json["error_description"],
            "username contains a line separator or a text-direction control",
            "{username:?}"
        );
    }
    for (username, password, sub) in [
        ("مريم", "maryam-password", "user-0009"),
        ("שרה", "sara-password", "user-0010"),
    ] {
        let a = login(username, password).await;
        assert_eq!(a.status, 200, "{username}: {a:?}");
        let access = a.json["access_token"].as_str().unwrap();
        assert_eq!(tollgate_tests::jwt_claims(access)["sub"], sub, "{username}");
    }
}

/// Control characters in a username would reach the auth endpoint and could become `sub`.
#[tokio::test]
async fn username_with_control_characters_is_invalid_request() {
    let (served, id, secret) = client(ClientSpec::default()).await;
    for username in ["de\nmo", "demo\u{0}", "\u{1b}[2Jdemo"] {
        let p = [
            ("grant_type", "password"),
            ("username", username),
            ("password", "demo-password"),
        ];
        post_token(&served.token_url(), Some((&id, &secret)), &p)
            .await
            .assert_error(400, "invalid_request");
    }
}
