//! The short hashes that stand in, in logs and audit lines, for what a caller sent (a client_id
//! that did not authenticate, a username, a User-Agent): the one definition every line uses.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The first 12 characters of a value's SHA-256 (base64url): enough to correlate log lines,
/// useless to recover what a caller sent.
pub fn short_hash(value: &str) -> String {
    let d = digest::digest(&digest::SHA256, value.as_bytes());
    let mut h = URL_SAFE_NO_PAD.encode(d.as_ref());
    h.truncate(12);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_hash_is_twelve_characters_stable_per_value() {
        let a = short_hash("app");
        assert_eq!(a.len(), 12);
        assert_eq!(a, short_hash("app"));
        assert_ne!(a, short_hash("apq"));
        assert!(!a.contains("app"));
        // SHA-256 of "app", base64url, its first 12 characters: what every earlier line carried
        // (the stored `sha256:` form's characters 7 to 19), so old and new lines still correlate.
        assert_eq!(a, "oXLO3K5HR0th");
    }
}
