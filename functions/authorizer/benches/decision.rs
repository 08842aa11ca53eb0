//! One authorizer decision (deserialize the event, verify the token, build policy and context) next to
//! the bare signature verification with the same key, for ES256 and RS256.

#![allow(clippy::unwrap_used)] // benchmark setup: a panic is the failure report

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value, json};
use tollgate_authorizer::config::State;
use tollgate_authorizer::handler::decide;
use tollgate_common::access_token::{AccessTokenClaims, AccessTokenIssuer};
use tollgate_common::keys::{SigningAlg, SigningKey, generate_pem};
use tollgate_common::scope::Scopes;

fn bench(c: &mut Criterion) {
    for alg in [SigningAlg::Es256, SigningAlg::Rs256] {
        let key = std::sync::Arc::new(
            SigningKey::from_pem(&generate_pem(alg).unwrap(), alg, None).unwrap(),
        );
        let jwks = serde_json::to_string(&JwkSet {
            keys: vec![key.public_jwk().clone()],
        })
        .unwrap();
        let issuer =
            AccessTokenIssuer::new("https://issuer.example".into(), "api".into(), key.clone());
        let details: Map<String, Value> =
            serde_json::from_value(json!({"email": "a@b", "groups": ["x"]})).unwrap();
        let scope = Scopes::parse("orders:read profile").unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let token = issuer
            .issue(&AccessTokenClaims {
                sub: "u1",
                client_id: "c1",
                sid: None,
                scope: &scope,
                details: &details,
                auth_time: now,
                now,
                ttl: 3600,
            })
            .unwrap()
            .token;
        let vars = [
            ("ISSUER", "https://issuer.example"),
            ("AUDIENCE", "api"),
            ("JWKS", jwks.as_str()),
            (
                "ROUTE_SCOPES",
                "GET /orders/*=orders:read; POST /orders=orders:write; ANY /admin/*=admin",
            ),
        ];
        let state = State::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let event = json!({
            "type": "TOKEN",
            "authorizationToken": format!("Bearer {token}"),
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42",
        });
        assert!(decide(&state, event.clone()).is_ok());

        let decoding = DecodingKey::from_jwk(key.public_jwk()).unwrap();
        let mut validation = Validation::new(alg.algorithm());
        validation.set_audience(&["api"]);
        validation.set_issuer(&["https://issuer.example"]);

        let mut g = c.benchmark_group(alg.as_str());
        // From the bytes the runtime receives, as in Lambda.
        let bytes = serde_json::to_vec(&event).unwrap();
        g.bench_function("decision", |b| {
            b.iter(|| decide(&state, serde_json::from_slice(black_box(&bytes)).unwrap()))
        });
        g.bench_function("bare_verify", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Map<String, Value>>(
                    black_box(&token),
                    &decoding,
                    &validation,
                )
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
