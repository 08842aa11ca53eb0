//! What the verifier refuses although the signature holds: an `iss` that is not one text, a
//! member named twice, an `iat` from the future, a lifetime longer than Tollgate gives, the
//! high-S twin of an ES256 signature, an `aud` list without the audience, and a header naming
//! another algorithm than the key's. Each with its positive control.

use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A token of these exact header and claims texts (duplicates and all), signed by `key` with
/// `alg`, the signature in low-S form.
fn raw(key: &jsonwebtoken::EncodingKey, alg: Algorithm, header: &str, claims: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let sig =
        crate::keys::low_s::sign(input.as_bytes(), key, alg).unwrap_or_else(|e| panic!("{e}"));
    format!("{input}.{sig}")
}

const HEADER: &str = r#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#;

/// The claims of a valid token at `NOW` as text, with `extra` members written after them.
fn claims_text(extra: &str) -> String {
    format!(
        r#"{{"iss":"https://i","aud":"api","sub":"u","client_id":"c","scope":"a","iat":{NOW},"exp":{}{extra}}}"#,
        NOW + 60
    )
}

#[test]
fn an_iss_that_is_not_one_text_is_refused() {
    let (key, v) = setup();
    let ok = signed(&key, json!({}), &claims_with(json!({"iss": "https://i"})));
    assert_eq!(
        v.verify_at(&ok, NOW).map(|t| t.iss),
        Ok("https://i".to_owned())
    );
    for iss in [
        json!(["https://i"]),
        json!(["https://j", "https://i"]),
        json!({"iss": "https://i"}),
        json!(7),
    ] {
        let t = signed(&key, json!({}), &claims_with(json!({ "iss": iss })));
        assert_eq!(
            v.verify_at(&t, NOW).err(),
            Some(Rejection::MissingClaim),
            "{iss}"
        );
    }
}

