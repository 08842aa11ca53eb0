//! `grant_type=client_credentials` (RFC 6749 §4.4) over HTTP, served by `cargo lambda watch` on
//! DynamoDB Local: a machine client gets an access token for itself and no refresh token, and
//! the authorizer (through the Lambda Invoke API) and the demo backend accept it.

use serde_json::json;
use tollgate_tests::{ClientSpec, Served, dynamo, iam_allows, post_token};

async fn client(spec: ClientSpec) -> (Served, String, String) {
    let served = Served::from_env();
    let (id, secret) = spec.create(&dynamo().await, &served.clients_table).await;
    (served, id, secret)
}

const CC: (&str, &str) = ("grant_type", "client_credentials");

#[tokio::test]
async fn a_machine_client_gets_a_token_for_itself_and_no_refresh_token() {
    let (served, id, secret) = client(ClientSpec::machine()).await;
    let a = post_token(&served.token_url(), Some((&id, &secret)), &[CC]).await;
    assert_eq!(a.status, 200, "{a:?}");
    a.assert_no_store();
    assert_eq!(a.json["token_type"], "Bearer");
    assert_eq!(a.json["expires_in"], 900);
    assert_eq!(a.json["scope"], "orders:read");
    assert!(
        a.json.get("refresh_token").is_none(),
        "RFC 6749 §4.4.3: no refresh token: {a:?}"
    );
    let claims = served
        .verify(a.json["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["scope"], "orders:read");
    let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "aud",
            "auth_time",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "scope",
            "sub"
        ],
        "no user claims"
    );
}

#[tokio::test]
async fn client_credentials_in_the_body_work_too_and_scopes_follow_the_rules() {
    let (served, id, secret) = client(ClientSpec::machine()).await;
    let body = |scope: &'static str| {
        [
            CC,
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", scope),
        ]
    };
    let a = post_token(&served.token_url(), None, &body("orders:write orders:read")).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json["scope"], "orders:read orders:write");
    assert!(a.json.get("refresh_token").is_none(), "{a:?}");
    let a = post_token(&served.token_url(), None, &body("admin")).await;
    a.assert_error(400, "invalid_scope");
    a.assert_no_store();
}

#[tokio::test]
async fn only_a_client_allowed_the_grant_may_use_it() {
    // A user client may not act as itself, and a machine client may not sign users in.
    let (served, user_id, user_secret) = client(ClientSpec::default()).await;
    let a = post_token(&served.token_url(), Some((&user_id, &user_secret)), &[CC]).await;
    a.assert_error(400, "unauthorized_client");
    let (_, id, secret) = client(ClientSpec::machine()).await;
    let password = [
        ("grant_type", "password"),
        ("username", "demo"),
        ("password", "demo-password"),
    ];
    let a = post_token(&served.token_url(), Some((&id, &secret)), &password).await;
    a.assert_error(400, "unauthorized_client");
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    let a = post_token(&served.token_url(), Some((&id, &secret)), &refresh).await;
    a.assert_error(400, "unauthorized_client");
    let a = post_token(&served.token_url(), Some((&id, "wrong-secret")), &[CC]).await;
    a.assert_error(401, "invalid_client");
    let a = post_token(&served.token_url(), None, &[CC, ("client_id", id.as_str())]).await;
    a.assert_error(401, "invalid_client");
}

#[tokio::test]
async fn the_authorizer_accepts_a_machine_token_and_the_backend_sees_the_client() {
    let (served, id, secret) = client(ClientSpec::machine()).await;
    let a = post_token(&served.token_url(), Some((&id, &secret)), &[CC]).await;
    assert_eq!(a.status, 200, "{a:?}");
    let access = a.json["access_token"].as_str().unwrap();
    let arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42";
    let mut event = tollgate_tests::authorizer::sam_rest_token(&format!("Bearer {access}"));
    event["methodArn"] = arn.into();
    let (status, answer) = served
        .invoke("authorizer", &serde_json::to_vec(&event).unwrap())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["principalId"], id.as_str());
    assert!(iam_allows(&answer["policyDocument"], arn), "{answer}");
    assert!(
        !iam_allows(
            &answer["policyDocument"],
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/orders"
        ),
        "orders:write was not granted: {answer}"
    );

    let me = tollgate_tests::authorizer::whoami_behind(&served, &answer).await;
    assert_eq!(me["sub"], id.as_str());
    assert_eq!(me["client_id"], id.as_str());
    assert_eq!(me["scopes"], json!(["orders:read"]));
    assert_eq!(me["details"], json!({}), "no user details: {me}");
}
