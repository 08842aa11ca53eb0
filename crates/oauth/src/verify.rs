//! Verifying access tokens as a resource server does (RFC 9068 §4), with public keys only.
//! Keys and validation settings are built once; each verification pins the algorithm to the one
//! the key was published for, so a token cannot choose how it is checked.

use std::collections::HashMap;
use std::fmt;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RsaPublicKeyComponents,
};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jws::{Claims, Header, Member, b64};
use serde_json::{Map, Value};

use crate::keys::low_s::is_low_s;
use crate::scope::Scopes;

mod claims;
mod jws;

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
    /// An ES256 signature whose `s` is in the high half: the twin of a valid token.
    HighS,
    Expired,
    NotYetValid,
    /// `iat` more than the leeway ahead of now.
    IssuedInFuture,
    /// `exp − iat` above the largest lifetime accepted.
    LifetimeTooLong,
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
            Self::HighS => "signature not in low-S form",
            Self::Expired => "token expired",
            Self::NotYetValid => "token not yet valid",
            Self::IssuedInFuture => "token issued in the future",
            Self::LifetimeTooLong => "token lifetime too long",
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
    /// The token's `iss`: the configured issuer.
    pub iss: String,
    pub sub: String,
    pub client_id: String,
    pub scope: Scopes,
    pub exp: u64,
    pub nbf: Option<u64>,
    pub iat: u64,
    /// The token's id, when it is a text.
    pub jti: Option<String>,
    /// The session (refresh-token family) the token was issued in; none for `client_credentials`.
    pub sid: Option<String>,
    /// Every claim Tollgate does not set itself (not in `RESERVED_CLAIMS`): the user details
    /// the token function let through.
    pub details: Map<String, Value>,
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

/// The largest `exp − iat` a verifier accepts unless told otherwise: the longest access-token
/// lifetime Tollgate issues (1 day).
pub const DEFAULT_MAX_LIFETIME: u64 = crate::access_token::MAX_ACCESS_TOKEN_TTL;

/// What a valid token must look like.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub issuer: String,
    pub audience: String,
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: u64,
    pub algorithms: Vec<Algorithm>,
    /// The largest `exp − iat` accepted, in seconds ([`DEFAULT_MAX_LIFETIME`] for Tollgate's
    /// own tokens).
    pub max_lifetime: u64,
}

pub fn parse_algorithm(s: &str) -> Result<Algorithm, VerifierSetupError> {
    match s.trim() {
        "ES256" => Ok(Algorithm::ES256),
        "RS256" => Ok(Algorithm::RS256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(VerifierSetupError::BadAlgorithm(other.to_owned())),
    }
}

/// A published key, parsed once at cold start, and the one algorithm it verifies.
struct Key {
    alg: Algorithm,
    public: ParsedPublicKey,
}

pub struct AccessTokenVerifier {
    keys: HashMap<String, Key>,
    issuer: String,
    audience: String,
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    leeway: u64,
    max_lifetime: u64,
}

impl AccessTokenVerifier {
    /// The audience every token it accepts names.
    pub fn audience(&self) -> &str {
        &self.audience
    }
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

/// The JWK's public key, parsed for `alg`: an uncompressed P-256 point for ES256, the modulus
/// and exponent for RS256 (2048 to 8192 bits), 32 bytes of Ed25519 for EdDSA.
fn parse_key(jwk: &Jwk, alg: Algorithm) -> Result<ParsedPublicKey, String> {
    let bytes = |field: &str, v: &str| b64(v).ok_or_else(|| format!("{field} is not base64url"));
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => {
            if p.curve != EllipticCurve::P256 {
                return Err("ES256 needs a P-256 key".into());
            }
            let mut point = vec![4u8];
            point.extend(bytes("x", &p.x)?);
            point.extend(bytes("y", &p.y)?);
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(|e| e.to_string())
        }
        (AlgorithmParameters::RSA(p), Algorithm::RS256) => RsaPublicKeyComponents {
            n: bytes("n", &p.n)?,
            e: bytes("e", &p.e)?,
        }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .map_err(|e| e.to_string()),
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            if p.curve != EllipticCurve::Ed25519 {
                return Err("EdDSA needs an Ed25519 key".into());
            }
            ParsedPublicKey::new(&ED25519, bytes("x", &p.x)?).map_err(|e| e.to_string())
        }
        _ => Err(format!("the key type does not fit {alg:?}")),
    }
}

