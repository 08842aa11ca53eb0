//! The verifier against forged, damaged and mistimed tokens, each refused for its own reason.

use serde_json::json;

use super::*;
use crate::keys::{SigningAlg, SigningKey, generate_pem};

fn setup() -> (SigningKey, AccessTokenVerifier) {
    let key = SigningKey::from_pem(
        &generate_pem(SigningAlg::Es256).unwrap_or_default(),
        SigningAlg::Es256,
        Some("k1".into()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let jwks = json!({ "keys": [key.public_jwk()] }).to_string();
    let verifier = AccessTokenVerifier::new(&jwks, &config()).unwrap_or_else(|e| panic!("{e}"));
    (key, verifier)
}

fn config() -> VerifierConfig {
    VerifierConfig {
        issuer: "https://i".into(),
        audience: "api".into(),
        leeway: 0,
        algorithms: vec![Algorithm::ES256],
        max_lifetime: DEFAULT_MAX_LIFETIME,
    }
}

/// A token signed by `key` with `extra` members in its protected header.
fn token(key: &SigningKey, extra: Value) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let mut header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        header[k] = v;
    }
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({"iss": "https://i", "aud": "api", "sub": "u", "client_id": "c",
        "scope": "a", "iat": now, "exp": now + 60});
    let signing_input = format!("{}.{}", b64(&header), b64(&claims));
    let sig = crate::keys::low_s::sign(
        signing_input.as_bytes(),
        key.encoding_key(),
        Algorithm::ES256,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    format!("{signing_input}.{sig}")
}

#[test]
fn a_well_formed_token_verifies() {
    let (key, v) = setup();
    assert!(v.verify(&token(&key, json!({}))).is_ok());
}

#[test]
fn crit_naming_any_extension_is_refused() {
    let (key, v) = setup();
    for crit in [
        json!(["exp"]),
        json!(["b64"]),
        json!(["x-unknown"]),
        json!([]),
        json!("exp"),
    ] {
        let t = token(&key, json!({"crit": crit, "exp": 1, "b64": true}));
        assert_eq!(
            v.verify(&t).err(),
            Some(Rejection::CriticalHeader),
            "{crit}"
        );
    }
}

#[test]
fn symmetric_private_and_encryption_keys_stop_the_verifier_naming_the_key() {
    let (key, _) = setup();
    let public = serde_json::to_value(key.public_jwk()).unwrap_or_default();
    let mut cases = vec![json!({"kty": "oct", "kid": "sym", "k": "c2VjcmV0", "alg": "HS256"})];
    for (member, value) in [
        ("d", json!("AAAA")),
        ("use", json!("enc")),
        ("key_ops", json!(["encrypt"])),
    ] {
        let mut k = public.clone();
        k["kid"] = format!("bad-{member}").into();
        k[member] = value;
        cases.push(k);
    }
    for bad in cases {
        let jwks = json!({ "keys": [public.clone(), bad.clone()] }).to_string();
        let msg = AccessTokenVerifier::new(&jwks, &config())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains(&format!("key {}", bad["kid"])), "{bad}: {msg}");
    }
}

/// A fixed "now" for the tests that set every time claim themselves.
const NOW: u64 = 1_700_000_000;

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims of a valid token at `NOW`; `set` replaces members, `null` removes them.
fn claims_with(set: Value) -> Value {
    let mut claims = json!({"iss": "https://i", "aud": "api", "sub": "u", "client_id": "c",
        "scope": "a b", "iat": NOW, "exp": NOW + 60});
    for (k, v) in set.as_object().cloned().unwrap_or_default() {
        match v {
            Value::Null => {
                claims.as_object_mut().map(|m| m.remove(&k));
            }
            v => claims[k] = v,
        }
    }
    claims
}

