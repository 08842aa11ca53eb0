//! Verifying access tokens as a resource server does (RFC 9068 §4), with public keys only.
//! Keys and validation settings are built once; each verification pins the algorithm to the one
//! the key was published for, so a token cannot choose how it is checked.

use std::collections::HashMap;
use std::fmt;

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::scope::Scopes;

/// Tokens longer than this are refused before any parsing: real ones are well under 2 KiB.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token was refused. For the log only: every reason is the same 401 to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Missing,
    Malformed,
    TooLarge,
    WrongType,
    AlgorithmNotAllowed,
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    MissingClaim,
    CriticalHeader,
    ApiNotAllowed,
    RefusedPath,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "no bearer token",
            Self::Malformed => "token is malformed",
            Self::TooLarge => "token is too large",
            Self::WrongType => "token typ is not at+jwt",
            Self::AlgorithmNotAllowed => "algorithm not allowed",
            Self::UnknownKey => "unknown kid",
            Self::BadSignature => "bad signature",
            Self::Expired => "token expired",
            Self::NotYetValid => "token not yet valid",
            Self::WrongIssuer => "wrong issuer",
            Self::WrongAudience => "wrong audience",
            Self::MissingClaim => "required claim missing or mistyped",
            Self::CriticalHeader => "token has a crit header",
            Self::ApiNotAllowed => "API or stage not in ALLOWED_APIS",
            Self::RefusedPath => "request path is a refused spelling",
        })
    }
}

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    pub sub: String,
    pub client_id: String,
    pub scope: Scopes,
    pub exp: u64,
    /// Every claim, including the user details the token function let through.
    pub claims: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifierSetupError {
    #[error("the JWKS is not a valid JWK set: {0}")]
    BadJwks(String),
    #[error("key {kid:?} in the JWKS is unusable: {why}")]
    BadKey { kid: String, why: String },
    #[error("the JWKS has no key with an allowed algorithm")]
    NoKeys,
    #[error("unsupported algorithm {0:?} (allowed: ES256, RS256, EdDSA)")]
    BadAlgorithm(String),
}

/// What a valid token must look like.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub issuer: String,
    pub audience: String,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    pub leeway: u64,
    pub algorithms: Vec<Algorithm>,
}

pub fn parse_algorithm(s: &str) -> Result<Algorithm, VerifierSetupError> {
    match s.trim() {
        "ES256" => Ok(Algorithm::ES256),
        "RS256" => Ok(Algorithm::RS256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(VerifierSetupError::BadAlgorithm(other.to_owned())),
    }
}

struct Key {
    decoding: DecodingKey,
    validation: Validation,
}

pub struct AccessTokenVerifier {
    keys: HashMap<String, Key>,
    /// Seconds of clock skew tolerated on `exp` and `nbf`, checked here (not by jsonwebtoken)
    /// so that the time of the check can be given.
    leeway: u64,
}

impl fmt::Debug for AccessTokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenVerifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn key_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    match alg {
        KeyAlgorithm::ES256 => Some(Algorithm::ES256),
        KeyAlgorithm::RS256 => Some(Algorithm::RS256),
        KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
        _ => None,
    }
}

