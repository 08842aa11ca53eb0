//! Random secrets (client secrets, refresh tokens, ids) and the one-way hashes stored in their place.

use std::fmt;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// Prefix of every stored hash, so the algorithm can change without ambiguity.
const HASH_PREFIX: &str = "sha256:";

/// A credential held in memory. `Debug` never shows it, so it cannot slip into a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// 32 bytes from the operating system's CSPRNG, base64url: 256 bits of entropy.
    pub fn generate() -> Self {
        Self(random_token(32))
    }

    /// The plain value; call only where it is sent to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form stored in DynamoDB. The secrets Tollgate issues carry 256 bits of entropy, so a
    /// fast hash is safe; a slow password hash would add latency and protect nothing more.
    pub fn hash(&self) -> String {
        hash_str(&self.0)
    }

    /// Constant-time comparison against a stored hash.
    pub fn matches(&self, stored_hash: &str) -> bool {
        let ours = self.hash();
        ours.len() == stored_hash.len() && bool::from(ours.as_bytes().ct_eq(stored_hash.as_bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// `n` random bytes, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // The system RNG does not fail on Linux once the kernel is seeded; if it ever did, a fixed
    // value would be a security hole, so refuse to continue.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut bytes).expect("system random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a value, as stored: `sha256:<base64url>`.
pub fn hash_str(value: &str) -> String {
    let d = digest::digest(&digest::SHA256, value.as_bytes());
    format!("{HASH_PREFIX}{}", URL_SAFE_NO_PAD.encode(d.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_distinct_and_long() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
    }

    #[test]
    fn secret_matches_only_its_own_hash() {
        let s = Secret::new("correct horse battery staple");
        let stored = s.hash();
        assert!(stored.starts_with("sha256:"));
        assert!(s.matches(&stored));
        assert!(!Secret::new("correct horse battery stapler").matches(&stored));
        assert!(!s.matches(""));
        assert!(!s.matches("sha256:"));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