/// A token signed with `alg` by `key`, with `header` members over a valid header.
fn forge(key: &jsonwebtoken::EncodingKey, alg: Algorithm, header: Value, claims: &Value) -> String {
    let mut h = json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"});
    for (k, v) in header.as_object().cloned().unwrap_or_default() {
        h[k] = v;
    }
    let input = format!(
        "{}.{}",
        b64(h.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig =
        crate::keys::low_s::sign(input.as_bytes(), key, alg).unwrap_or_else(|e| panic!("{e}"));
    format!("{input}.{sig}")
}

fn signed(key: &SigningKey, header: Value, claims: &Value) -> String {
    forge(key.encoding_key(), Algorithm::ES256, header, claims)
}

fn with_leeway(leeway: u64) -> (SigningKey, AccessTokenVerifier) {
    let (key, _) = setup();
    let jwks = json!({ "keys": [key.public_jwk()] }).to_string();
    let cfg = VerifierConfig { leeway, ..config() };
    let v = AccessTokenVerifier::new(&jwks, &cfg).unwrap_or_else(|e| panic!("{e}"));
    (key, v)
}

/// The positive control for every forgery below: the same helper, unmodified, verifies.
#[test]
fn the_unmodified_forged_token_is_accepted() {
    let (key, v) = setup();
    let t = v.verify_at(&signed(&key, json!({}), &claims_with(json!({}))), NOW);
    let t = t.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (t.sub.as_str(), t.client_id.as_str(), t.exp),
        ("u", "c", NOW + 60)
    );
    assert_eq!(t.scope.to_string(), "a b");
}

#[test]
fn each_forgery_is_refused_for_its_own_reason() {
    let (key, v) = setup();
    let good = claims_with(json!({}));
    let valid = signed(&key, json!({}), &good);
    let parts: Vec<&str> = valid.split('.').collect();
    let tampered_payload = {
        let more = claims_with(json!({"scope": "a b admin"}));
        format!(
            "{}.{}.{}",
            parts[0],
            b64(more.to_string().as_bytes()),
            parts[2]
        )
    };
    let tampered_signature = {
        let mut sig = parts[2].as_bytes().to_vec();
        sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
        format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            String::from_utf8_lossy(&sig)
        )
    };
    let public = serde_json::to_vec(&key.public_jwk()).unwrap_or_default();
    let hs256 = jsonwebtoken::EncodingKey::from_secret(&public);
    let none_header = b64(json!({"alg": "none", "typ": "at+jwt", "kid": "k1"})
        .to_string()
        .as_bytes());
    let cases: Vec<(&str, String, Rejection)> = vec![
        (
            "alg none",
            format!("{none_header}.{}.", parts[1]),
            Rejection::Malformed,
        ),
        (
            "HS256 keyed with the public key",
            forge(&hs256, Algorithm::HS256, json!({"alg": "HS256"}), &good),
            Rejection::AlgorithmNotAllowed,
        ),
        (
            "wrong kid",
            signed(&key, json!({"kid": "k2"}), &good),
            Rejection::UnknownKey,
        ),
        (
            "no kid",
            signed(&key, json!({"kid": null}), &good),
            Rejection::UnknownKey,
        ),
        (
            "tampered payload",
            tampered_payload,
            Rejection::BadSignature,
        ),
        (
            "tampered signature",
            tampered_signature,
            Rejection::BadSignature,
        ),
        (
            "wrong iss",
            signed(&key, json!({}), &claims_with(json!({"iss": "https://j"}))),
            Rejection::WrongIssuer,
        ),
        (
            "wrong aud",
            signed(&key, json!({}), &claims_with(json!({"aud": "other"}))),
            Rejection::WrongAudience,
        ),
        (
            "typ JWT",
            signed(&key, json!({"typ": "JWT"}), &good),
            Rejection::WrongType,
        ),
        (
            "no typ",
            signed(&key, json!({"typ": null}), &good),
            Rejection::WrongType,
        ),
        (
            "expired",
            signed(&key, json!({}), &claims_with(json!({"exp": NOW - 1}))),
            Rejection::Expired,
        ),
        (
            "nbf ahead",
            signed(&key, json!({}), &claims_with(json!({"nbf": NOW + 1}))),
            Rejection::NotYetValid,
        ),
        (
            "crit",
            signed(&key, json!({"crit": ["exp"]}), &good),
            Rejection::CriticalHeader,
        ),
        ("header not base64 JSON", "a.b".into(), Rejection::Malformed),
        ("three junk segments", "a.b.c".into(), Rejection::Malformed),
        ("empty", String::new(), Rejection::Missing),
        (
            "too large",
            "a".repeat(MAX_TOKEN_BYTES + 1),
            Rejection::TooLarge,
        ),
    ];
    for (name, token, want) in cases {
        assert_eq!(v.verify_at(&token, NOW).err(), Some(want), "{name}");
    }
}

#[test]
fn a_missing_or_mistyped_claim_is_named_as_such() {
    let (key, v) = setup();
    for claim in ["exp", "iss", "aud", "sub", "client_id", "scope", "iat"] {
        let t = signed(&key, json!({}), &claims_with(json!({ claim: null })));
        assert_eq!(
            v.verify_at(&t, NOW).err(),
            Some(Rejection::MissingClaim),
            "no {claim}"
        );
    }
    for (claim, bad) in [
        ("sub", json!("")),
        ("client_id", json!(7)),
        ("scope", json!(["a"])),
        ("iat", json!("x")),
    ] {
        let t = signed(&key, json!({}), &claims_with(json!({ claim: bad })));
        assert_eq!(
            v.verify_at(&t, NOW).err(),
            Some(Rejection::MissingClaim),
            "{claim}: {bad}"
        );
    }
}

