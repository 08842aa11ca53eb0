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

pub mod low_s;

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

/// Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Checks every key of a JWK set (as JSON) is a public signature-verification key: `kty` EC, RSA
/// or OKP, no private or symmetric members, `use` (when present) `sig`, and `key_ops` (when
/// present) including `verify`. The error names the offending key by `kid` (or position).
pub fn check_public_jwks(raw: &str) -> Result<(), String> {
    let set: serde_json::Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    let keys = set
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("no \"keys\" array")?;
    for (i, key) in keys.iter().enumerate() {
        let name = key
            .get("kid")
            .and_then(serde_json::Value::as_str)
            .map_or_else(|| format!("#{i}"), |k| format!("{k:?}"));
        check_public_jwk(key).map_err(|why| format!("key {name}: {why}"))?;
    }
    Ok(())
}

fn check_public_jwk(key: &serde_json::Value) -> Result<(), String> {
    let obj = key.as_object().ok_or("not a JSON object")?;
    match obj.get("kty").and_then(serde_json::Value::as_str) {
        Some("EC" | "RSA" | "OKP") => {}
        other => return Err(format!("kty {other:?} is not EC, RSA or OKP")),
    }
    if let Some(m) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
        return Err(format!(
            "has the private member {m:?}; publish public keys only"
        ));
    }
    match obj.get("use") {
        None => {}
        Some(u) if u == "sig" => {}
        Some(u) => return Err(format!("use {u} is not \"sig\"")),
    }
    if let Some(ops) = obj.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o == "verify"));
        if !verify {
            return Err(format!("key_ops {ops} does not include \"verify\""));
        }
    }
    Ok(())
}

/// The keys the token function publishes: the signing key's public half first, then any older
/// public keys still needed to verify unexpired tokens (rotation without downtime).
pub fn published_jwks(signing: &SigningKey, additional: Option<&str>) -> Result<JwkSet, KeyError> {
    let mut keys = vec![signing.public_jwk().clone()];
    if let Some(raw) = additional.filter(|s| !s.trim().is_empty()) {
        check_public_jwks(raw).map_err(KeyError::BadJwks)?;
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

    fn signing() -> SigningKey {
        SigningKey::from_pem(
            &generate_pem(SigningAlg::Es256).unwrap_or_default(),
            SigningAlg::Es256,
            Some("new".into()),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn additional_symmetric_private_or_encryption_keys_are_refused_by_name() {
        let ec = r#""kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0""#;
        for (bad, why) in [
            (
                r#"{"kty":"oct","kid":"sym","k":"c2VjcmV0"}"#.to_owned(),
                "kty",
            ),
            (
                format!(
                    r#"{{{ec},"kid":"priv","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}}"#
                ),
                "private",
            ),
            (format!(r#"{{{ec},"kid":"enc","use":"enc"}}"#), "use"),
            (
                format!(r#"{{{ec},"kid":"ops","key_ops":["encrypt"]}}"#),
                "key_ops",
            ),
        ] {
            let raw = format!(r#"{{"keys":[{bad}]}}"#);
            let msg = published_jwks(&signing(), Some(&raw))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            let kid =
                serde_json::from_str::<serde_json::Value>(&bad).unwrap_or_default()["kid"].clone();
            assert!(
                msg.contains(&format!("key {kid}")) && msg.contains(why),
                "{bad}: {msg}"
            );
            assert!(!msg.contains("c2VjcmV0"), "a secret never reaches an error");
        }
        let good = format!(r#"{{"keys":[{{{ec},"kid":"old","use":"sig","key_ops":["verify"]}}]}}"#);
        assert!(published_jwks(&signing(), Some(&good)).is_ok());
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
