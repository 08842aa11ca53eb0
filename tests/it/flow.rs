//! The whole flow under `cargo lambda watch`: a token from the token function, the authorizer
//! (through the Lambda Invoke API) deciding on it, and the demo backend reporting the same user
//! from the context the authorizer produced.

use serde_json::{Value, json};
use tollgate_tests::{ClientSpec, Served, dynamo, event_fixture, iam_allows, post_token};

async fn token(served: &Served, scope: &str) -> (String, String) {
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let a = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "demo"),
            ("password", "demo-password"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    (a.json["access_token"].as_str().unwrap().to_owned(), id)
}

fn body_of(lambda_http_response: &Value) -> Value {
    assert_eq!(
        lambda_http_response["statusCode"], 200,
        "{lambda_http_response}"
    );
    serde_json::from_str(lambda_http_response["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn rest_api_token_authorizer_then_backend_see_the_same_user() {
    let served = Served::from_env();
    let (access, client_id) = token(&served, "orders:read profile").await;
    let arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42";
    let mut event = event_fixture("sam-rest-token.json");
    event["authorizationToken"] = format!("Bearer {access}").into();
    event["methodArn"] = arn.into();
    let (status, answer) = served
        .invoke("authorizer", &serde_json::to_vec(&event).unwrap())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["principalId"], "user-0001");
    assert!(iam_allows(&answer["policyDocument"], arn));
    assert!(!iam_allows(
        &answer["policyDocument"],
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/orders"
    ));

    // API Gateway passes the context, plus principalId, to the backend.
    let mut request = event_fixture("sam-rest-proxy.json");
    let mut ctx = answer["context"].clone();
    ctx["principalId"] = answer["principalId"].clone();
    request["requestContext"]["authorizer"] = ctx;
    let (status, resp) = served
        .invoke("whoami", &serde_json::to_vec(&request).unwrap())
        .await;
    assert_eq!(status, 200, "{resp}");
    let me = body_of(&resp);
    assert_eq!(me["sub"], "user-0001");
    assert_eq!(me["client_id"], client_id.as_str());
    assert_eq!(me["scopes"], json!(["orders:read", "profile"]));
    assert_eq!(me["details"]["email"], "demo@example.com");
    assert_eq!(me["details"]["groups"], "[\"staff\",\"beta\"]");
}

#[tokio::test]
async fn http_api_authorizer_then_backend_see_the_same_user() {
    let served = Served::from_env();
    let (access, client_id) = token(&served, "profile").await;
    let mut event = event_fixture("http-api-v2.json");
    event["identitySource"] = json!([format!("Bearer {access}")]);
    let (status, answer) = served
        .invoke("authorizer", &serde_json::to_vec(&event).unwrap())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["isAuthorized"], true, "{answer}");

    let mut request = event_fixture("sam-http-api-proxy.json");
    request["requestContext"]["authorizer"] = json!({ "lambda": answer["context"] });
    let (_, resp) = served
        .invoke("whoami", &serde_json::to_vec(&request).unwrap())
        .await;
    let me = body_of(&resp);
    assert_eq!(me["sub"], "user-0001");
    assert_eq!(me["client_id"], client_id.as_str());
}

#[tokio::test]
async fn served_authorizer_answers_unauthorized_for_bad_tokens() {
    let served = Served::from_env();
    let (access, _) = token(&served, "profile").await;
    let tampered = format!("{access}x");
    for credential in [tampered.as_str(), "", "Bearer nope", access.as_str()] {
        let mut event = event_fixture("sam-rest-token.json");
        event["authorizationToken"] = credential.into();
        let (_, answer) = served
            .invoke("authorizer", &serde_json::to_vec(&event).unwrap())
            .await;
        assert_eq!(
            answer["errorMessage"], "Unauthorized",
            "{credential:?}: {answer}"
        );
    }
    // Bytes that are not UTF-8 never get an Allow (the runtime refuses to deserialize them).
    let raw = b"{\"type\":\"TOKEN\",\"authorizationToken\":\"Bearer \xff\xfe\",\"methodArn\":\"arn:aws:execute-api:us-east-1:1:a/s/GET/x\"}";
    let (_, answer) = served.invoke("authorizer", raw).await;
    assert!(
        answer.get("errorMessage").is_some() && answer.get("policyDocument").is_none(),
        "{answer}"
    );
    // And the function is still serving afterwards.
    let mut event = event_fixture("sam-rest-token.json");
    event["authorizationToken"] = format!("Bearer {access}").into();
    let (_, answer) = served
        .invoke("authorizer", &serde_json::to_vec(&event).unwrap())
        .await;
    assert_eq!(answer["principalId"], "user-0001", "{answer}");
}

/// A token the served authorizer verified and cached while it was valid is `Unauthorized` once
/// it has expired: the cache answers for a token only until its `exp`, and the full check that
/// follows allows the 30 s of `LEEWAY_SECONDS` (the served default) and no more. The token is
/// signed with the served signing key (`TOLLGATE_E2E_SIGNING_KEY`) for 10 s; the test waits
/// past `exp` and the leeway, about 45 s.
#[tokio::test]
async fn an_expired_token_the_authorizer_has_cached_is_unauthorized() {
    use std::sync::Arc;
    use std::time::Duration;
    use tollgate_oauth::access_token::{AccessTokenClaims, AccessTokenIssuer};
    use tollgate_oauth::keys::{SigningAlg, SigningKey};
    const TTL: u64 = 10;
    const LEEWAY: u64 = 30;
    let served = Served::from_env();
    let path = std::env::var("TOLLGATE_E2E_SIGNING_KEY")
        .expect("TOLLGATE_E2E_SIGNING_KEY: the served signing key (set by `make test`)");
    let pem = std::fs::read_to_string(&path).unwrap();
    let key = Arc::new(SigningKey::from_pem(&pem, SigningAlg::Es256, None).unwrap());
    let scope = tollgate_oauth::scope::Scopes::parse("profile").unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let token = AccessTokenIssuer::new(served.issuer.clone(), served.audience.clone(), key)
        .issue(&AccessTokenClaims {
            sub: "cache-expiry",
            client_id: "app-1",
            sid: None,
            scope: &scope,
            details: &serde_json::Map::new(),
            auth_time: now,
            now,
            ttl: TTL,
        })
        .unwrap()
        .token;
    let mut event = event_fixture("sam-rest-token.json");
    event["authorizationToken"] = format!("Bearer {token}").into();
    let event = serde_json::to_vec(&event).unwrap();
    // Verified and cached while valid: several times, one after another and at once, so that
    // every instance the watch server runs has seen it.
    for _ in 0..4 {
        let (_, answer) = served.invoke("authorizer", &event).await;
        assert_eq!(answer["principalId"], "cache-expiry", "{answer}");
    }
    let once = || served.invoke("authorizer", &event);
    let (a, b, c, d) = tokio::join!(once(), once(), once(), once());
    for (_, answer) in [a, b, c, d] {
        assert_eq!(answer["principalId"], "cache-expiry", "{answer}");
    }
    let past = now + TTL + LEEWAY + 2;
    let wait = past.saturating_sub(jsonwebtoken::get_current_timestamp());
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (_, answer) = served.invoke("authorizer", &event).await;
    assert_eq!(answer["errorMessage"], "Unauthorized", "{answer}");
}
