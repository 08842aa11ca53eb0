use std::sync::Arc;

use super::*;
use crate::keys::{SigningKey, generate_pem, published_jwks};

fn issuer(alg: SigningAlg) -> (AccessTokenIssuer, String) {
    let pem = generate_pem(alg).unwrap();
    let key = SigningKey::from_pem(&pem, alg, None).unwrap();
    let jwks = serde_json::to_string(&published_jwks(&key, None).unwrap()).unwrap();
    (
        AccessTokenIssuer::new("https://issuer.example".into(), "api".into(), Arc::new(key)),
        jwks,
    )
}

fn claims<'a>(details: &'a Map<String, Value>, nonce: Option<&'a str>) -> IdTokenClaims<'a> {
    IdTokenClaims {
        sub: "u-1",
        client_id: "spa",
        sid: "fam-1",
        nonce,
        access_token: "eyJ.access.token",
        details,
        auth_time: 1_000,
        now: 1_010,
        ttl: 900,
    }
}

fn payload(jwt: &str) -> Value {
    let body = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap()
}

#[test]
fn an_id_token_names_the_client_the_sign_in_and_the_access_token_beside_it() {
    let details: Map<String, Value> = serde_json::from_str(r#"{"email":"a@b"}"#).unwrap();
    let (i, _) = issuer(SigningAlg::Es256);
    let t = i.issue_id_token(&claims(&details, Some("n-1"))).unwrap();
    let h = jsonwebtoken::decode_header(&t).unwrap();
    assert_eq!(h.typ.as_deref(), Some("JWT"));
    let p = payload(&t);
    for (k, v) in [
        ("iss", Value::from("https://issuer.example")),
        ("sub", "u-1".into()),
        ("aud", "spa".into()),
        ("iat", 1_010.into()),
        ("exp", 1_910.into()),
        ("auth_time", 1_000.into()),
        ("sid", "fam-1".into()),
        ("nonce", "n-1".into()),
        ("email", "a@b".into()),
    ] {
        assert_eq!(p[k], v, "{k}");
    }
    // OpenID Connect Core §3.1.3.6: the left half of SHA-256 of the access token's ASCII.
    let d = digest::digest(&digest::SHA256, b"eyJ.access.token");
    assert_eq!(p["at_hash"], URL_SAFE_NO_PAD.encode(&d.as_ref()[..16]));
    let without = i.issue_id_token(&claims(&details, None)).unwrap();
    assert!(payload(&without).get("nonce").is_none());
}

#[test]
fn at_hash_uses_the_algorithms_hash() {
    assert_eq!(at_hash(SigningAlg::Rs256, "x").len(), 22);
    assert_eq!(at_hash(SigningAlg::Es256, "x").len(), 22);
    assert_eq!(at_hash(SigningAlg::EdDsa, "x").len(), 43);
}

#[test]
fn a_hint_is_our_id_token_whatever_its_age_and_nothing_else() {
    let details = Map::new();
    for alg in [SigningAlg::Es256, SigningAlg::Rs256, SigningAlg::EdDsa] {
        let (i, jwks) = issuer(alg);
        let v = HintVerifier::new(&jwks, "https://issuer.example").unwrap();
        let t = i.issue_id_token(&claims(&details, None)).unwrap();
        assert_eq!(
            v.verify(&t),
            Some(IdTokenHint {
                sub: "u-1".into(),
                client_id: "spa".into(),
                sid: "fam-1".into()
            }),
            "{alg:?} (issued at 1010: long expired)"
        );
        // An access token is no hint, nor another issuer's token, nor a damaged one.
        let access = i
            .issue(&crate::access_token::AccessTokenClaims {
                sub: "u-1",
                client_id: "spa",
                sid: Some("fam-1"),
                scope: &crate::scope::Scopes::parse("openid").unwrap(),
                details: &details,
                auth_time: 1,
                now: 1,
                ttl: 60,
            })
            .unwrap()
            .token;
        assert_eq!(v.verify(&access), None);
        let other = HintVerifier::new(&jwks, "https://other.example").unwrap();
        assert_eq!(other.verify(&t), None);
        let mut damaged = t.clone();
        damaged.pop();
        damaged.push(if t.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(v.verify(&damaged), None);
        assert_eq!(v.verify("not.a.token"), None);
    }
    let (i, _) = issuer(SigningAlg::Es256);
    let (_, someone_elses) = issuer(SigningAlg::Es256);
    let t = i.issue_id_token(&claims(&details, None)).unwrap();
    let v = HintVerifier::new(&someone_elses, "https://issuer.example").unwrap();
    assert_eq!(v.verify(&t), None, "another key");
}