impl AccessTokenVerifier {
    /// Builds decoding keys and one `Validation` per key from a JWKS. Every key needs a `kid`
    /// and must be a public verification key (symmetric, private or encryption keys stop the
    /// cold start, naming the key); its algorithm comes from the key's `alg`, or else its type.
    /// Keys of algorithms outside the allow-list are skipped, never trusted.
    pub fn new(jwks: &str, cfg: &VerifierConfig) -> Result<Self, VerifierSetupError> {
        crate::keys::check_public_jwks(jwks).map_err(VerifierSetupError::BadJwks)?;
        let set: JwkSet =
            serde_json::from_str(jwks).map_err(|e| VerifierSetupError::BadJwks(e.to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .ok_or_else(|| VerifierSetupError::BadJwks("a key has no kid".into()))?;
            let alg = match (
                jwk.common.key_algorithm.and_then(key_algorithm),
                &jwk.algorithm,
            ) {
                (Some(a), _) => a,
                (None, AlgorithmParameters::EllipticCurve(_)) => Algorithm::ES256,
                (None, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
                (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                (None, _) => continue,
            };
            if !cfg.algorithms.contains(&alg)
                || matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_))
            {
                continue;
            }
            let decoding = DecodingKey::from_jwk(jwk).map_err(|e| VerifierSetupError::BadKey {
                kid: kid.clone(),
                why: e.to_string(),
            })?;
            let mut validation = Validation::new(alg);
            validation.set_issuer(&[&cfg.issuer]);
            validation.set_audience(&[&cfg.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            // exp and nbf are checked by `check_times` against the given time.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            keys.insert(
                kid,
                Key {
                    decoding,
                    validation,
                },
            );
        }
        if keys.is_empty() {
            return Err(VerifierSetupError::NoKeys);
        }
        Ok(Self {
            keys,
            leeway: cfg.leeway,
        })
    }

    /// Checks a bare token (no `Bearer ` prefix) at the system clock's time.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, Rejection> {
        self.verify_at(token, jsonwebtoken::get_current_timestamp())
    }

    /// Checks a bare token as of `now` (seconds since the epoch).
    pub fn verify_at(&self, token: &str, now: u64) -> Result<VerifiedToken, Rejection> {
        if token.is_empty() {
            return Err(Rejection::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::TooLarge);
        }
        if has_crit(token) {
            return Err(Rejection::CriticalHeader);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Malformed)?;
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(Rejection::WrongType);
        }
        let kid = header.kid.as_deref().ok_or(Rejection::UnknownKey)?;
        let key = self.keys.get(kid).ok_or(Rejection::UnknownKey)?;
        // The key decides the algorithm; a header naming another one is refused outright.
        if !key.validation.algorithms.contains(&header.alg) {
            return Err(Rejection::AlgorithmNotAllowed);
        }
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &key.validation)
                .map_err(|e| classify(e.kind()))?;
        let claims = data.claims;
        let exp = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or(Rejection::MissingClaim)?;
        check_times(exp, claims.get("nbf"), now, self.leeway)?;
        let text = |k: &str| {
            claims
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(Rejection::MissingClaim)
        };
        let sub = text("sub")?;
        let client_id = text("client_id")?;
        let scope = Scopes::parse(&text("scope")?).map_err(|_| Rejection::MissingClaim)?;
        // RFC 9068 §2.2 requires iat; jsonwebtoken does not check its presence.
        claims
            .get("iat")
            .and_then(Value::as_u64)
            .ok_or(Rejection::MissingClaim)?;
        if sub.is_empty() {
            return Err(Rejection::MissingClaim);
        }
        Ok(VerifiedToken {
            sub,
            client_id,
            scope,
            exp,
            claims,
        })
    }
}

/// RFC 7519 §4.1.4–5 with `leeway` seconds of skew: a token is expired once `now` is past
/// `exp + leeway`, and not yet valid while `now + leeway` is before `nbf`. An `nbf` that is not
/// a whole number of seconds is malformed.
fn check_times(exp: u64, nbf: Option<&Value>, now: u64, leeway: u64) -> Result<(), Rejection> {
    if exp.saturating_add(leeway) < now {
        return Err(Rejection::Expired);
    }
    if let Some(nbf) = nbf {
        let nbf = nbf.as_u64().ok_or(Rejection::Malformed)?;
        if nbf > now.saturating_add(leeway) {
            return Err(Rejection::NotYetValid);
        }
    }
    Ok(())
}

/// RFC 7515 §4.1.11: a recipient must refuse a JWS whose `crit` names an extension it does not
/// understand. Tollgate understands none, so any `crit` member is refused. A header that is not
/// base64url JSON has no `crit` to find: it is left to the header parser to call malformed.
fn has_crit(token: &str) -> bool {
    use base64::Engine;
    let Some(segment) = token.split('.').next() else {
        return false;
    };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(segment) else {
        return false;
    };
    serde_json::from_slice::<Map<String, Value>>(&bytes).is_ok_and(|h| h.contains_key("crit"))
}

fn classify(kind: &jsonwebtoken::errors::ErrorKind) -> Rejection {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::InvalidSignature => Rejection::BadSignature,
        K::ExpiredSignature => Rejection::Expired,
        K::ImmatureSignature => Rejection::NotYetValid,
        K::InvalidIssuer => Rejection::WrongIssuer,
        K::InvalidAudience => Rejection::WrongAudience,
        K::MissingRequiredClaim(_) => Rejection::MissingClaim,
        K::InvalidAlgorithm => Rejection::AlgorithmNotAllowed,
        _ => Rejection::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{SigningAlg, SigningKey, generate_pem};
    use serde_json::json;

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
        }
    }

    /// A token signed by `key` with `extra` members in its protected header.
    fn token(key: &SigningKey, extra: Value) -> String {
        use base64::Engine;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let mut header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            header[k] = v;
        }
        let now = jsonwebtoken::get_current_timestamp();
        let claims = json!({"iss": "https://i", "aud": "api", "sub": "u", "client_id": "c",
            "scope": "a", "iat": now, "exp": now + 60});
        let signing_input = format!("{}.{}", b64(&header), b64(&claims));
        let sig = jsonwebtoken::crypto::sign(
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
    fn forge(
        key: &jsonwebtoken::EncodingKey,
        alg: Algorithm,
        header: Value,
        claims: &Value,
    ) -> String {
        let mut h = json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"});
        for (k, v) in header.as_object().cloned().unwrap_or_default() {
            h[k] = v;
        }
        let input = format!(
            "{}.{}",
            b64(h.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg)
            .unwrap_or_else(|e| panic!("{e}"));
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
}
