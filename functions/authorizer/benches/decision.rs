//! One authorizer decision from the event's JSON bytes to the answer's JSON, fresh (the token
//! verified) and cached (seen before by this instance), next to the bare checks it builds on:
//! jsonwebtoken's `decode` with the same key (the figure the issue calls "bare verify") and
//! aws-lc's signature check alone with a key parsed once (the floor). ES256 and RS256. With
//! revocation on, the same decisions asking a state of 10,000 entries, and the freshness check
//! a decision makes first.
//!
//! Each decision writes what it writes in Lambda: its JSON log line (the functions' own log
//! subscriber, as with the template's `LogFormat: JSON`) and its EMF metrics line, to stdout.
//!
//! `TOLLGATE_BENCH_FIXTURE=path`: the keys, tokens, events and answers are read from that file
//! if it exists, else generated and written there, so `make bench` runs the Node peer
//! (measure/node/peer.cjs) on the same tokens and checks its answers against these.

#![allow(clippy::unwrap_used)] // benchmark setup: a panic is the failure report

use std::hint::black_box;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tollgate_authorizer::config::State;
use tollgate_authorizer::handler::{decide_json, decide_json_with};
use tollgate_oauth::access_token::{AccessTokenClaims, AccessTokenIssuer};
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};
use tollgate_oauth::scope::Scopes;
use tollgate_revocation::feed::{
    Feed, Policy, Read, Since, Source, SystemClock, View, WhenUnreadable,
};
use tollgate_revocation::{Entry, Facts, Key, Revoked};

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "api";
const ROUTE_SCOPES: &str =
    "GET /orders/*=orders:read; POST /orders=orders:write; ANY /admin/*=admin";
const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42";

/// One algorithm's public keys, token and event.
struct Case {
    alg: SigningAlg,
    jwks: JwkSet,
    token: String,
    event: Value,
}

fn generate(alg: SigningAlg) -> Case {
    let key =
        std::sync::Arc::new(SigningKey::from_pem(&generate_pem(alg).unwrap(), alg, None).unwrap());
    let issuer = AccessTokenIssuer::new(ISSUER.into(), AUDIENCE.into(), key.clone());
    let details: Map<String, Value> =
        serde_json::from_value(json!({"email": "a@b", "groups": ["x"]})).unwrap();
    let scope = Scopes::parse("orders:read profile").unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let token = issuer
        .issue(&AccessTokenClaims {
            sub: "u1",
            client_id: "c1",
            sid: Some("hM3vT9qLx2Zr8bWc4NfJ0a"),
            scope: &scope,
            details: &details,
            auth_time: now,
            now,
            ttl: 3600,
        })
        .unwrap()
        .token;
    let event = json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {token}"),
        "methodArn": METHOD_ARN,
    });
    Case {
        alg,
        jwks: JwkSet {
            keys: vec![key.public_jwk().clone()],
        },
        token,
        event,
    }
}

/// The cases from the fixture file if there is one, else new ones (written there if named).
fn cases() -> Vec<Case> {
    let path = std::env::var("TOLLGATE_BENCH_FIXTURE").ok();
    if let Some(text) = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
        let f: Value = serde_json::from_str(&text).unwrap();
        return f["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Case {
                alg: match c["alg"].as_str().unwrap() {
                    "ES256" => SigningAlg::Es256,
                    _ => SigningAlg::Rs256,
                },
                jwks: serde_json::from_value(c["jwks"].clone()).unwrap(),
                token: c["token"].as_str().unwrap().to_owned(),
                event: c["event"].clone(),
            })
            .collect();
    }
    let cases = vec![generate(SigningAlg::Es256), generate(SigningAlg::Rs256)];
    if let Some(p) = path {
        let fixture = json!({
            "issuer": ISSUER, "audience": AUDIENCE, "route_scopes": ROUTE_SCOPES,
            "cases": cases.iter().map(|c| json!({
                "alg": c.alg.as_str(), "jwks": c.jwks, "token": c.token, "event": c.event,
                "answer": answer(c),
            })).collect::<Vec<_>>(),
        });
        std::fs::write(p, fixture.to_string()).unwrap();
    }
    cases
}

