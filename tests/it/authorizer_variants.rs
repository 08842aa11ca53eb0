//! Issue 8 over the Lambda Invoke API of the authorizer that `scripts/test.sh` serves under
//! `cargo lambda watch` (ROUTE_SCOPES `GET /orders/*=orders:read; POST /orders=orders:write;
//! ANY /admin/*=admin`, defaults otherwise): path spellings that a backend resolves to another
//! route are never allowed without that route's scope, in REST TOKEN, REST REQUEST and HTTP API
//! events, and an event carrying more than one credential is Unauthorized.

use serde_json::{Value, json};
use tollgate_tests::{ClientSpec, Served, dynamo, event_fixture, iam_allows, post_token};

const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/";

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

async fn access_token(served: &Served, scope: &str) -> String {
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
    a.json["access_token"].as_str().unwrap().to_owned()
}

fn rest_token(credential: &str, arn: &str) -> Value {
    let mut e = event_fixture("sam-rest-token.json");
    e["authorizationToken"] = credential.into();
    e["methodArn"] = arn.into();
    e
}

fn rest_request(credential: &str, method: &str, path: &str) -> Value {
    let mut e = event_fixture("rest-request.json");
    e["headers"]["Authorization"] = credential.into();
    e["multiValueHeaders"]["Authorization"] = json!([credential]);
    e["methodArn"] = format!("{PREFIX}{method}{path}").into();
    e["path"] = path.into();
    e["httpMethod"] = method.into();
    e
}

fn http_api(credential: &str, method: &str, path: &str) -> Value {
    let mut e = event_fixture("http-api-v2.json");
    e["identitySource"] = json!([credential]);
    e["headers"]["authorization"] = credential.into();
    e["routeArn"] = format!("{PREFIX}{method}{path}").into();
    e["rawPath"] = path.into();
    e["requestContext"]["http"]["method"] = method.into();
    e["requestContext"]["http"]["path"] = path.into();
    e
}

/// Whether an answer lets the request through: an IAM policy allowing `arn`, or a simple `true`.
fn allowed(answer: &Value, arn: &str) -> bool {
    if answer.get("errorMessage").is_some() {
        return false;
    }
    match answer.get("isAuthorized") {
        Some(v) => v == true,
        None => iam_allows(&answer["policyDocument"], arn),
    }
}

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
    let bearer = format!("Bearer {}", access_token(&served, "orders:read").await);
    // The control: the canonical route the token may call is allowed in every shape.
    let ok = format!("{PREFIX}GET/orders/1");
    for event in [
        rest_token(&bearer, &ok),
        rest_request(&bearer, "GET", "/orders/1"),
        http_api(&bearer, "GET", "/orders/1"),
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
            ("REST REQUEST", rest_request(&bearer, method, path)),
            ("HTTP API", http_api(&bearer, method, path)),
        ] {
            let answer = invoke(&served, &event).await;
            assert!(!allowed(&answer, &arn), "{shape} {method} {path}: {answer}");
        }
    }
}

#[tokio::test]
async fn served_authorizer_refuses_events_with_more_than_one_credential() {
    let served = Served::from_env();
    let good = format!("Bearer {}", access_token(&served, "orders:read").await);
    let other = format!("Bearer {}", access_token(&served, "orders:read").await);
    let mut both_cases = rest_request(&good, "GET", "/orders/1");
    both_cases["headers"]["authorization"] = good.clone().into();
    let mut multi = rest_request(&good, "GET", "/orders/1");
    multi["multiValueHeaders"]["Authorization"] = json!([good, other]);
    let mut header_differs = rest_request(&good, "GET", "/orders/1");
    header_differs["multiValueHeaders"]["Authorization"] = json!([other]);
    let mut sources = http_api(&good, "GET", "/orders/1");
    sources["identitySource"] = json!([good, other]);
    let mut v2_cases = http_api(&good, "GET", "/orders/1");
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

// --- cold start and allow-list, on the authorizer's own configuration ------------------------

fn config(vars: &[(&str, String)]) -> anyhow::Result<tollgate_authorizer::config::State> {
    tollgate_authorizer::config::State::from_lookup(|k| {
        vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    })
}

fn signing_key() -> tollgate_oauth::keys::SigningKey {
    use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};
    SigningKey::from_pem(
        &generate_pem(SigningAlg::Es256).unwrap(),
        SigningAlg::Es256,
        Some("k1".into()),
    )
    .unwrap()
}

#[test]
fn authorizer_refuses_to_start_on_a_symmetric_or_encryption_key_naming_it() {
    let public = serde_json::to_value(signing_key().public_jwk()).unwrap();
    let mut enc = public.clone();
    enc["kid"] = "enc-key".into();
    enc["use"] = "enc".into();
    for bad in [
        json!({"kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldA", "alg": "HS256"}),
        enc,
    ] {
        let jwks = json!({ "keys": [public.clone(), bad.clone()] }).to_string();
        let msg = config(&[
            ("ISSUER", "https://i".into()),
            ("AUDIENCE", "a".into()),
            ("JWKS", jwks),
        ])
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
        assert!(msg.contains(&format!("key {}", bad["kid"])), "{msg}");
        assert!(
            !msg.contains("c2VjcmV0"),
            "the secret never reaches the log"
        );
    }
}

