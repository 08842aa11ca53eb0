//! The reuse grace window for lost refresh responses: for a few seconds after a rotation, the
//! client that rotated a token may present it again and get back the *same* successor, as long
//! as nobody has used that successor yet. A retry of a request whose response was lost, or two
//! tabs refreshing at once, then no longer revokes the family.
//!
//! The window is the client's grace setting (0, off, by default), except after a rotation whose
//! answer the function itself lost (its write timed out and the client was told `503`, "try
//! again"): that rotation is marked unconfirmed, and its window is at least
//! `lost_answer_window` (the function's timeout, the `Retry-After` and a margin), whatever the
//! grace setting, so a client that retries as told is never taken for a thief.
//!
//! The successor is not derived from a server key: the rotation that retires a token stores the
//! successor on the old token's record *sealed under the old token itself* (AES-256-GCM, key =
//! HMAC-SHA256 keyed by the old token). Only someone presenting the old token can open it, the
//! table still holds no usable token (a reader of the table has only the old token's SHA-256,
//! not the token), and nothing new needs to be configured, rotated or kept secret.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tollgate_oauth::secret::Secret;

use crate::refresh::{StoredFamily, StoredToken, TokenStatus};

/// What the sealing key is derived for: a new version of the scheme gets a new label.
const LABEL: &[u8] = b"tollgate refresh-token successor v1";

/// Why a retried (already rotated) token does not get its successor back; each is reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoReplay {
    /// The window is off for this client, or has passed since the rotation.
    OutsideWindow,
    /// The rotation stored no successor for it (the window was off then), or it does not open.
    NotSealed,
    /// The successor was used already (the family moved on), or the family ended.
    SuccessorUsed,
}

impl NoReplay {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutsideWindow => "outside the grace window",
            Self::NotSealed => "no sealed successor",
            Self::SuccessorUsed => "successor used or family ended",
        }
    }
}

/// How long after its rotation `old` may be retried for its successor: the client's grace
/// window, or, when that rotation was never confirmed to the client, at least
/// `lost_answer_window`.
pub fn replay_window(old: &StoredToken, grace: u64, lost_answer_window: u64) -> u64 {
    if old.unconfirmed {
        grace.max(lost_answer_window)
    } else {
        grace
    }
}

/// Whether `old`, a rotated token, was retired no more than `grace` seconds before `now`.
pub fn within_window(old: &StoredToken, grace: u64, now: u64) -> Result<(), NoReplay> {
    match old.rotated_at {
        Some(at)
            if grace > 0
                && old.status == TokenStatus::Rotated
                && now <= at.saturating_add(grace) =>
        {
            Ok(())
        }
        _ => Err(NoReplay::OutsideWindow),
    }
}

/// Whether the successor about to be handed back is still the family's one live token: the
/// family active, unexpired and at the successor, the successor's record active and unexpired.
pub fn still_unused(
    family: Option<&StoredFamily>,
    successor: Option<&StoredToken>,
    successor_hash: &str,
    now: u64,
) -> Result<(), NoReplay> {
    let family_ok = family
        .is_some_and(|f| !f.revoked && f.current_token == successor_hash && f.expires_at > now);
    let token_ok = successor.is_some_and(|t| {
        t.status == TokenStatus::Active
            && t.token_hash == successor_hash
            && now < t.expires_at
            && now < t.family_expires_at
    });
    if family_ok && token_ok {
        Ok(())
    } else {
        Err(NoReplay::SuccessorUsed)
    }
}

fn key(old: &Secret) -> LessSafeKey {
    let k = hmac::Key::new(hmac::HMAC_SHA256, old.expose().as_bytes());
    let tag = hmac::sign(&k, LABEL);
    // A 32-byte HMAC-SHA256 tag is always a valid AES-256 key.
    #[allow(clippy::expect_used)]
    let unbound = UnboundKey::new(&AES_256_GCM, tag.as_ref()).expect("32-byte AES-256 key");
    LessSafeKey::new(unbound)
}

/// `successor` sealed under `old`, bound to the family: a random nonce, then the ciphertext
/// and tag, base64url.
pub fn seal(old: &Secret, family_id: &str, successor: &Secret) -> String {
    let mut nonce = [0u8; NONCE_LEN];
    // As for every token: a failing system RNG must stop the function, not weaken a value.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut nonce).expect("system random number generator failed");
    let mut data = successor.expose().as_bytes().to_vec();
    #[allow(clippy::expect_used)]
    key(old)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(family_id.as_bytes()),
            &mut data,
        )
        .expect("AES-GCM sealing of a short value");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&data);
    URL_SAFE_NO_PAD.encode(out)
}

