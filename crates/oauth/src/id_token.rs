//! OpenID Connect ID tokens (OpenID Connect Core §2, §3.1.3.6): signed with the access tokens'
//! key, header `typ: JWT` (so the authorizer, which wants `at+jwt`, never takes one for an
//! access token), for the client (`aud`), with the sign-in's `auth_time`, the request's `nonce`,
//! the session (`sid`) and `at_hash`, the left half of the access token's hash. And the check of
//! an `id_token_hint` at RP-initiated logout: our signature and issuer, its expiry aside.

use std::collections::HashMap;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::access_token::{AccessTokenIssuer, SignError};
use crate::keys::{SigningAlg, low_s};

/// What goes into one ID token.
#[derive(Debug, Clone)]
pub struct IdTokenClaims<'a> {
    pub sub: &'a str,
    /// The client the token is for: its `aud`.
    pub client_id: &'a str,
    pub sid: &'a str,
    pub nonce: Option<&'a str>,
    /// The access token issued beside it (for `at_hash`).
    pub access_token: &'a str,
    /// The allowed user details (the same as the access token's).
    pub details: &'a Map<String, Value>,
    pub auth_time: u64,
    pub now: u64,
    pub ttl: u64,
}

/// `at_hash` (OpenID Connect Core §3.1.3.6): the left half of the access token's hash, with the
/// hash of the signing algorithm (SHA-256 for ES256 and RS256, SHA-512 for EdDSA), base64url.
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let d = match alg {
        SigningAlg::EdDsa => digest::digest(&digest::SHA512, access_token.as_bytes()),
        _ => digest::digest(&digest::SHA256, access_token.as_bytes()),
    };
    let bytes = d.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

impl AccessTokenIssuer {
    /// An ID token for `c`, signed with the access tokens' key.
    pub fn issue_id_token(&self, c: &IdTokenClaims<'_>) -> Result<String, SignError> {
        let mut header = Header::new(self.key().alg.algorithm());
        header.typ = Some("JWT".to_owned());
        header.kid = Some(self.key().kid.clone());
        let mut claims = c.details.clone();
        let mut set = |k: &str, v: Value| {
            claims.insert(k.to_owned(), v);
        };
        set("iss", self.issuer.clone().into());
        set("sub", c.sub.into());
        set("aud", c.client_id.into());
        set("iat", c.now.into());
        set("exp", (c.now + c.ttl).into());
        set("auth_time", c.auth_time.into());
        set("sid", c.sid.into());
        set("at_hash", at_hash(self.key().alg, c.access_token).into());
        if let Some(nonce) = c.nonce {
            set("nonce", nonce.into());
        }
        low_s::encode(&header, &claims, self.key().encoding_key()).map_err(SignError::new)
    }
}

/// What an `id_token_hint` says, once its signature and issuer hold.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdTokenHint {
    pub sub: String,
    /// The client it was issued to (`aud`).
    #[serde(rename = "aud")]
    pub client_id: String,
    pub sid: String,
}

/// Checks `id_token_hint`s against the published keys: our signature, our issuer, `typ: JWT`;
/// not their expiry (OpenID Connect RP-Initiated Logout §2: a hint is accepted after it
/// expired, the session it names is what counts).
pub struct HintVerifier {
    issuer: String,
    keys: HashMap<String, (DecodingKey, Algorithm)>,
}

impl std::fmt::Debug for HintVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HintVerifier")
            .field("issuer", &self.issuer)
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl HintVerifier {
    /// From the published JWKS (every key with a `kid` and an algorithm).
    pub fn new(jwks: &str, issuer: &str) -> Result<Self, String> {
        let set: JwkSet = serde_json::from_str(jwks).map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Some(alg)) = (&jwk.common.key_id, jwk.common.key_algorithm) else {
                continue;
            };
            let alg: Algorithm = alg
                .to_string()
                .parse()
                .map_err(|_| "unknown key algorithm")?;
            let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
            keys.insert(kid.clone(), (key, alg));
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            keys,
        })
    }

    /// The hint's claims, or `None` when it is not an ID token Tollgate signed.
    pub fn verify(&self, hint: &str) -> Option<IdTokenHint> {
        if hint.len() > 8 * 1024 {
            return None;
        }
        let header = jsonwebtoken::decode_header(hint).ok()?;
        if header.typ.as_deref() != Some("JWT") {
            return None;
        }
        let (key, alg) = self.keys.get(header.kid.as_deref()?)?;
        if header.alg != *alg {
            return None;
        }
        let mut v = Validation::new(*alg);
        v.validate_exp = false;
        v.validate_aud = false;
        v.set_required_spec_claims(&["iss", "sub", "aud"]);
        v.set_issuer(&[&self.issuer]);
        jsonwebtoken::decode::<IdTokenHint>(hint, key, &v)
            .ok()
            .map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests;