impl AccessTokenVerifier {
    /// Parses each key of a JWKS once. Every key needs a `kid` and must be a public
    /// verification key (symmetric, private or encryption keys stop the cold start, naming the
    /// key); its algorithm comes from the key's `alg`, or else its type. Keys of algorithms
    /// outside the allow-list are skipped, never trusted.
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
            let public = parse_key(jwk, alg).map_err(|why| VerifierSetupError::BadKey {
                kid: kid.clone(),
                why,
            })?;
            keys.insert(kid, Key { alg, public });
        }
        if keys.is_empty() {
            return Err(VerifierSetupError::NoKeys);
        }
        Ok(Self {
            keys,
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            leeway: cfg.leeway,
            max_lifetime: cfg.max_lifetime,
        })
    }

    /// Checks a bare token (no `Bearer ` prefix) at the system clock's time.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, Rejection> {
        self.verify_at(token, jsonwebtoken::get_current_timestamp())
    }

    /// Checks a bare token as of `now` (seconds since the epoch): the header, then the
    /// signature with the key its `kid` names (an ES256 one in low-S form only), then the
    /// claims. Each part is decoded and read once; a header or claims set naming a member twice
    /// is malformed.
    pub fn verify_at(&self, token: &str, now: u64) -> Result<VerifiedToken, Rejection> {
        if token.is_empty() {
            return Err(Rejection::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::TooLarge);
        }
        let (message, signature) = token.rsplit_once('.').ok_or(Rejection::Malformed)?;
        let (header, payload) = message.rsplit_once('.').ok_or(Rejection::Malformed)?;
        let header = b64(header).ok_or(Rejection::Malformed)?;
        let key =
            self.key_for(&serde_json::from_slice(&header).map_err(|_| Rejection::Malformed)?)?;
        let signature = b64(signature).ok_or(Rejection::Malformed)?;
        key.public
            .verify_sig(message.as_bytes(), &signature)
            .map_err(|_| Rejection::BadSignature)?;
        // (r, n − s) verifies as well as (r, s): only one of the two spellings is the token.
        if key.alg == Algorithm::ES256 && !is_low_s(&signature) {
            return Err(Rejection::HighS);
        }
        let payload = b64(payload).ok_or(Rejection::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| Rejection::Malformed)?;
        self.check_claims(claims, now)
    }

    /// The header's checks, in the order the reasons are given: `crit`, a readable `alg`,
    /// `typ`, a known `kid`, and the `alg` that key was published for.
    fn key_for(&self, h: &Header<'_>) -> Result<&Key, Rejection> {
        if h.crit {
            return Err(Rejection::CriticalHeader);
        }
        let alg = match &h.alg {
            Some(Member::Text(a)) => a.parse::<Algorithm>().map_err(|_| Rejection::Malformed)?,
            _ => return Err(Rejection::Malformed),
        };
        match &h.typ {
            Some(Member::Text(t))
                if t.eq_ignore_ascii_case("at+jwt")
                    || t.eq_ignore_ascii_case("application/at+jwt") => {}
            Some(Member::Text(_) | Member::Null) | None => return Err(Rejection::WrongType),
            Some(_) => return Err(Rejection::Malformed),
        }
        let key = match &h.kid {
            Some(Member::Text(kid)) => self.keys.get(kid.as_ref()).ok_or(Rejection::UnknownKey)?,
            Some(Member::Null) | None => return Err(Rejection::UnknownKey),
            Some(_) => return Err(Rejection::Malformed),
        };
        // The key decides the algorithm; a header naming another one is refused outright.
        if key.alg != alg {
            return Err(Rejection::AlgorithmNotAllowed);
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests;