#[test]
fn a_member_named_twice_anywhere_is_malformed() {
    let (key, v) = setup();
    let k = key.encoding_key();
    let control = raw(k, Algorithm::ES256, HEADER, &claims_text(r#","email":"a""#));
    assert!(v.verify_at(&control, NOW).is_ok(), "the control verifies");
    let headers = [
        r#"{"alg":"ES256","typ":"at+jwt","kid":"k1","kid":"k1"}"#,
        r#"{"alg":"ES256","alg":"ES256","typ":"at+jwt","kid":"k1"}"#,
        r#"{"alg":"ES256","typ":"at+jwt","typ":"at+jwt","kid":"k1"}"#,
        r#"{"alg":"ES256","typ":"at+jwt","kid":"k1","x5u":"a","x5u":"b"}"#,
        r#"{"alg":"ES256","typ":"at+jwt","kid":"k1","jwk":{"kty":"EC","kty":"RSA"}}"#,
        r#"{"alg":"ES256","typ":"at+jwt","kid":"k1","\u006bid":"k1"}"#,
    ];
    for h in headers {
        let t = raw(k, Algorithm::ES256, h, &claims_text(""));
        assert_eq!(
            v.verify_at(&t, NOW).err(),
            Some(Rejection::Malformed),
            "{h}"
        );
    }
    for extra in [
        r#","sub":"admin""#,
        r#","iss":"https://i""#,
        r#","exp":1"#,
        r#","email":"a","email":"b""#,
        r#","auth_time":1,"auth_time":2"#,
        r#","email":"a","\u0065mail":"b""#,
        r#","address":{"city":"a","city":"b"}"#,
        r#","groups":[{"role":"user","role":"admin"}]"#,
    ] {
        let t = raw(k, Algorithm::ES256, HEADER, &claims_text(extra));
        assert_eq!(
            v.verify_at(&t, NOW).err(),
            Some(Rejection::Malformed),
            "{extra}"
        );
    }
}

#[test]
fn an_iat_beyond_the_leeway_ahead_is_refused() {
    let (key, v) = with_leeway(30);
    let at = |iat: u64| {
        let t = signed(
            &key,
            json!({}),
            &claims_with(json!({"iat": iat, "exp": iat + 60})),
        );
        v.verify_at(&t, NOW).err()
    };
    assert_eq!(at(NOW), None);
    assert_eq!(at(NOW + 30), None, "within the leeway");
    assert_eq!(at(NOW + 31), Some(Rejection::IssuedInFuture));
    assert_eq!(
        at(NOW + 3 * 365 * 86_400),
        Some(Rejection::IssuedInFuture),
        "three years ahead"
    );
}

#[test]
fn a_lifetime_above_the_largest_tollgate_issues_is_refused() {
    let (key, v) = setup();
    let life = |exp: u64| {
        let t = signed(
            &key,
            json!({}),
            &claims_with(json!({"iat": NOW, "exp": exp})),
        );
        v.verify_at(&t, NOW).err()
    };
    assert_eq!(DEFAULT_MAX_LIFETIME, 86_400);
    assert_eq!(
        life(NOW + 86_400),
        None,
        "a day, the longest Tollgate gives"
    );
    assert_eq!(life(NOW + 86_401), Some(Rejection::LifetimeTooLong));
    assert_eq!(
        life(1 << 63),
        Some(Rejection::LifetimeTooLong),
        "exp = 2^63"
    );
    assert_eq!(life(u64::MAX), Some(Rejection::LifetimeTooLong));
    // The largest lifetime is the verifier's setting.
    let jwks = json!({ "keys": [key.public_jwk()] }).to_string();
    let cfg = VerifierConfig {
        max_lifetime: 3_600,
        ..config()
    };
    let hour = AccessTokenVerifier::new(&jwks, &cfg).unwrap_or_else(|e| panic!("{e}"));
    for (exp, want) in [
        (NOW + 3_600, None),
        (NOW + 3_601, Some(Rejection::LifetimeTooLong)),
    ] {
        let t = signed(
            &key,
            json!({}),
            &claims_with(json!({"iat": NOW, "exp": exp})),
        );
        assert_eq!(hour.verify_at(&t, NOW).err(), want, "{}", exp - NOW);
    }
}

#[test]
fn the_high_s_twin_of_a_token_is_refused_and_the_low_s_original_accepted() {
    use crate::keys::low_s::{is_low_s, normalise};
    let (key, v) = setup();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(claims_text(""))
    );
    // A signer that does not normalise writes a high S about half the time.
    let high = (0..64)
        .map(|_| {
            let sig =
                jsonwebtoken::crypto::sign(input.as_bytes(), key.encoding_key(), Algorithm::ES256)
                    .unwrap_or_default();
            URL_SAFE_NO_PAD.decode(sig).unwrap_or_default()
        })
        .find(|sig| !is_low_s(sig))
        .unwrap_or_else(|| panic!("no high S in 64 signatures"));
    let mut low = high.clone();
    normalise(&mut low);
    let token = |sig: &[u8]| format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    assert!(v.verify_at(&token(&low), NOW).is_ok(), "the low-S spelling");
    assert_eq!(
        v.verify_at(&token(&high), NOW).err(),
        Some(Rejection::HighS),
        "the high-S twin verifies as a signature, and is refused"
    );
}

#[test]
fn an_aud_list_must_hold_the_audience() {
    let (key, v) = setup();
    let aud = |aud: Value| {
        let t = signed(&key, json!({}), &claims_with(json!({ "aud": aud })));
        v.verify_at(&t, NOW).err()
    };
    assert_eq!(aud(json!("api")), None);
    assert_eq!(aud(json!(["other", "api"])), None, "a list holding it");
    assert_eq!(aud(json!(["api"])), None);
    for without in [
        json!(["other", "more"]),
        json!(["other"]),
        json!([]),
        json!("other"),
    ] {
        assert_eq!(
            aud(without.clone()),
            Some(Rejection::WrongAudience),
            "{without}"
        );
    }
    assert_eq!(
        aud(json!(["api", 7])),
        Some(Rejection::MissingClaim),
        "a list of non-texts"
    );
}

/// Signed with the real key, but the header names another algorithm: refused whether the
/// signature was made under the key's algorithm or under the named one.
#[test]
fn a_header_naming_another_algorithm_than_the_keys_is_refused() {
    for (alg, others) in [
        (SigningAlg::Es256, vec![Algorithm::ES384]),
        (
            SigningAlg::Rs256,
            vec![Algorithm::RS384, Algorithm::RS512, Algorithm::PS256],
        ),
    ] {
        let pem = generate_pem(alg).unwrap_or_default();
        let key =
            SigningKey::from_pem(&pem, alg, Some("k1".into())).unwrap_or_else(|e| panic!("{e}"));
        let jwks = json!({ "keys": [key.public_jwk()] }).to_string();
        let cfg = VerifierConfig {
            algorithms: vec![alg.algorithm()],
            ..config()
        };
        let v = AccessTokenVerifier::new(&jwks, &cfg).unwrap_or_else(|e| panic!("{e}"));
        let own = json!({"alg": alg.as_str()});
        let good = forge(
            key.encoding_key(),
            alg.algorithm(),
            own,
            &claims_with(json!({})),
        );
        assert!(v.verify_at(&good, NOW).is_ok(), "{alg:?}: the control");
        for other in others {
            let named = json!({"alg": format!("{other:?}")});
            // The key's own signature under a header naming another algorithm.
            let relabelled = forge(
                key.encoding_key(),
                alg.algorithm(),
                named.clone(),
                &claims_with(json!({})),
            );
            assert_eq!(
                v.verify_at(&relabelled, NOW).err(),
                Some(Rejection::AlgorithmNotAllowed),
                "{alg:?} key, header {other:?}"
            );
            // The same key signing under the algorithm the header names (ES384 cannot sign with a
            // P-256 key: the relabelled token is the only one there).
            if let Ok(sig) = jsonwebtoken::crypto::sign(b"x", key.encoding_key(), other) {
                assert!(!sig.is_empty());
                let resigned = forge(key.encoding_key(), other, named, &claims_with(json!({})));
                assert_eq!(
                    v.verify_at(&resigned, NOW).err(),
                    Some(Rejection::AlgorithmNotAllowed),
                    "{alg:?} key signing {other:?}"
                );
            }
        }
    }
}
