//! The authorizer's cold start and its allow-lists, on its own configuration (in this process):
//! a symmetric or encryption key stops the cold start naming it, `ALLOWED_APIS` refuses every
//! other API and stage, `MAX_TOKEN_LIFETIME_SECONDS` bounds the tokens it accepts, and
//! `ALLOW_LINES` is `each` or `batched`.

use serde_json::json;
use tollgate_tests::authorizer::{allowed, rest_token};

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

/// A bearer token for issuer `https://i`, audience `a`, scope `orders:read`, signed by `key`.
fn bearer(key: &std::sync::Arc<tollgate_oauth::keys::SigningKey>, ttl: u64) -> String {
    use tollgate_oauth::access_token::{AccessTokenClaims, AccessTokenIssuer};
    let scope = tollgate_oauth::scope::Scopes::parse("orders:read").unwrap();
    let now = jsonwebtoken::get_current_timestamp();
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
    let bearer = bearer(&key, 300);
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
    let lasting = |ttl: u64| bearer(&key, ttl);
    let arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/1";
    let admits = |state: &tollgate_authorizer::config::State, ttl: u64| match decide(
        state,
        rest_token(&lasting(ttl), arn),
    ) {
        Ok(out) => allowed(&out, arn),
        Err(Unauthorized) => false,
        Err(e) => panic!("revocation is off here: {e}"),
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

/// `ALLOW_LINES` is `each` (the default) or `batched`; anything else stops the cold start,
/// naming the variable.
#[test]
fn allow_lines_is_each_or_batched() {
    let key = signing_key();
    let jwks = json!({ "keys": [key.public_jwk()] }).to_string();
    let base = |extra: Option<&str>| {
        let mut vars = vec![
            ("ISSUER", "https://i".to_owned()),
            ("AUDIENCE", "a".to_owned()),
            ("JWKS", jwks.clone()),
        ];
        if let Some(v) = extra {
            vars.push(("ALLOW_LINES", v.to_owned()));
        }
        config(&vars)
    };
    for ok in [None, Some("each"), Some("batched")] {
        assert!(base(ok).is_ok(), "{ok:?}");
    }
    for bad in ["Batched", "some", "each,batched"] {
        let e = base(Some(bad))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("ALLOW_LINES"), "{bad:?}: {e}");
    }
}
