//! Proof Key for Code Exchange (RFC 7636), `S256` only (OAuth 2.1, RFC 9700 §2.1.1): the
//! authorization request carries `BASE64URL(SHA-256(code_verifier))`, and only the holder of the
//! verifier can exchange the code. `plain` is refused, and so is a request that names no method
//! (RFC 7636 §4.3 would read it as `plain`).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::error::{Description, OAuthError};

/// The one method Tollgate accepts.
pub const S256: &str = "S256";

/// A verifier's length bounds (RFC 7636 §4.1).
pub const MIN_VERIFIER: usize = 43;
pub const MAX_VERIFIER: usize = 128;

/// An `S256` code challenge: 43 base64url characters, the encoding of a SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

/// Why an authorization request's challenge is refused: `invalid_request` with this text
/// (OAuth 2.1 §4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeError {
    Missing,
    /// No `code_challenge_method`, `plain`, or anything but `S256`.
    NotS256,
    Malformed,
}

impl ChallengeError {
    pub fn to_oauth(self) -> OAuthError {
        OAuthError::invalid_request(match self {
            Self::Missing => Description::fixed("code_challenge is required (PKCE, S256)"),
            Self::NotS256 => Description::fixed("code_challenge_method must be S256"),
            Self::Malformed => Description::fixed(
                "code_challenge must be the 43-character base64url SHA-256 of the verifier",
            ),
        })
    }
}

impl CodeChallenge {
    /// The challenge of an authorization request: `challenge` with `method` `S256`.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, ChallengeError> {
        let challenge = challenge.ok_or(ChallengeError::Missing)?;
        if method != Some(S256) {
            return Err(ChallengeError::NotS256);
        }
        let well_formed = challenge.len() == 43
            && challenge.bytes().all(is_base64url)
            && URL_SAFE_NO_PAD
                .decode(challenge)
                .is_ok_and(|d| d.len() == 32);
        if !well_formed {
            return Err(ChallengeError::Malformed);
        }
        Ok(Self(challenge.to_owned()))
    }

    /// A challenge as stored (written by [`CodeChallenge::parse`] when the code was made).
    pub fn stored(challenge: String) -> Self {
        Self(challenge)
    }

    /// The challenge of `verifier` (what a client computes).
    pub fn of(verifier: &str) -> Self {
        let d = digest::digest(&digest::SHA256, verifier.as_bytes());
        Self(URL_SAFE_NO_PAD.encode(d.as_ref()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` is well formed (RFC 7636 §4.1: 43 to 128 unreserved characters) and
    /// hashes to this challenge, compared in constant time.
    pub fn verified_by(&self, verifier: &str) -> bool {
        if !is_verifier(verifier) {
            return false;
        }
        let computed = Self::of(verifier);
        computed.0.len() == self.0.len()
            && bool::from(computed.0.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

/// RFC 7636 §4.1: `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`, 43 to 128 of them.
pub fn is_verifier(v: &str) -> bool {
    (MIN_VERIFIER..=MAX_VERIFIER).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_example_verifies() {
        assert_eq!(CodeChallenge::of(VERIFIER).as_str(), CHALLENGE);
        let c = CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap();
        assert!(c.verified_by(VERIFIER));
    }

    #[test]
    fn a_wrong_short_long_or_odd_verifier_fails() {
        let c = CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap();
        assert!(!c.verified_by("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"));
        assert!(!c.verified_by(""));
        assert!(!c.verified_by(CHALLENGE));
        // The challenge itself as a "plain" verifier does not verify.
        let plain = CodeChallenge::stored(VERIFIER.into());
        assert!(!plain.verified_by(VERIFIER));
        let long = "a".repeat(129);
        assert!(!CodeChallenge::of(&long).verified_by(&long));
        let short = "a".repeat(42);
        assert!(!CodeChallenge::of(&short).verified_by(&short));
        let odd = format!("{}+", "a".repeat(43));
        assert!(!CodeChallenge::of(&odd).verified_by(&odd));
        let max = "~".repeat(128);
        assert!(CodeChallenge::of(&max).verified_by(&max));
    }

    #[test]
    fn only_s256_with_a_well_formed_challenge_is_accepted() {
        assert_eq!(
            CodeChallenge::parse(None, Some("S256")),
            Err(ChallengeError::Missing)
        );
        for method in [None, Some("plain"), Some("s256"), Some("S512"), Some("")] {
            assert_eq!(
                CodeChallenge::parse(Some(CHALLENGE), method),
                Err(ChallengeError::NotS256),
                "{method:?}"
            );
        }
        for bad in [
            &CHALLENGE[..42],
            &format!("{CHALLENGE}A"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            // 43 characters whose last one carries bits a 32-byte value cannot have.
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN",
        ] {
            assert_eq!(
                CodeChallenge::parse(Some(bad), Some("S256")),
                Err(ChallengeError::Malformed),
                "{bad}"
            );
        }
        for e in [
            ChallengeError::Missing,
            ChallengeError::NotS256,
            ChallengeError::Malformed,
        ] {
            assert_eq!(e.to_oauth().code.as_str(), "invalid_request");
        }
    }
}
