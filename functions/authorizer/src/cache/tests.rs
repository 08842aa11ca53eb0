//! The verified-token cache: a different token never hits (a changed signature included), an
//! expired entry is never used, the bound holds under many distinct tokens, and only a token
//! that passed the full verification is ever stored.

use std::cell::Cell;

use jsonwebtoken::jwk::JwkSet;
use serde_json::{Map, Value, json};
use tollgate_oauth::access_token::{AccessTokenClaims, AccessTokenIssuer};
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::verify::{AccessTokenVerifier, DEFAULT_MAX_LIFETIME, VerifierConfig};

use super::*;

const T0: u64 = 1_900_000_000;
const TTL: u64 = 600;

struct Setup {
    key: Arc<SigningKey>,
    verifier: AccessTokenVerifier,
}

fn setup() -> Setup {
    let alg = SigningAlg::Es256;
    let key = Arc::new(
        SigningKey::from_pem(&generate_pem(alg).unwrap(), alg, Some("k1".into())).unwrap(),
    );
    let jwks = serde_json::to_string(&JwkSet {
        keys: vec![key.public_jwk().clone()],
    })
    .unwrap();
    let cfg = VerifierConfig {
        issuer: "https://i".into(),
        audience: "api".into(),
        leeway: 30,
        algorithms: vec![alg.algorithm()],
        max_lifetime: DEFAULT_MAX_LIFETIME,
    };
    let verifier = AccessTokenVerifier::new(&jwks, &cfg).unwrap();
    Setup { key, verifier }
}

fn issue(key: &Arc<SigningKey>, sub: &str, now: u64) -> String {
    let issuer = AccessTokenIssuer::new("https://i".into(), "api".into(), key.clone());
    let details: Map<String, Value> =
        serde_json::from_value(json!({"email": "u@example.com"})).unwrap();
    issuer
        .issue(&AccessTokenClaims {
            sub,
            client_id: "c1",
            sid: Some("family-1"),
            scope: &Scopes::parse("a b").unwrap(),
            details: &details,
            auth_time: now,
            now,
            ttl: TTL,
        })
        .unwrap()
        .token
}

/// A verified token as the verifier returns one, for the tests that need no signature.
fn verified(sub: &str, exp: u64, nbf: Option<u64>) -> VerifiedToken {
    VerifiedToken {
        iss: "https://i".into(),
        sub: sub.into(),
        client_id: "c1".into(),
        scope: Scopes::parse("a").unwrap(),
        exp,
        nbf,
        iat: 0,
        jti: None,
        sid: None,
        details: Map::new(),
    }
}

/// Runs `get_or_verify` and says whether the verification ran (a miss) or not (a hit).
fn lookup(
    cache: &VerifiedTokens,
    s: &Setup,
    token: &str,
    now: u64,
) -> (Result<Arc<VerifiedToken>, Rejection>, bool) {
    let ran = Cell::new(false);
    let out = cache.get_or_verify(token, now, |t| {
        ran.set(true);
        s.verifier.verify_at(t, now)
    });
    (out, ran.get())
}

#[test]
fn a_token_seen_again_is_a_hit_with_the_same_claims() {
    let s = setup();
    let cache = VerifiedTokens::new(8);
    let token = issue(&s.key, "u1", T0);
    let (first, ran) = lookup(&cache, &s, &token, T0);
    assert!(ran, "the first sight verifies");
    let (again, ran) = lookup(&cache, &s, &token, T0 + 1);
    assert!(!ran, "the second is a hit");
    assert_eq!(first.unwrap(), again.unwrap());
    assert_eq!(cache.len(), 1);
}

#[test]
fn a_different_token_never_hits_even_one_differing_only_in_its_signature() {
    let s = setup();
    let cache = VerifiedTokens::new(8);
    let token = issue(&s.key, "u1", T0);
    assert!(lookup(&cache, &s, &token, T0).0.is_ok());
    // Same header and claims, another signature: a fresh ECDSA signature of the same input,
    // and the stored one with one character changed.
    let (input, sig) = token.rsplit_once('.').unwrap();
    let resigned = format!(
        "{input}.{}",
        tollgate_oauth::keys::low_s::sign(
            input.as_bytes(),
            s.key.encoding_key(),
            SigningAlg::Es256.algorithm()
        )
        .unwrap()
    );
    assert_ne!(resigned, token, "ECDSA signatures are randomised");
    let mut bytes = sig.as_bytes().to_vec();
    bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{input}.{}", String::from_utf8(bytes).unwrap());
    let (out, ran) = lookup(&cache, &s, &resigned, T0);
    assert!(
        ran && out.is_ok(),
        "another valid signature is verified, not served"
    );
    let (out, ran) = lookup(&cache, &s, &tampered, T0);
    assert!(ran, "a changed signature is verified, not served");
    assert_eq!(out.unwrap_err(), Rejection::BadSignature);
    // Another user's token, and the first token with a trailing character.
    let other = issue(&s.key, "u2", T0);
    let (out, ran) = lookup(&cache, &s, &other, T0);
    assert!(ran);
    assert_eq!(out.unwrap().sub, "u2");
    let (out, ran) = lookup(&cache, &s, &format!("{token}A"), T0);
    assert!(ran && out.is_err());
    assert_ne!(token_hash(&token), token_hash(&resigned));
}

