//! Random secrets (client secrets, refresh tokens, ids) and the one-way hashes stored in their place.

use std::fmt;

use aws_lc_rs::{digest, hmac};
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

/// Prefix of a client-secret hash made with a pepper: `hmac-sha256:<pepper id>:<base64url>`.
const HMAC_PREFIX: &str = "hmac-sha256:";

/// Peppers shorter than this are refused: the pepper is what makes a stolen table useless.
pub const MIN_PEPPER_CHARS: usize = 32;

/// One pepper: an HMAC key kept outside DynamoDB (Secrets Manager or the environment), and the
/// short id stored in each hash so the right pepper is found after a rotation.
struct Pepper {
    id: String,
    key: hmac::Key,
}

impl Pepper {
    fn new(value: &Secret) -> Result<Self, PepperError> {
        if value.expose().chars().count() < MIN_PEPPER_CHARS {
            return Err(PepperError::TooShort);
        }
        let id_digest = digest::digest(
            &digest::SHA256,
            format!("tollgate-pepper-id:{}", value.expose()).as_bytes(),
        );
        let id = URL_SAFE_NO_PAD.encode(id_digest.as_ref())[..8].to_owned();
        Ok(Self {
            id,
            key: hmac::Key::new(hmac::HMAC_SHA256, value.expose().as_bytes()),
        })
    }
    fn hash(&self, secret: &Secret) -> String {
        let tag = hmac::sign(&self.key, secret.expose().as_bytes());
        format!(
            "{HMAC_PREFIX}{}:{}",
            self.id,
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PepperError {
    #[error("a pepper must be at least {MIN_PEPPER_CHARS} characters")]
    TooShort,
}

/// Hashes client secrets for storage and checks them. With a pepper, new hashes are
/// `HMAC-SHA256(pepper, secret)`, which a stolen table alone cannot crack offline however weak
/// the secret; without one they are plain SHA-256 (safe only for generated secrets). Both kinds
/// verify, so records written before the pepper keep working.
pub struct SecretHasher {
    current: Option<Pepper>,
    /// Older peppers, kept only to verify hashes made before a rotation.
    previous: Vec<Pepper>,
    /// See [`SecretHasher::unmatchable`]; made once, with the hasher.
    unmatchable: String,
}

impl Default for SecretHasher {
    /// No pepper: plain SHA-256 hashes.
    fn default() -> Self {
        Self::with(None, Vec::new())
    }
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretHasher")
            .field("current", &self.current.as_ref().map(|p| &p.id))
            .field(
                "previous",
                &self.previous.iter().map(|p| &p.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SecretHasher {
    pub fn new(current: Option<&Secret>, previous: &[Secret]) -> Result<Self, PepperError> {
        Ok(Self::with(
            current.map(Pepper::new).transpose()?,
            previous.iter().map(Pepper::new).collect::<Result<_, _>>()?,
        ))
    }

    fn with(current: Option<Pepper>, previous: Vec<Pepper>) -> Self {
        let zeros = URL_SAFE_NO_PAD.encode([0u8; 32]);
        let unmatchable = match &current {
            Some(p) => format!("{HMAC_PREFIX}{}:{zeros}", p.id),
            None => format!("{HASH_PREFIX}{zeros}"),
        };
        Self {
            current,
            previous,
            unmatchable,
        }
    }

    /// The id of the pepper new hashes use, if any.
    pub fn current_pepper_id(&self) -> Option<&str> {
        self.current.as_ref().map(|p| p.id.as_str())
    }

    /// A stored hash of the kind new hashes are (peppered when there is a pepper) that no secret
    /// matches: checked in place of a missing client's or previous secret's hash, so refusing an
    /// unknown client costs the same hash computation as refusing a wrong secret.
    pub fn unmatchable(&self) -> &str {
        &self.unmatchable
    }

    /// The form a client secret is stored in.
    pub fn hash(&self, secret: &Secret) -> String {
        match &self.current {
            Some(p) => p.hash(secret),
            None => secret.hash(),
        }
    }

    /// A short fingerprint of a presented secret (16 characters of a SHA-256 over its stored
    /// form): the same secret always gives the same one, and nobody without the secret can
    /// produce it. A client's per-minute count is kept under it (`crate::rate_limit`), so a
    /// caller with a wrong secret counts somewhere else. It reveals nothing usable: 64 bits of
    /// a hash of a hash that is itself peppered when there is a pepper.
    pub fn fingerprint(&self, secret: &Secret) -> String {
        let h = hash_str(&format!("tollgate rate-limit v1:{}", self.hash(secret)));
        h.get(HASH_PREFIX.len()..HASH_PREFIX.len() + 16)
            .unwrap_or_default()
            .to_owned()
    }

    /// Constant-time check of `secret` against a stored `sha256:` or `hmac-sha256:` hash. A hash
    /// made with a pepper this deployment does not hold never matches.
    pub fn verify(&self, secret: &Secret, stored: &str) -> bool {
        let Some(rest) = stored.strip_prefix(HMAC_PREFIX) else {
            return secret.matches(stored);
        };
        let id = rest.split(':').next().unwrap_or_default();
        let pepper = self
            .current
            .iter()
            .chain(&self.previous)
            .find(|p| p.id == id);
        match pepper {
            Some(p) => constant_time_eq(&p.hash(secret), stored),
            None => {
                // Same work as a real check (with the current pepper, when there is one), so an
                // unknown pepper is not faster to refuse.
                let _ = constant_time_eq(&self.hash(secret), stored);
                false
            }
        }
    }
}

/// A rough lower bound of a supplied secret's entropy in bits: its length times log2 of the
/// alphabet its character classes span (lower, upper, digits, other). Repeating one character
/// over and over counts as a two-letter alphabet: the alphabet is at most twice the number
/// of distinct characters used.
pub fn estimated_entropy_bits(secret: &str) -> f64 {
    let chars: Vec<char> = secret.chars().collect();
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let mut pool = 0u32;
    if chars.iter().any(char::is_ascii_lowercase) {
        pool += 26;
    }
    if chars.iter().any(char::is_ascii_uppercase) {
        pool += 26;
    }
    if chars.iter().any(char::is_ascii_digit) {
        pool += 10;
    }
    if chars.iter().any(|c| !c.is_ascii_alphanumeric()) {
        pool += 33;
    }
    let pool = pool.min(
        u32::try_from(distinct.len())
            .unwrap_or(u32::MAX)
            .saturating_mul(2),
    );
    if pool < 2 {
        return 0.0;
    }
    chars.len() as f64 * f64::from(pool).log2()
}

/// Supplied client secrets need this many estimated bits when stored with a pepper (an
/// Apigee-style 16-character key of letters and digits has about 95) ...
pub const MIN_SECRET_BITS_WITH_PEPPER: f64 = 64.0;
/// ... and this many without one: a plain SHA-256 is only safe for values nobody can guess.
pub const MIN_SECRET_BITS_WITHOUT_PEPPER: f64 = 128.0;

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
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
    fn a_fingerprint_is_stable_per_secret_and_differs_between_secrets_and_peppers() {
        let plain = SecretHasher::default();
        let pepper = Secret::new("a-pepper-long-enough-for-the-rules-0123456789");
        let peppered = SecretHasher::new(Some(&pepper), &[]).unwrap();
        let (a, b) = (Secret::new("secret-a"), Secret::new("secret-b"));
        assert_eq!(plain.fingerprint(&a), plain.fingerprint(&a));
        assert_eq!(plain.fingerprint(&a).len(), 16);
        assert_ne!(plain.fingerprint(&a), plain.fingerprint(&b));
        assert_ne!(plain.fingerprint(&a), peppered.fingerprint(&a));
        assert!(!plain.fingerprint(&a).contains("secret"));
    }

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

    fn pepper(c: char) -> Secret {
        Secret::new(c.to_string().repeat(40))
    }

    #[test]
    fn the_unmatchable_hash_is_of_the_kind_new_hashes_are_and_matches_nothing() {
        let plain = SecretHasher::default();
        let peppered = SecretHasher::new(Some(&pepper('a')), &[pepper('b')]).unwrap();
        for hasher in [&plain, &peppered] {
            let s = Secret::generate();
            let real = hasher.hash(&s);
            let unmatchable = hasher.unmatchable();
            // Same scheme and pepper id, so verifying against it runs the same computation.
            let scheme = |h: &str| h[..h.rfind(':').unwrap()].to_owned();
            assert_eq!(scheme(unmatchable), scheme(&real));
            assert_eq!(unmatchable.len(), real.len());
            assert!(hasher.verify(&s, &real));
            assert!(!hasher.verify(&s, unmatchable));
            assert!(!hasher.verify(&Secret::new(String::new()), unmatchable));
        }
        assert!(peppered.unmatchable().starts_with(HMAC_PREFIX));
    }

    #[test]
    fn peppered_hashes_verify_and_old_sha256_hashes_still_do() {
        let secret = Secret::new("apigeeStyleKey16");
        let old = secret.hash();
        let hasher = SecretHasher::new(Some(&pepper('a')), &[]).unwrap();
        let stored = hasher.hash(&secret);
        assert!(stored.starts_with("hmac-sha256:"), "{stored}");
        assert!(!stored.contains("apigee"));
        assert_ne!(stored, old);
        assert!(hasher.verify(&secret, &stored));
        assert!(hasher.verify(&secret, &old), "sha256: hashes keep working");
        assert!(!hasher.verify(&Secret::new("apigeeStyleKey17"), &stored));
        assert!(!hasher.verify(&secret, "hmac-sha256:unknown:xyz"));
        // Without the pepper, a peppered hash cannot be checked (nor cracked).
        assert!(!SecretHasher::default().verify(&secret, &stored));
    }

    #[test]
    fn a_rotated_pepper_keeps_verifying_old_hashes() {
        let secret = Secret::new("s3cret-value-xyz");
        let before = SecretHasher::new(Some(&pepper('a')), &[]).unwrap();
        let stored_before = before.hash(&secret);
        let after = SecretHasher::new(Some(&pepper('b')), &[pepper('a')]).unwrap();
        assert!(after.verify(&secret, &stored_before));
        let stored_after = after.hash(&secret);
        assert_ne!(stored_after, stored_before);
        assert!(after.verify(&secret, &stored_after));
        let dropped = SecretHasher::new(Some(&pepper('b')), &[]).unwrap();
        assert!(!dropped.verify(&secret, &stored_before));
        assert!(SecretHasher::new(Some(&Secret::new("short")), &[]).is_err());
        assert!(!format!("{after:?}").contains("aaaa"));
    }

    #[test]
    fn entropy_estimate_accepts_apigee_keys_and_refuses_weak_ones() {
        // Apigee consumer secrets: 16 or 32 letters and digits.
        assert!(estimated_entropy_bits("Xk3hG9aQ2mZp7LwR") >= MIN_SECRET_BITS_WITH_PEPPER);
        assert!(
            estimated_entropy_bits("a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6")
                >= MIN_SECRET_BITS_WITHOUT_PEPPER
        );
        for weak in [
            "password",
            "hunter2",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "1234567890",
        ] {
            assert!(
                estimated_entropy_bits(weak) < MIN_SECRET_BITS_WITH_PEPPER,
                "{weak}"
            );
        }
        assert!(
            estimated_entropy_bits(Secret::generate().expose()) >= MIN_SECRET_BITS_WITHOUT_PEPPER
        );
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
