//! The authorizer against recorded API Gateway events (the fixtures `aws_lambda_events` ships and
//! the events `sam local generate-event apigateway ...` produces), with the attack suite.

use std::sync::Arc;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerSimpleResponse,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};
use tollgate_authorizer::config::State;
use tollgate_authorizer::handler::{Unauthorized, decide};
use tollgate_oauth::access_token::{AccessTokenClaims, AccessTokenIssuer};
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem, low_s};
use tollgate_oauth::scope::Scopes;
use tollgate_tests::authorizer::{http_api, rest_request, rest_token};
use tollgate_tests::{event_fixture, iam_allows};

const ISSUER: &str = "https://auth.example.com/v1";
const AUDIENCE: &str = "orders-api";
const ROUTES: &str = "GET /orders/*=orders:read; POST /orders=orders:write; ANY /admin/*=admin; GET /request=profile";

struct Keys {
    current: Arc<SigningKey>,
    /// Published, as after a rotation: tokens it signed still verify.
    previous: Arc<SigningKey>,
    /// Never published.
    stranger: Arc<SigningKey>,
    jwks: String,
}

fn key(alg: SigningAlg, kid: &str) -> Arc<SigningKey> {
    Arc::new(SigningKey::from_pem(&generate_pem(alg).unwrap(), alg, Some(kid.into())).unwrap())
}

/// Generated once: RSA key generation is slow in a debug build.
fn keys() -> &'static Keys {
    static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(new_keys)
}

fn new_keys() -> Keys {
    let current = key(SigningAlg::Es256, "current");
    let previous = key(SigningAlg::Rs256, "previous");
    let stranger = key(SigningAlg::Es256, "stranger");
    let jwks = serde_json::to_string(&JwkSet {
        keys: vec![current.public_jwk().clone(), previous.public_jwk().clone()],
    })
    .unwrap();
    Keys {
        current,
        previous,
        stranger,
        jwks,
    }
}