#[test]
fn a_header_that_is_not_base64_json_is_malformed_not_crit() {
    let (_, v) = setup();
    for t in [
        "a.b",
        "!!.x.y",
        &format!("{}.x.y", b64(b"[1]")),
        &format!("{}.x.y", b64(b"not json")),
    ] {
        assert_eq!(v.verify_at(t, NOW).err(), Some(Rejection::Malformed), "{t}");
    }
}

/// `exp` and `nbf` hold for exactly `leeway` seconds of skew and not one more.
#[test]
fn leeway_ends_exactly_at_its_limit() {
    const LEEWAY: u64 = 30;
    let (key, v) = with_leeway(LEEWAY);
    let exp = signed(&key, json!({}), &claims_with(json!({"exp": NOW})));
    let nbf = signed(&key, json!({}), &claims_with(json!({"nbf": NOW})));
    for (now, want) in [
        (NOW + LEEWAY - 1, None),
        (NOW + LEEWAY, None),
        (NOW + LEEWAY + 1, Some(Rejection::Expired)),
    ] {
        assert_eq!(
            v.verify_at(&exp, now).err(),
            want,
            "exp at now {}",
            now - NOW
        );
    }
    for (now, want) in [
        (NOW - LEEWAY + 1, None),
        (NOW - LEEWAY, None),
        (NOW - LEEWAY - 1, Some(Rejection::NotYetValid)),
    ] {
        assert_eq!(
            v.verify_at(&nbf, now).err(),
            want,
            "nbf at now -{}",
            NOW - now
        );
    }
    let (key, strict) = with_leeway(0);
    let exp = signed(&key, json!({}), &claims_with(json!({"exp": NOW})));
    assert_eq!(strict.verify_at(&exp, NOW).err(), None);
    assert_eq!(
        strict.verify_at(&exp, NOW + 1).err(),
        Some(Rejection::Expired)
    );
}

#[test]
fn an_nbf_that_is_not_whole_seconds_is_malformed() {
    let (key, v) = setup();
    for bad in [json!("soon"), json!(-1), json!(1.5)] {
        let t = signed(&key, json!({}), &claims_with(json!({ "nbf": bad })));
        assert_eq!(
            v.verify_at(&t, NOW).err(),
            Some(Rejection::Malformed),
            "{bad}"
        );
    }
}

#[test]
fn every_algorithm_verifies_with_its_key_parsed_once_and_refuses_another_key() {
    use crate::access_token::{AccessTokenClaims, AccessTokenIssuer};
    use std::sync::Arc;
    for alg in [SigningAlg::Es256, SigningAlg::Rs256, SigningAlg::EdDsa] {
        let key = |kid: &str| {
            let pem = generate_pem(alg).unwrap_or_default();
            Arc::new(
                SigningKey::from_pem(&pem, alg, Some(kid.into())).unwrap_or_else(|e| panic!("{e}")),
            )
        };
        let (published, stranger) = (key("k1"), key("k1"));
        let jwks = json!({ "keys": [published.public_jwk()] }).to_string();
        let cfg = VerifierConfig {
            algorithms: vec![alg.algorithm()],
            ..config()
        };
        let v = AccessTokenVerifier::new(&jwks, &cfg).unwrap_or_else(|e| panic!("{e}"));
        let details: Map<String, Value> =
            serde_json::from_value(json!({"email": "e@x", "groups": ["g"]})).unwrap_or_default();
        let issue = |k: &Arc<SigningKey>| {
            AccessTokenIssuer::new("https://i".into(), "api".into(), k.clone())
                .issue(&AccessTokenClaims {
                    sub: "u",
                    client_id: "c",
                    sid: None,
                    scope: &Scopes::parse("a b").unwrap_or_else(|e| panic!("{e}")),
                    details: &details,
                    auth_time: NOW,
                    now: NOW,
                    ttl: 60,
                })
                .unwrap_or_else(|e| panic!("{e}"))
                .token
        };
        let t = v
            .verify_at(&issue(&published), NOW)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(
            (t.sub.as_str(), t.iss.as_str(), t.exp),
            ("u", "https://i", NOW + 60)
        );
        assert_eq!(
            Value::Object(t.details),
            json!({"email": "e@x", "groups": ["g"]})
        );
        assert_eq!(
            v.verify_at(&issue(&stranger), NOW).err(),
            Some(Rejection::BadSignature),
            "{alg:?}"
        );
    }
}

mod strict;
