//! Signing keys: loading a PEM once at cold start, publishing public keys as a JWKS (RFC 7517),
//! and generating new keys for the admin CLI.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};

/// The signature algorithms Tollgate issues tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlg {
    Es256,
    Rs256,
    EdDsa,
}

impl SigningAlg {
    pub fn algorithm(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }
}

impl FromStr for SigningAlg {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        match s {
            "ES256" => Ok(Self::Es256),
            "RS256" => Ok(Self::Rs256),
            "EdDSA" => Ok(Self::EdDsa),
            _ => Err(KeyError::UnsupportedAlg(s.to_owned())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("unsupported signing algorithm {0:?} (use ES256, RS256 or EdDSA)")]
    UnsupportedAlg(String),
    #[error("signing key is not a PKCS#8 PEM private key for {0}")]
    BadPem(&'static str),
    #[error("failed to generate a key")]
    Generate,
    #[error("additional JWKS is not a valid JWK set: {0}")]
    BadJwks(String),
}

/// The private key the token function signs with, and its public half as a JWK.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    encoding: EncodingKey,
    public: Jwk,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads a PKCS#8 PEM private key. Without an explicit `kid`, the key's RFC 7638 thumbprint
    /// names it, so the same key always gets the same `kid`.
    pub fn from_pem(pem: &str, alg: SigningAlg, kid: Option<String>) -> Result<Self, KeyError> {
        let bad = || KeyError::BadPem(alg.as_str());
        let encoding = match alg {
            SigningAlg::Es256 => EncodingKey::from_ec_pem(pem.as_bytes()),
            SigningAlg::Rs256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
            SigningAlg::EdDsa => EncodingKey::from_ed_pem(pem.as_bytes()),
        }
        .map_err(|_| bad())?;
        let mut public = Jwk::from_encoding_key(&encoding, alg.algorithm()).map_err(|_| bad())?;
        let kid = match kid {
            Some(k) if !k.is_empty() => k,
            _ => public
                .thumbprint(ThumbprintHash::SHA256)
                .map_err(|_| bad())?,
        };
        public.common.key_id = Some(kid.clone());
        public.common.public_key_use = Some(PublicKeyUse::Signature);
        public.common.key_algorithm = Some(match alg {
            SigningAlg::Es256 => KeyAlgorithm::ES256,
            SigningAlg::Rs256 => KeyAlgorithm::RS256,
            SigningAlg::EdDsa => KeyAlgorithm::EdDSA,
        });
        // Sign once now, so that a key the backend cannot use fails at cold start, not at the
        // first user's request.
        let header = jsonwebtoken::Header::new(alg.algorithm());
        jsonwebtoken::encode(&header, &serde_json::json!({}), &encoding).map_err(|_| bad())?;
        Ok(Self {
            kid,
            alg,
            encoding,
            public,
        })
    }

    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn public_jwk(&self) -> &Jwk {
        &self.public
    }
}

/// The keys the token function publishes: the signing key's public half first, then any older
/// public keys still needed to verify unexpired tokens (rotation without downtime).
pub fn published_jwks(signing: &SigningKey, additional: Option<&str>) -> Result<JwkSet, KeyError> {
    let mut keys = vec![signing.public_jwk().clone()];
    if let Some(raw) = additional.filter(|s| !s.trim().is_empty()) {
        let extra: JwkSet =
            serde_json::from_str(raw).map_err(|e| KeyError::BadJwks(e.to_string()))?;
        for k in extra.keys {
            if k.common.key_id.is_none() {
                return Err(KeyError::BadJwks("every key needs a kid".into()));
            }
            if k.common.key_id != signing.public_jwk().common.key_id {
                keys.push(k);
            }
        }
    }
    Ok(JwkSet { keys })
}

/// Generates a new private key as PKCS#8 PEM.
pub fn generate_pem(alg: SigningAlg) -> Result<String, KeyError> {
    let der: Vec<u8> = match alg {
        SigningAlg::Es256 => {
            let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| KeyError::Generate)?;
            kp.to_pkcs8v1()
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec()
        }
        SigningAlg::Rs256 => {
            let kp = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| KeyError::Generate)?;
            AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp)
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec()
        }
        SigningAlg::EdDsa => {
            let kp = Ed25519KeyPair::generate().map_err(|_| KeyError::Generate)?;
            let _ = kp.public_key();
            kp.to_pkcs8v1()
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec()
        }
    };
    Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", der)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_load_and_publish_a_public_jwk() {
        for alg in [SigningAlg::Es256, SigningAlg::Rs256, SigningAlg::EdDsa] {
            let pem = generate_pem(alg).unwrap_or_default();
            let key = SigningKey::from_pem(&pem, alg, None);
            assert!(key.is_ok(), "{alg:?}: {:?}", key.err());
            let Ok(key) = key else { continue };
            let jwk = serde_json::to_value(key.public_jwk()).unwrap_or_default();
            assert_eq!(jwk["kid"], key.kid.as_str());
            assert_eq!(jwk["alg"], alg.as_str());
            assert!(
                jwk.get("d").is_none(),
                "private part must never be published"
            );
        }
    }

    #[test]
    fn same_key_gets_the_same_kid() {
        let pem = generate_pem(SigningAlg::Es256).unwrap_or_default();
        let a = SigningKey::from_pem(&pem, SigningAlg::Es256, None)
            .map(|k| k.kid)
            .ok();
        let b = SigningKey::from_pem(&pem, SigningAlg::Es256, None)
            .map(|k| k.kid)
            .ok();
        assert!(a.is_some());
        assert_eq!(a, b);
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_refused() {
        let pem = generate_pem(SigningAlg::Es256).unwrap_or_default();
        assert!(SigningKey::from_pem(&pem, SigningAlg::Rs256, None).is_err());
        assert!(SigningKey::from_pem("not a pem", SigningAlg::Es256, None).is_err());
    }

    #[test]
    fn additional_keys_are_published_after_the_signing_key() {
        let old = SigningKey::from_pem(
            &generate_pem(SigningAlg::Es256).unwrap_or_default(),
            SigningAlg::Es256,
            Some("old".into()),
        );
        let new = SigningKey::from_pem(
            &generate_pem(SigningAlg::Es256).unwrap_or_default(),
            SigningAlg::Es256,
            Some("new".into()),
        );
        let (Ok(old), Ok(new)) = (old, new) else {
            panic!("keys")
        };
        let extra = serde_json::to_string(&JwkSet {
            keys: vec![old.public_jwk().clone()],
        })
        .unwrap_or_default();
        let set = published_jwks(&new, Some(&extra)).ok();
        let kids: Vec<_> = set
            .iter()
            .flat_map(|s| s.keys.iter())
            .filter_map(|k| k.common.key_id.clone())
            .collect();
        assert_eq!(kids, ["new", "old"]);
    }
}