fn state(keys: &Keys, extra: &[(&str, &str)]) -> State {
    // These tests were written for unlisted routes open and simple HTTP API answers; the
    // defaults are now deny and IAM (tests below cover them).
    let mut vars = vec![
        ("ISSUER", ISSUER),
        ("AUDIENCE", AUDIENCE),
        ("JWKS", keys.jwks.as_str()),
        ("ROUTE_SCOPES", ROUTES),
        ("UNLISTED_ROUTES", "allow"),
        ("HTTP_API_RESPONSE", "simple"),
    ];
    vars.extend_from_slice(extra);
    State::from_lookup(|k| {
        vars.iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn issue(key: &Arc<SigningKey>, scope: &str) -> String {
    let issuer = AccessTokenIssuer::new(ISSUER.into(), AUDIENCE.into(), key.clone());
    let details: Map<String, Value> = serde_json::from_value(
        json!({"email": "demo@example.com", "groups": ["staff", "beta"], "level": 3}),
    )
    .unwrap();
    let scope = Scopes::parse(scope).unwrap();
    let t = now();
    issuer
        .issue(&AccessTokenClaims {
            sub: "user-0001",
            client_id: "app-1",
            sid: None,
            scope: &scope,
            details: &details,
            auth_time: t,
            now: t,
            ttl: 900,
        })
        .unwrap()
        .token
}

/// A token with hand-set claims and header, signed by `key` (in low-S form, as Tollgate signs).
fn forge(key: &SigningKey, header: Header, claims: Value) -> String {
    low_s::encode(&header, &claims, key.encoding_key()).unwrap()
}

fn claims(overrides: Value) -> Value {
    let t = now();
    let mut c = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-0001", "client_id": "app-1",
        "scope": "orders:read orders:write admin profile", "iat": t, "exp": t + 900, "jti": "j1"
    });
    for (k, v) in overrides.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn header(key: &SigningKey) -> Header {
    let mut h = Header::new(key.alg.algorithm());
    h.typ = Some("at+jwt".into());
    h.kid = Some(key.kid.clone());
    h
}

const ORDERS_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42";

fn expected_context() -> Value {
    json!({
        "sub": "user-0001", "client_id": "app-1", "scope": "orders:read profile",
        "email": "demo@example.com", "groups": "[\"staff\",\"beta\"]", "level": 3
    })
}

#[test]
fn rest_token_event_is_allowed_with_a_policy_for_the_whole_stage() {
    let k = keys();
    let s = state(k, &[]);
    let token = issue(&k.current, "orders:read profile");
    let out = decide(&s, rest_token(&format!("Bearer {token}"), ORDERS_ARN)).unwrap();
    let typed: ApiGatewayCustomAuthorizerResponse<Value> =
        serde_json::from_value(out.clone()).unwrap();
    assert_eq!(typed.principal_id.as_deref(), Some("user-0001"));
    assert_eq!(out["context"], expected_context());
    let policy = &out["policyDocument"];
    assert_eq!(policy["Version"], "2012-10-17");
    assert_eq!(
        policy["Statement"].as_array().unwrap()[..2],
        json!([
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ["arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"]},
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/orders",
                // ANY /admin/* as every method: `prod/*/admin/*` would also cover GET/x/admin/y.
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/admin/*",
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/admin/*",
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/PUT/admin/*",
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/PATCH/admin/*",
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/DELETE/admin/*",
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/HEAD/admin/*",
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/OPTIONS/admin/*"
            ]}
        ])
        .as_array()
        .unwrap()[..]
    );
    // The third statement denies the path spellings the rules refuse.
    let refused = &policy["Statement"][2];
    assert_eq!(refused["Effect"], "Deny");
    assert!(refused["Resource"].as_array().unwrap().contains(&json!(
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/../*"
    )));
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 3);
    assert!(iam_allows(policy, ORDERS_ARN));
}

#[test]
fn sam_generated_token_event_is_understood() {
    let k = keys();
    let e = tollgate_tests::authorizer::sam_rest_token(&format!(
        "Bearer {}",
        issue(&k.current, "orders:read")
    ));
    let out = decide(&state(k, &[]), e).unwrap();
    assert!(iam_allows(
        &out["policyDocument"],
        "arn:aws:execute-api:us-east-1:123456789012:example/prod/GET/orders/1"
    ));
    assert!(!iam_allows(
        &out["policyDocument"],
        "arn:aws:execute-api:us-east-1:123456789012:example/prod/POST/orders"
    ));
}

#[test]
fn rest_request_events_are_allowed_and_carry_the_context() {
    let k = keys();
    let token = issue(&k.current, "orders:read profile");
    for fixture in ["rest-request.json", "sam-rest-request.json"] {
        let mut e = event_fixture(fixture);
        e["headers"]["Authorization"] = format!("Bearer {token}").into();
        let arn = e["methodArn"].as_str().unwrap().to_owned();
        assert!(arn.ends_with("/test/GET/request"));
        let out = decide(&state(k, &[]), e).unwrap();
        assert_eq!(out["principalId"], "user-0001", "{fixture}");
        assert_eq!(out["context"], expected_context(), "{fixture}");
        assert!(iam_allows(&out["policyDocument"], &arn), "{fixture}: {out}");
    }
}

#[test]
fn http_api_simple_response_allows_with_context() {
    let k = keys();
    let out = decide(
        &state(k, &[]),
        http_api(&format!(
            "Bearer {}",
            issue(&k.current, "orders:read profile")
        )),
    )
    .unwrap();
    let typed: ApiGatewayV2CustomAuthorizerSimpleResponse<Value> =
        serde_json::from_value(out.clone()).unwrap();
    assert!(typed.is_authorized);
    assert_eq!(out["context"], expected_context());
}

#[test]
fn http_api_simple_response_refuses_a_route_without_its_scope() {
    let k = keys();
    // The fixture's route is GET /request, which needs `profile`.
    let out = decide(
        &state(k, &[]),
        http_api(&format!("Bearer {}", issue(&k.current, "orders:read"))),
    )
    .unwrap();
    assert_eq!(out["isAuthorized"], false);
}

#[test]
fn http_api_iam_response_is_a_policy() {
    let k = keys();
    let s = state(k, &[("HTTP_API_RESPONSE", "iam")]);
    let out = decide(
        &s,
        http_api(&format!("Bearer {}", issue(&k.current, "profile"))),
    )
    .unwrap();
    assert_eq!(out["principalId"], "user-0001");
    assert!(iam_allows(
        &out["policyDocument"],
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request"
    ));
    assert!(!iam_allows(
        &out["policyDocument"],
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/POST/orders"
    ));
}

#[test]
fn valid_token_without_the_routes_scope_gets_a_deny_policy() {
    let k = keys();
    let arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/orders";
    let out = decide(
        &state(k, &[]),
        rest_token(&format!("Bearer {}", issue(&k.current, "orders:read")), arn),
    )
    .unwrap();
    assert!(
        !iam_allows(&out["policyDocument"], arn),
        "API Gateway must answer 403"
    );
    let deny = out["policyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Effect"] == "Deny")
        .cloned();
    assert!(deny.is_some_and(|d| d["Resource"].as_array().unwrap().iter().any(|r| r == arn)));
}

#[test]
fn cached_policy_gives_every_route_the_same_answer_as_a_fresh_decision() {
    let k = keys();
    let s = state(k, &[]);
    let prefix = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod";
    let routes = [
        "GET/orders/1",
        "GET/orders/1/items",
        "POST/orders",
        "DELETE/admin/users/3",
        "GET/admin/x",
        "GET/health",
        "PUT/orders/9",
    ];
    for scope in [
        "orders:read",
        "orders:write",
        "admin",
        "orders:read orders:write admin",
        "profile",
    ] {
        let token = format!("Bearer {}", issue(&k.current, scope));
        for first in routes {
            let cached = decide(&s, rest_token(&token, &format!("{prefix}/{first}"))).unwrap();
            for second in routes {
                let arn = format!("{prefix}/{second}");
                let fresh = decide(&s, rest_token(&token, &arn)).unwrap();
                assert_eq!(
                    iam_allows(&cached["policyDocument"], &arn),
                    iam_allows(&fresh["policyDocument"], &arn),
                    "scope {scope:?}: policy cached from {first} disagrees about {second}"
                );
            }
        }
    }
    // And the answers are the expected ones.
    let reader = decide(
        &s,
        rest_token(
            &format!("Bearer {}", issue(&k.current, "orders:read")),
            &format!("{prefix}/GET/orders/1"),
        ),
    )
    .unwrap();
    let p = &reader["policyDocument"];
    assert!(iam_allows(p, &format!("{prefix}/GET/orders/1")));
    assert!(
        iam_allows(p, &format!("{prefix}/GET/health")),
        "unlisted routes need only a valid token"
    );
    assert!(!iam_allows(p, &format!("{prefix}/POST/orders")));
    assert!(!iam_allows(p, &format!("{prefix}/DELETE/admin/users/3")));
    assert!(
        !iam_allows(
            p,
            "arn:aws:execute-api:us-east-1:123456789012:abc123/staging/GET/orders/1"
        ),
        "another stage"
    );
    assert!(
        !iam_allows(
            p,
            "arn:aws:execute-api:us-east-1:123456789012:other/prod/GET/orders/1"
        ),
        "another API"
    );
}

/// Overlapping rules: `GET /orders/admin` matches two rules, `DELETE /admin/*` two as well.
const OVERLAPPING: &str = "GET /orders/*=orders:read; GET /orders/admin=admin; POST /orders=orders:write; ANY /admin/*=admin; DELETE /admin/*=orders:write";

/// The expected table for OVERLAPPING, written out by hand: each route and every scope it needs
/// (all matching rules must be satisfied), or None when no rule lists it.
const TABLE: [(&str, Option<&[&str]>); 11] = [
    ("GET/orders/1", Some(&["orders:read"])),
    ("GET/orders/1/items", Some(&["orders:read"])),
    ("GET/orders/admin", Some(&["orders:read", "admin"])),
    ("POST/orders", Some(&["orders:write"])),
    ("GET/orders", None),
    ("PUT/orders/9", None),
    ("GET/health", None),
    ("GET/admin/x", Some(&["admin"])),
    ("OPTIONS/admin/x", Some(&["admin"])),
    ("DELETE/admin/users/3", Some(&["admin", "orders:write"])),
    ("POST/admin", None),
];

fn expected(route: &str, scope: &str, unlisted_allow: bool) -> bool {
    let held: Vec<&str> = scope.split(' ').collect();
    match TABLE.iter().find(|(r, _)| *r == route).unwrap().1 {
        None => unlisted_allow,
        Some(needed) => needed.iter().all(|n| held.contains(n)),
    }
}

/// For both UNLISTED_ROUTES modes and a spread of scope sets, the policy the authorizer returns
/// for one route (which API Gateway caches and applies to every route of the stage), evaluated
/// with the test's own IAM matcher, answers every route as the hand-written table says, and as
/// the product's own per-route decision says.
#[test]
fn cached_policy_answers_every_route_as_the_expected_table_and_the_per_route_decision() {
    use tollgate_authorizer::policy::{RouteArn, allows};
    use tollgate_authorizer::route::{RouteRules, Unlisted};
    let k = keys();
    let prefix = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod";
    for (mode, unlisted_allow) in [("allow", true), ("deny", false)] {
        let s = state(
            k,
            &[("ROUTE_SCOPES", OVERLAPPING), ("UNLISTED_ROUTES", mode)],
        );
        let unlisted = if unlisted_allow {
            Unlisted::Allow
        } else {
            Unlisted::Deny
        };
        let rules = RouteRules::parse(OVERLAPPING, unlisted).unwrap();
        for scope in [
            "profile",
            "orders:read",
            "orders:write",
            "admin",
            "orders:read admin",
            "admin orders:write",
            "orders:read orders:write admin",
        ] {
            let token = format!("Bearer {}", issue(&k.current, scope));
            let scopes = Scopes::parse(scope).unwrap();
            for (first, _) in TABLE {
                let out = decide(&s, rest_token(&token, &format!("{prefix}/{first}"))).unwrap();
                let cached = &out["policyDocument"];
                for (second, _) in TABLE {
                    let arn = format!("{prefix}/{second}");
                    let want = expected(second, scope, unlisted_allow);
                    let per_route = allows(&rules, &scopes, &RouteArn::parse(&arn).unwrap());
                    assert_eq!(
                        per_route, want,
                        "{mode}, scope {scope:?}: the product decides {second} otherwise"
                    );
                    assert_eq!(
                        iam_allows(cached, &arn),
                        want,
                        "{mode}, scope {scope:?}: the policy cached from {first} is wrong about {second}: {cached}"
                    );
                }
                for other in [
                    "arn:aws:execute-api:us-east-1:123456789012:abc123/staging/GET/orders/1",
                    "arn:aws:execute-api:us-east-1:123456789012:other/prod/GET/orders/1",
                ] {
                    assert!(!iam_allows(cached, other), "another stage or API: {other}");
                }
            }
        }
    }
}

#[test]
fn deny_by_default_allows_only_listed_routes() {
    let k = keys();
    let s = state(k, &[("UNLISTED_ROUTES", "deny")]);
    let out = decide(
        &s,
        rest_token(
            &format!("Bearer {}", issue(&k.current, "orders:read")),
            ORDERS_ARN,
        ),
    )
    .unwrap();
    let p = &out["policyDocument"];
    assert!(iam_allows(p, ORDERS_ARN));
    assert!(!iam_allows(
        p,
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/health"
    ));
}

#[test]
fn token_signed_by_a_previous_published_key_still_verifies() {
    let k = keys();
    let out = decide(
        &state(k, &[]),
        rest_token(
            &format!("Bearer {}", issue(&k.previous, "orders:read")),
            ORDERS_ARN,
        ),
    );
    assert!(out.is_ok());
}

// --- 401 for every event shape -----------------------------------------------------------

#[test]
fn missing_credential_is_unauthorized_in_every_shape() {
    let k = keys();
    let s = state(k, &[]);
    let mut token = event_fixture("rest-token.json");
    token.as_object_mut().unwrap().remove("authorizationToken");
    assert_eq!(decide(&s, token), Err(Unauthorized));
    assert_eq!(
        decide(&s, event_fixture("rest-request.json")),
        Err(Unauthorized)
    );
    assert_eq!(
        decide(&s, event_fixture("sam-rest-request.json")),
        Err(Unauthorized)
    );
    let mut v2 = event_fixture("http-api-v2.json");
    v2.as_object_mut().unwrap().remove("identitySource");
    assert_eq!(decide(&s, v2), Err(Unauthorized));
}

#[test]
fn invalid_token_is_unauthorized_in_every_shape() {
    let k = keys();
    let s = state(k, &[]);
    let bad = format!("Bearer {}", issue(&k.stranger, "orders:read"));
    assert_eq!(decide(&s, rest_token(&bad, ORDERS_ARN)), Err(Unauthorized));
    assert_eq!(decide(&s, rest_request(&bad)), Err(Unauthorized));
    assert_eq!(decide(&s, http_api(&bad)), Err(Unauthorized));
    assert_eq!(
        Unauthorized.to_string(),
        "Unauthorized",
        "API Gateway matches this message exactly"
    );
}

#[test]
fn events_that_are_not_authorizer_events_are_unauthorized() {
    let k = keys();
    let s = state(k, &[]);
    for e in [
        json!({}),
        json!(null),
        json!("x"),
        event_fixture("rest-proxy.json"),
        json!({"type": "TOKEN", "methodArn": 7}),
    ] {
        assert_eq!(decide(&s, e.clone()), Err(Unauthorized), "{e}");
    }
    let good = format!("Bearer {}", issue(&k.current, "orders:read"));
    assert_eq!(
        decide(&s, rest_token(&good, "not-an-arn")),
        Err(Unauthorized)
    );
}

// --- the attack suite: none is ever allowed, none panics ------------------------------------

fn refused(credential: &str) {
    let k = keys();
    let s = state(k, &[]);
    for e in [
        rest_token(credential, ORDERS_ARN),
        rest_request(credential),
        http_api(credential),
    ] {
        assert_eq!(
            decide(&s, e),
            Err(Unauthorized),
            "{}",
            &credential[..credential.len().min(80)]
        );
    }
}

fn refused_with(k: &Keys, credential: String) {
    let s = state(k, &[]);
    for e in [
        rest_token(&credential, ORDERS_ARN),
        rest_request(&credential),
        http_api(&credential),
    ] {
        assert_eq!(decide(&s, e), Err(Unauthorized), "{credential}");
    }
}

/// A token signed by the current, published key, with claims changed by `overrides`.
fn refused_claims(overrides: Value) {
    let k = keys();
    refused_with(
        k,
        format!(
            "Bearer {}",
            forge(&k.current, header(&k.current), claims(overrides))
        ),
    );
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[test]
fn alg_none_is_unauthorized() {
    let k = keys();
    let h = json!({"alg": "none", "typ": "at+jwt", "kid": "current"});
    refused_with(
        k,
        format!("Bearer {}.{}.", b64(&h), b64(&claims(json!({})))),
    );
    let h = json!({"alg": "None", "typ": "at+jwt", "kid": "current"});
    refused_with(
        k,
        format!("Bearer {}.{}.", b64(&h), b64(&claims(json!({})))),
    );
}

#[test]
fn hs256_signed_with_the_public_key_as_secret_is_unauthorized() {
    let k = keys();
    let mut h = Header::new(Algorithm::HS256);
    h.typ = Some("at+jwt".into());
    for kid in ["current", "previous"] {
        h.kid = Some(kid.into());
        for secret in [
            k.jwks.clone(),
            serde_json::to_string(k.current.public_jwk()).unwrap(),
            k.current.public_jwk().common.key_id.clone().unwrap(),
        ] {
            let t = jsonwebtoken::encode(
                &h,
                &claims(json!({})),
                &EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap();
            refused_with(k, format!("Bearer {t}"));
        }
    }
}

#[test]
fn a_tampered_payload_is_unauthorized() {
    let k = keys();
    let t = issue(&k.current, "orders:read");
    let parts: Vec<&str> = t.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["scope"] = "orders:read admin".into();
    refused_with(
        k,
        format!("Bearer {}.{}.{}", parts[0], b64(&payload), parts[2]),
    );
}

#[test]
fn a_signature_from_another_key_with_a_known_kid_is_unauthorized() {
    let k = keys();
    let mut h = header(&k.stranger);
    h.kid = Some("current".into());
    refused_with(
        k,
        format!("Bearer {}", forge(&k.stranger, h, claims(json!({})))),
    );
}

#[test]
fn an_unknown_kid_is_unauthorized() {
    let k = keys();
    refused_with(
        k,
        format!(
            "Bearer {}",
            forge(&k.stranger, header(&k.stranger), claims(json!({})))
        ),
    );
    let mut h = header(&k.current);
    h.kid = None;
    refused_with(
        k,
        format!("Bearer {}", forge(&k.current, h, claims(json!({})))),
    );
}

#[test]
fn an_expired_token_is_unauthorized() {
    let t = now();
    refused_claims(json!({"iat": t - 4000, "exp": t - 3000}));
}

#[test]
fn a_token_not_yet_valid_is_unauthorized() {
    refused_claims(json!({"nbf": now() + 3600}));
}

#[test]
fn a_wrong_issuer_is_unauthorized() {
    refused_claims(json!({"iss": "https://evil.example"}));
}

#[test]
fn a_wrong_audience_is_unauthorized() {
    refused_claims(json!({"aud": "another-api"}));
}

#[test]
fn a_typ_other_than_at_jwt_is_unauthorized() {
    let k = keys();
    for typ in [Some("JWT"), None] {
        let mut h = header(&k.current);
        h.typ = typ.map(str::to_owned);
        refused_with(
            k,
            format!("Bearer {}", forge(&k.current, h, claims(json!({})))),
        );
    }
}

#[test]
fn a_token_without_the_bearer_prefix_is_unauthorized() {
    let k = keys();
    refused_with(k, issue(&k.current, "orders:read"));
}

#[test]
fn bearer_in_lower_case_is_unauthorized() {
    let k = keys();
    refused_with(k, format!("bearer {}", issue(&k.current, "orders:read")));
}

#[test]
fn an_empty_credential_is_unauthorized() {
    refused("");
    refused("Bearer ");
    refused("Bearer");
}

#[test]
fn a_100_kb_token_is_unauthorized() {
    let k = keys();
    let t = issue(&k.current, "orders:read");
    refused(&format!("Bearer {t}{}", "A".repeat(100 * 1024)));
    refused(&format!("Bearer {}", "A".repeat(100 * 1024)));
}

#[test]
fn bytes_that_are_not_utf8_are_unauthorized() {
    // API Gateway sends JSON, so bytes that are not UTF-8 cannot reach the handler as text:
    // the runtime's deserialization refuses them first (an error, never an Allow).
    let raw = b"{\"type\":\"TOKEN\",\"authorizationToken\":\"Bearer \xff\xfe\xfd\",\"methodArn\":\"arn:aws:execute-api:us-east-1:1:a/s/GET/x\"}";
    assert!(serde_json::from_slice::<Value>(raw).is_err());
    // What does arrive is replacement characters and other non-ASCII text.
    refused("Bearer \u{fffd}\u{fffd}.\u{fffd}.\u{fffd}");
    refused("Bearer é.ü.ñ");
    refused("Bearer \u{0}");
}

#[test]
fn missing_required_claims_are_unauthorized() {
    let k = keys();
    for missing in ["sub", "client_id", "scope", "exp", "iss", "aud", "iat"] {
        let mut c = claims(json!({}));
        c.as_object_mut().unwrap().remove(missing);
        refused_with(
            k,
            format!("Bearer {}", forge(&k.current, header(&k.current), c)),
        );
    }
    refused_with(
        k,
        format!(
            "Bearer {}",
            forge(&k.current, header(&k.current), claims(json!({"scope": 5})))
        ),
    );
}

#[test]
fn an_algorithm_outside_the_allow_list_is_unauthorized() {
    // A key published for RS256 with the authorizer allowing only ES256: its tokens are refused.
    let k = keys();
    let s = state(k, &[("ALLOWED_ALGORITHMS", "ES256")]);
    let t = format!("Bearer {}", issue(&k.previous, "orders:read"));
    assert_eq!(decide(&s, rest_token(&t, ORDERS_ARN)), Err(Unauthorized));
    // And a header that names another algorithm than the key's.
    let mut h = header(&k.current);
    h.alg = Algorithm::ES384;
    let parts = forge(&k.current, header(&k.current), claims(json!({})));
    let sig = parts.rsplit('.').next().unwrap();
    let forged = format!(
        "{}.{}.{sig}",
        b64(&serde_json::to_value(&h).unwrap()),
        b64(&claims(json!({})))
    );
    refused_with(k, format!("Bearer {forged}"));
}

#[test]
fn garbage_tokens_never_panic() {
    let k = keys();
    let s = state(k, &[]);
    let seeds = [
        "a.b.c",
        "...",
        "a..",
        ".b.",
        "eyJ.eyJ.sig",
        "e30.e30.",
        "e30.e30.e30",
        "W10.W10.",
        "bnVsbA.bnVsbA.",
        "a.b",
        "a.b.c.d.e",
    ];
    for s1 in seeds {
        for tail in ["", "=", "==", "/", "+"] {
            let e = rest_token(&format!("Bearer {s1}{tail}"), ORDERS_ARN);
            assert_eq!(decide(&s, e), Err(Unauthorized), "{s1}{tail}");
        }
    }
}