#[test]
fn allowed_apis_deny_every_other_api_and_stage() {
    use tollgate_authorizer::handler::{Unauthorized, decide};
    use tollgate_oauth::access_token::{AccessTokenClaims, AccessTokenIssuer};
    let key = std::sync::Arc::new(signing_key());
    let jwks = json!({ "keys": [key.public_jwk()] }).to_string();
    let state = config(&[
        ("ISSUER", "https://i".into()),
        ("AUDIENCE", "a".into()),
        ("JWKS", jwks.clone()),
        ("ROUTE_SCOPES", "GET /orders/*=orders:read".into()),
        ("ALLOWED_APIS", "abc123/prod, other/*".into()),
    ])
    .unwrap();
    let scope = tollgate_oauth::scope::Scopes::parse("orders:read").unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let token = AccessTokenIssuer::new("https://i".into(), "a".into(), key)
        .issue(&AccessTokenClaims {
            sub: "u",
            client_id: "c",
            sid: None,
            scope: &scope,
            details: &serde_json::Map::new(),
            auth_time: now,
            now,
            ttl: 300,
        })
        .unwrap()
        .token;
    let bearer = format!("Bearer {token}");
    let arn = |api_stage: &str| {
        format!("arn:aws:execute-api:us-east-1:123456789012:{api_stage}/GET/orders/1")
    };
    for ok in ["abc123/prod", "other/dev", "other/prod"] {
        let out = decide(&state, rest_token(&bearer, &arn(ok))).unwrap();
        assert!(allowed(&out, &arn(ok)), "{ok}");
    }
    for refused in ["abc123/staging", "evil/prod", "abc1234/prod"] {
        assert_eq!(
            decide(&state, rest_token(&bearer, &arn(refused))),
            Err(Unauthorized),
            "{refused}"
        );
    }
    assert!(
        config(&[
            ("ISSUER", "https://i".into()),
            ("AUDIENCE", "a".into()),
            ("JWKS", jwks),
            ("ALLOWED_APIS", "no-stage".into()),
        ])
        .is_err()
    );
}

/// `MAX_TOKEN_LIFETIME_SECONDS`: a day by default (the longest access-token lifetime Tollgate
/// issues); an operator may set it for the tokens its `JWKS` lets in; 0 or a word stop the
/// cold start, naming it.
#[test]
fn max_token_lifetime_seconds_bounds_the_tokens_the_authorizer_accepts() {
    use tollgate_authorizer::handler::{Unauthorized, decide};
    use tollgate_oauth::access_token::{AccessTokenClaims, AccessTokenIssuer};
    let key = std::sync::Arc::new(signing_key());
    let jwks = json!({ "keys": [key.public_jwk()] }).to_string();
    let vars = |max: Option<&str>| {
        let mut v = vec![
            ("ISSUER", "https://i".to_owned()),
            ("AUDIENCE", "a".to_owned()),
            ("JWKS", jwks.clone()),
            ("ROUTE_SCOPES", "GET /orders/*=orders:read".to_owned()),
        ];
        if let Some(m) = max {
            v.push(("MAX_TOKEN_LIFETIME_SECONDS", m.to_owned()));
        }
        v
    };
    let scope = tollgate_oauth::scope::Scopes::parse("orders:read").unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let lasting = |ttl: u64| {
        let token = AccessTokenIssuer::new("https://i".into(), "a".into(), key.clone())
            .issue(&AccessTokenClaims {
                sub: "u",
                client_id: "c",
                sid: None,
                scope: &scope,
                details: &serde_json::Map::new(),
                auth_time: now,
                now,
                ttl,
            })
            .unwrap()
            .token;
        format!("Bearer {token}")
    };
    let arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/1";
    let admits = |state: &tollgate_authorizer::config::State, ttl: u64| match decide(
        state,
        rest_token(&lasting(ttl), arn),
    ) {
        Ok(out) => allowed(&out, arn),
        Err(Unauthorized) => false,
    };
    let default = config(&vars(None)).unwrap();
    assert!(
        admits(&default, 86_400),
        "a day, the longest Tollgate issues"
    );
    assert!(!admits(&default, 86_401));
    let hour = config(&vars(Some("3600"))).unwrap();
    assert!(admits(&hour, 3_600));
    assert!(!admits(&hour, 3_601));
    let week = config(&vars(Some("604800"))).unwrap();
    assert!(
        admits(&week, 604_800),
        "raised for a signer of longer tokens"
    );
    for bad in ["0", "a day", "-1"] {
        let msg = config(&vars(Some(bad)))
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(msg.contains("MAX_TOKEN_LIFETIME_SECONDS"), "{bad}: {msg}");
    }
}