fn state(c: &Case) -> State {
    let jwks = serde_json::to_string(&c.jwks).unwrap();
    let vars = [
        ("ISSUER", ISSUER),
        ("AUDIENCE", AUDIENCE),
        ("JWKS", jwks.as_str()),
        ("ROUTE_SCOPES", ROUTE_SCOPES),
    ];
    State::from_lookup(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
}

/// Tollgate's answer to the case's event, as a `Value` (for the Node peer to match).
fn answer(c: &Case) -> Value {
    let bytes = serde_json::to_vec(&c.event).unwrap();
    serde_json::from_str(decide_json(&state(c), &bytes).unwrap().get()).unwrap()
}

/// The JWK's key parsed once by aws-lc, as the verifier holds it.
fn parsed(jwk: &Jwk) -> ParsedPublicKey {
    let b = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) => {
            let point = [vec![4], b(&p.x), b(&p.y)].concat();
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).unwrap()
        }
        AlgorithmParameters::RSA(p) => RsaPublicKeyComponents {
            n: b(&p.n),
            e: b(&p.e),
        }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .unwrap(),
        _ => panic!("ES256 and RS256 only"),
    }
}

fn bench(c: &mut Criterion) {
    // As in Lambda: the authorizer's log subscriber, JSON lines at INFO (main.rs installs it).
    tracing::subscriber::set_global_default(tollgate_telemetry::logging::subscriber("info", true))
        .unwrap();
    for case in cases() {
        let state = state(&case);
        let bytes = serde_json::to_vec(&case.event).unwrap();
        let fresh = decide_json(&state, &bytes).unwrap();
        assert_eq!(state.verified.len(), 1, "a valid token is remembered");
        let cached = decide_json(&state, &bytes).unwrap();
        assert_eq!(
            fresh.get(),
            cached.get(),
            "a cached decision answers the same"
        );

        let jwk = &case.jwks.keys[0];
        let decoding = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(case.alg.algorithm());
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        let key = parsed(jwk);
        let (message, sig) = case.token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        key.verify_sig(message.as_bytes(), &sig).unwrap();

        let mut g = c.benchmark_group(case.alg.as_str());
        // From the bytes the runtime receives to the JSON it sends back, as in Lambda.
        g.bench_function("decision", |b| {
            b.iter(|| {
                // Every decision a fresh one: the token is verified again.
                state.verified.clear();
                decide_json(&state, black_box(&bytes)).unwrap()
            })
        });
        g.bench_function("decision_cached", |b| {
            b.iter(|| decide_json(&state, black_box(&bytes)).unwrap())
        });
        // The same with revocation on: a state of 10,000 entries of every kind, none refusing
        // this token, asked on every decision (a cached one included).
        let view = View::Current(Arc::new(revoked(10_000)));
        let with = decide_json_with(&state, Some(&view), &bytes).unwrap();
        assert_eq!(with.get(), fresh.get(), "revocation on answers the same");
        g.bench_function("decision_revocation", |b| {
            b.iter(|| {
                state.verified.clear();
                decide_json_with(&state, Some(&view), black_box(&bytes)).unwrap()
            })
        });
        g.bench_function("decision_cached_revocation", |b| {
            b.iter(|| decide_json_with(&state, Some(&view), black_box(&bytes)).unwrap())
        });
        g.bench_function("bare_verify", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Map<String, Value>>(
                    black_box(&case.token),
                    &decoding,
                    &validation,
                )
                .unwrap()
            })
        });
        g.bench_function("signature_only", |b| {
            b.iter(|| key.verify_sig(black_box(message.as_bytes()), black_box(&sig)))
        });
        g.finish();
        if case.alg == SigningAlg::Es256 {
            parts(c, &state, &bytes);
            revocation(c);
        }
    }
}

/// A revocation state of `n` entries: sessions, tokens, and a tenth each of user and client
/// cut-offs (so a decision hashes its `sub`), none of them the bench token's.
fn revoked(n: u64) -> Revoked {
    let mut r = Revoked::default();
    let now = jsonwebtoken::get_current_timestamp();
    for i in 0..n {
        let e = match i % 10 {
            0 => Entry::cut_off(Key::subject(&format!("u-{i}")), now, 900),
            1 => Entry::cut_off(Key::Client(format!("c-{i}")), now, 900),
            2..=5 => Entry::token(&format!("jti-{i}"), now + 900),
            _ => Entry::session(&format!("sid-{i}"), now + 900),
        };
        r.insert(&e, now);
    }
    r
}