#[test]
fn an_expired_entry_is_never_used() {
    let s = setup();
    let cache = VerifiedTokens::new(8);
    let token = issue(&s.key, "u1", T0);
    let exp = T0 + TTL;
    assert!(lookup(&cache, &s, &token, T0).0.is_ok());
    let (out, ran) = lookup(&cache, &s, &token, exp);
    assert!(!ran && out.is_ok(), "still valid at exp itself");
    // One second past exp: the verifier decides (its 30 s leeway still accepts), not the cache,
    // and the token is not stored again.
    let (out, ran) = lookup(&cache, &s, &token, exp + 1);
    assert!(ran && out.is_ok());
    assert!(
        cache.is_empty(),
        "the expired entry was dropped and not re-stored"
    );
    let (out, ran) = lookup(&cache, &s, &token, exp + 31);
    assert!(ran);
    assert_eq!(out.unwrap_err(), Rejection::Expired);
    assert!(cache.is_empty());
}

#[test]
fn an_expired_or_not_yet_valid_token_is_never_stored() {
    let cache = VerifiedTokens::new(8);
    // What a verifier with leeway accepts: exp just passed, nbf just ahead.
    for (token, v) in [
        ("t-expired", verified("u", T0 - 1, None)),
        ("t-at-exp", verified("u", T0, None)),
        ("t-early", verified("u", T0 + 100, Some(T0 + 5))),
    ] {
        assert!(cache.get_or_verify(token, T0, |_| Ok(v.clone())).is_ok());
    }
    assert!(cache.is_empty());
    assert!(
        cache
            .get_or_verify("t-ok", T0, |_| Ok(verified("u", T0 + 1, Some(T0))))
            .is_ok()
    );
    assert_eq!(cache.len(), 1);
}

#[test]
fn a_refused_token_stores_nothing() {
    let s = setup();
    let cache = VerifiedTokens::new(8);
    let token = issue(&s.key, "u1", T0);
    // Signed by a key the verifier does not know.
    let stranger = setup();
    let forged = issue(&stranger.key, "u1", T0);
    for bad in [forged.as_str(), "a.b.c", ""] {
        for _ in 0..2 {
            let (out, ran) = lookup(&cache, &s, bad, T0);
            assert!(ran && out.is_err(), "{bad}");
        }
    }
    assert!(cache.is_empty());
    let (out, _) = lookup(&cache, &s, &token, T0 + TTL + 31);
    assert_eq!(out.unwrap_err(), Rejection::Expired);
    assert!(cache.is_empty());
}

#[test]
fn the_bound_holds_under_many_distinct_tokens() {
    let cache = VerifiedTokens::new(64);
    let verifications = Cell::new(0);
    let token = |i: usize| format!("token-{i}");
    for i in 0..5_000 {
        let out = cache.get_or_verify(&token(i), T0, |t| {
            verifications.set(verifications.get() + 1);
            Ok(verified(t, T0 + 60, None))
        });
        assert_eq!(out.unwrap().sub, token(i));
        assert!(cache.len() <= 64);
        assert!(cache.lock().order.len() <= 64);
    }
    assert_eq!(cache.len(), 64);
    assert_eq!(verifications.get(), 5_000);
    // The newest 64 are held, the oldest first out.
    let hit = |i| {
        let ran = Cell::new(false);
        let _ = cache.get_or_verify(&token(i), T0, |t| {
            ran.set(true);
            Ok(verified(t, T0 + 60, None))
        });
        !ran.get()
    };
    assert!(hit(4_999) && hit(4_936));
    assert!(!hit(4_935) && !hit(0));
}

#[test]
fn oversized_tokens_and_a_zero_capacity_bypass_the_cache() {
    let big = "a".repeat(MAX_TOKEN_BYTES + 1);
    let cache = VerifiedTokens::new(8);
    assert!(
        cache
            .get_or_verify(&big, T0, |_| Err(Rejection::TooLarge))
            .is_err()
    );
    let off = VerifiedTokens::new(0);
    for _ in 0..2 {
        let ran = Cell::new(false);
        let _ = off.get_or_verify("t", T0, |_| {
            ran.set(true);
            Ok(verified("u", T0 + 60, None))
        });
        assert!(ran.get());
    }
    assert!(off.is_empty() && cache.is_empty());
}
