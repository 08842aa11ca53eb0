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

impl Rejection {
    /// The reason as logged and as the `Reason` metric dimension.
    pub fn as_str(self) -> &'static str {
        match self {
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
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
mod tests;
