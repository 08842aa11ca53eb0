//! The authorizer that `scripts/test.sh` serves under `cargo lambda watch`, over the Lambda
//! Invoke API (ROUTE_SCOPES `GET /orders/*=orders:read; POST /orders=orders:write;
//! ANY /admin/*=admin`, defaults otherwise). Issue 8: path spellings that a backend resolves to
//! another route are never allowed without that route's scope, in REST TOKEN, REST REQUEST and
//! HTTP API events, and an event carrying more than one credential is Unauthorized. Bad tokens
//! are Unauthorized and leave the function serving; a cached token stops passing once expired.

use serde_json::{Value, json};
use tollgate_tests::authorizer::{
    PREFIX, allowed, demo_access_token, http_api_to, rest_request_to, rest_token,
};
use tollgate_tests::{Served, iam_allows};

/// The issue's variants (and two more a Java or Tomcat backend resolves), each needing a scope
/// a token with only `orders:read` lacks: `admin`, or `orders:write` for `POST /orders/`.
const VARIANTS: [(&str, &str); 8] = [
    ("GET", "/orders/../admin/users"),
    ("GET", "/orders/%2e%2e/admin/x"),
    ("GET", "//admin/users"),
    ("GET", "/ADMIN/users"),
    ("POST", "/orders/"),
    ("GET", "/orders/..;/admin/users"),
    ("GET", "/adm\u{131}n/users"),
    ("GET", "/orders/1%2f..%2f..%2fadmin"),
];

async fn invoke(served: &Served, event: &Value) -> Value {
    let (status, answer) = served
        .invoke("authorizer", &serde_json::to_vec(event).unwrap())
        .await;
    // An answer is 200; an error (`Unauthorized`) is the Invoke API's 500 with errorMessage.
    assert!(
        status == 200 || (status == 500 && answer["errorMessage"] == "Unauthorized"),
        "{status}: {answer}"
    );
    answer
}

#[tokio::test]
async fn served_authorizer_never_allows_a_path_variant_without_its_scope() {
    let served = Served::from_env();
    let bearer = format!(
        "Bearer {}",
        demo_access_token(&served, "orders:read").await.0
    );
    // The control: the canonical route the token may call is allowed in every shape.
    let ok = format!("{PREFIX}GET/orders/1");
    for event in [
        rest_token(&bearer, &ok),
        rest_request_to(&bearer, "GET", "/orders/1"),
        http_api_to(&bearer, "GET", "/orders/1"),
    ] {
        assert!(allowed(&invoke(&served, &event).await, &ok), "{event}");
    }
    // A policy cached from that call, applied by API Gateway to each variant.
    let cached = invoke(&served, &rest_token(&bearer, &ok)).await;
    for (method, path) in VARIANTS {
        let arn = format!("{PREFIX}{method}{path}");
        assert!(
            !iam_allows(&cached["policyDocument"], &arn),
            "cached: {arn}"
        );
        for (shape, event) in [
            ("REST TOKEN", rest_token(&bearer, &arn)),
            ("REST REQUEST", rest_request_to(&bearer, method, path)),
            ("HTTP API", http_api_to(&bearer, method, path)),
        ] {
            let answer = invoke(&served, &event).await;
            assert!(!allowed(&answer, &arn), "{shape} {method} {path}: {answer}");
        }
    }
}

#[tokio::test]
async fn served_authorizer_refuses_events_with_more_than_one_credential() {
    let served = Served::from_env();
    let good = format!(
        "Bearer {}",
        demo_access_token(&served, "orders:read").await.0
    );
    let other = format!(
        "Bearer {}",
        demo_access_token(&served, "orders:read").await.0
    );
    let mut both_cases = rest_request_to(&good, "GET", "/orders/1");
    both_cases["headers"]["authorization"] = good.clone().into();
    let mut multi = rest_request_to(&good, "GET", "/orders/1");
    multi["multiValueHeaders"]["Authorization"] = json!([good, other]);
    let mut header_differs = rest_request_to(&good, "GET", "/orders/1");
    header_differs["multiValueHeaders"]["Authorization"] = json!([other]);
    let mut sources = http_api_to(&good, "GET", "/orders/1");
    sources["identitySource"] = json!([good, other]);
    let mut v2_cases = http_api_to(&good, "GET", "/orders/1");
    v2_cases["headers"]["Authorization"] = other.clone().into();
    for (what, event) in [
        ("authorization and Authorization", both_cases),
        ("two multi-value entries", multi),
        ("headers and multiValueHeaders disagree", header_differs),
        ("two identity sources", sources),
        ("v2 header in both cases", v2_cases),
    ] {
        let answer = invoke(&served, &event).await;
        assert_eq!(answer["errorMessage"], "Unauthorized", "{what}: {answer}");
    }
}

#[tokio::test]
async fn served_authorizer_answers_unauthorized_for_bad_tokens() {
    let served = Served::from_env();
    let (access, _) = demo_access_token(&served, "profile").await;
    let tampered = format!("{access}x");
    for credential in [tampered.as_str(), "", "Bearer nope", access.as_str()] {
        let event = tollgate_tests::authorizer::sam_rest_token(credential);
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
    let event = tollgate_tests::authorizer::sam_rest_token(&format!("Bearer {access}"));
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
    let event = tollgate_tests::authorizer::sam_rest_token(&format!("Bearer {token}"));
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