/// A source that finds nothing new, for the freshness check's own cost.
struct Quiet;

impl Source for Quiet {
    type Error = &'static str;
    async fn read(&self, _since: Since) -> Result<Read, &'static str> {
        Ok(Read::default())
    }
}

/// What revocation adds to a decision, piece by piece: the freshness check a decision makes
/// before it decides (a state within its bound: no read), and the question asked of a state.
fn revocation(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let policy = Policy {
        max_staleness_ms: 5_000,
        when_unreadable: WhenUnreadable::Allow {
            for_at_most_ms: 300_000,
        },
        wait_ms: 2_000,
    };
    let feed = rt.block_on(async {
        let feed = Feed::start(Quiet, policy, Arc::new(SystemClock::default()));
        assert!(feed.ready(std::time::Duration::from_secs(1)).await);
        feed
    });
    let state = revoked(10_000);
    let facts = Facts {
        sid: Some("hM3vT9qLx2Zr8bWc4NfJ0a"),
        jti: Some("a-jti-not-revoked"),
        sub: "u1",
        client_id: "c1",
        iat: jsonwebtoken::get_current_timestamp(),
    };
    let mut g = c.benchmark_group("revocation");
    g.bench_function("view_within_the_bound", |b| {
        b.iter(|| rt.block_on(feed.view()))
    });
    g.bench_function("refuses_10000_entries", |b| {
        b.iter(|| state.refuses(black_box(&facts)))
    });
    g.finish();
}

/// The pieces of a cached decision, one by one, to see where its time goes.
fn parts(c: &mut Criterion, state: &State, bytes: &[u8]) {
    use tollgate_authorizer::answer::{Answer, Context};
    use tollgate_authorizer::policy::Policy;
    let policies = tollgate_authorizer::answer::Policies::default();
    use tollgate_authorizer::cache::token_hash;
    use tollgate_authorizer::event::read_slice;
    use tollgate_authorizer::handler::bearer;
    use tollgate_authorizer::policy::RouteArn;
    let incoming = read_slice(bytes).unwrap();
    let credential = incoming.credential.as_deref().unwrap();
    let token = bearer(credential).unwrap();
    let verified = state.verifier.verify(token).unwrap();
    let arn = RouteArn::parse(METHOD_ARN).unwrap();
    let mut g = c.benchmark_group("parts");
    g.bench_function("read_event", |b| {
        b.iter(|| read_slice(black_box(bytes)).unwrap().shape)
    });
    g.bench_function("bearer", |b| {
        b.iter(|| bearer(black_box(credential)).unwrap().len())
    });
    g.bench_function("token_hash", |b| b.iter(|| token_hash(black_box(token))));
    g.bench_function("route_arn", |b| {
        b.iter(|| RouteArn::parse(black_box(METHOD_ARN)))
    });
    g.bench_function("policy_written", |b| {
        b.iter(|| {
            let policy = Policy {
                routes: &state.routes,
                scopes: &verified.scope,
                arn: &arn,
            };
            serde_json::value::to_raw_value(black_box(&policy)).unwrap()
        })
    });
    g.bench_function("answer_json", |b| {
        b.iter(|| {
            let policy = policies.get(&state.routes, &verified.scope, black_box(&arn));
            let answer = Answer::Iam {
                principal: &verified.sub,
                policy: &policy,
                context: Context(&verified),
            };
            serde_json::value::to_raw_value(black_box(&answer)).unwrap()
        })
    });
    g.bench_function("verify", |b| {
        b.iter(|| state.verifier.verify(black_box(token)).unwrap())
    });
    g.bench_function("metrics_line", |b| {
        b.iter(|| {
            state.metrics.render_authorization(
                1,
                ("allow", "ok"),
                std::time::Duration::from_micros(5),
                Default::default(),
                tollgate_telemetry::metrics::DecisionRecord {
                    shape: Some("rest_token"),
                    client_id: Some(&verified.client_id),
                    revocation_age_ms: None,
                },
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