/// The successor sealed in `sealed`, if `old` is the token it was sealed under and the value is
/// intact.
pub fn open(old: &Secret, family_id: &str, sealed: &str) -> Option<Secret> {
    let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if raw.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, data) = raw.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut data = data.to_vec();
    let plain = key(old)
        .open_in_place(nonce, Aad::from(family_id.as_bytes()), &mut data)
        .ok()?;
    let text = std::str::from_utf8(plain).ok()?;
    Some(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(status: TokenStatus, rotated_at: Option<u64>) -> StoredToken {
        StoredToken {
            rotated_at,
            ..crate::refresh::retired::test_token("h-old", status)
        }
    }

    #[test]
    fn sealed_successor_opens_only_with_the_old_token_and_its_family() {
        let old = Secret::generate();
        let next = Secret::generate();
        let sealed = seal(&old, "f", &next);
        assert_eq!(open(&old, "f", &sealed).as_ref(), Some(&next));
        assert!(
            open(&Secret::generate(), "f", &sealed).is_none(),
            "other token"
        );
        assert!(open(&old, "g", &sealed).is_none(), "other family");
        assert!(
            !sealed.contains(next.expose()),
            "the successor is not in clear"
        );
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(open(&old, "f", &tampered).is_none(), "tampered");
        for junk in ["", "!!", "AAAA", &"A".repeat(40)] {
            assert!(open(&old, "f", junk).is_none(), "{junk:?}");
        }
    }

    #[test]
    fn two_seals_of_one_successor_differ() {
        let old = Secret::generate();
        let next = Secret::generate();
        assert_ne!(seal(&old, "f", &next), seal(&old, "f", &next));
    }

    #[test]
    fn window_counts_from_the_rotation_and_is_off_at_zero() {
        let t = token(TokenStatus::Rotated, Some(100));
        assert_eq!(within_window(&t, 10, 100), Ok(()));
        assert_eq!(within_window(&t, 10, 110), Ok(()));
        assert_eq!(within_window(&t, 10, 111), Err(NoReplay::OutsideWindow));
        assert_eq!(within_window(&t, 0, 100), Err(NoReplay::OutsideWindow));
        let late = token(TokenStatus::Rotated, Some(u64::MAX));
        assert_eq!(within_window(&late, 60, u64::MAX), Ok(()), "no overflow");
        let active = token(TokenStatus::Active, None);
        assert_eq!(
            within_window(&active, 10, 100),
            Err(NoReplay::OutsideWindow)
        );
    }

    #[test]
    fn an_unconfirmed_rotation_keeps_at_least_the_lost_answer_window() {
        let mut t = token(TokenStatus::Rotated, Some(100));
        assert_eq!(replay_window(&t, 0, 30), 0, "confirmed: the grace setting");
        assert_eq!(replay_window(&t, 10, 30), 10);
        t.unconfirmed = true;
        assert_eq!(replay_window(&t, 0, 30), 30);
        assert_eq!(replay_window(&t, 60, 30), 60, "a longer grace window stays");
    }

    #[test]
    fn successor_must_be_the_live_unused_token_of_an_active_family() {
        let family = StoredFamily {
            family_id: "f".into(),
            client_id: "app".into(),
            sub: "u".into(),
            revoked: false,
            current_token: "h-next".into(),
            created_at: 0,
            refreshed_at: Some(5),
            access_until: Some(905),
            expires_at: 2_000,
            retired: None,
            live: None,
        };
        let mut next = token(TokenStatus::Active, None);
        next.token_hash = "h-next".into();
        assert_eq!(
            still_unused(Some(&family), Some(&next), "h-next", 10),
            Ok(())
        );
        let used = token(TokenStatus::Rotated, Some(5));
        let moved = StoredFamily {
            current_token: "h-later".into(),
            ..family.clone()
        };
        let revoked = StoredFamily {
            revoked: true,
            ..family.clone()
        };
        for (f, t, now) in [
            (Some(&moved), Some(&next), 10),
            (Some(&revoked), Some(&next), 10),
            (Some(&family), Some(&used), 10),
            (Some(&family), None, 10),
            (None, Some(&next), 10),
            (Some(&family), Some(&next), 1_000),
        ] {
            assert_eq!(
                still_unused(f, t, "h-next", now),
                Err(NoReplay::SuccessorUsed)
            );
        }
    }
}
