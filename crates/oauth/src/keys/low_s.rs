//! ECDSA signatures in low-S form. For a valid P-256 signature `(r, s)`, `(r, n − s)` is valid
//! too: without a rule, every ES256 token has a twin, a second string that verifies as the same
//! token. Tollgate writes only the low half (`s ≤ n/2`, as Bitcoin's BIP 62 and Ethereum's
//! EIP-2 do) and its verifier accepts only that half, so a token has one spelling.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// The order `n` of P-256's base point, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `n / 2`, rounded down: the largest low `s`.
const P256_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// Whether an ES256 signature (`r ‖ s`, 32 bytes each, RFC 7518 §3.4) has `s ≤ n/2`. Any other
/// length is not an ES256 signature: `false`.
pub fn is_low_s(signature: &[u8]) -> bool {
    match signature.get(32..) {
        // Big-endian arrays of one length compare as the numbers they hold.
        Some(s) if signature.len() == 64 => s <= &P256_HALF_N[..],
        _ => false,
    }
}

/// Replaces a high `s` by `n − s`, which verifies the same message with the same key. Leaves
/// a low one, or a signature of another length, as it is.
pub fn normalise(signature: &mut [u8]) {
    if signature.len() == 64 && !is_low_s(signature) {
        twin(signature);
    }
}

/// Replaces `s` by `n − s` (for `0 < s < n`): the other spelling of the same signature, high
/// for a low one and low for a high one. Leaves a signature of another length as it is.
pub fn twin(signature: &mut [u8]) {
    if signature.len() != 64 {
        return;
    }
    let s = &mut signature[32..];
    let mut borrow = 0u16;
    for i in (0..32).rev() {
        let d = u16::from(P256_N[i])
            .wrapping_sub(u16::from(s[i]))
            .wrapping_sub(borrow);
        s[i] = d as u8;
        borrow = (d >> 15) & 1;
    }
}

/// `jsonwebtoken::encode`, with an ES256 signature in low-S form.
pub fn encode<T: serde::Serialize>(
    header: &Header,
    claims: &T,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<String> {
    let token = jsonwebtoken::encode(header, claims, key)?;
    if header.alg != Algorithm::ES256 {
        return Ok(token);
    }
    let (message, signature) = token.rsplit_once('.').unwrap_or((&token, ""));
    Ok(format!("{message}.{}", low_s_segment(signature)))
}

/// `jsonwebtoken::crypto::sign`: the base64url signature of `message`, in low-S form for ES256.
pub fn sign(
    message: &[u8],
    key: &EncodingKey,
    alg: Algorithm,
) -> jsonwebtoken::errors::Result<String> {
    let signature = jsonwebtoken::crypto::sign(message, key, alg)?;
    if alg != Algorithm::ES256 {
        return Ok(signature);
    }
    Ok(low_s_segment(&signature))
}

/// A base64url signature segment in low-S form (unchanged when it is not 64 bytes of base64url).
fn low_s_segment(segment: &str) -> String {
    match URL_SAFE_NO_PAD.decode(segment) {
        Ok(mut raw) if raw.len() == 64 => {
            normalise(&mut raw);
            URL_SAFE_NO_PAD.encode(raw)
        }
        _ => segment.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    /// `n − x` for a small `x`, in plain arithmetic: n's last byte is 0x51.
    fn n_minus(x: u8) -> [u8; 32] {
        let mut out = P256_N;
        out[31] -= x;
        out
    }

    #[test]
    fn the_halfway_point_is_n_over_two() {
        // 2 · (n/2) + 1 = n, as n is odd.
        let mut doubled = [0u8; 32];
        let mut carry = 1u16;
        for i in (0..32).rev() {
            let v = u16::from(P256_HALF_N[i]) * 2 + carry;
            doubled[i] = v as u8;
            carry = v >> 8;
        }
        assert_eq!((doubled, carry), (P256_N, 0));
        let mut at = [0u8; 64];
        at[32..].copy_from_slice(&P256_HALF_N);
        assert!(is_low_s(&at), "n/2 itself is low");
        at[63] += 1;
        assert!(!is_low_s(&at), "n/2 + 1 is high");
        assert!(!is_low_s(&at[..63]), "not 64 bytes");
    }

    #[test]
    fn a_high_s_becomes_n_minus_s() {
        let mut sig = [7u8; 64];
        sig[32..].copy_from_slice(&n_minus(5));
        normalise(&mut sig);
        let mut five = [0u8; 32];
        five[31] = 5;
        assert_eq!(
            (sig[..32].to_vec(), sig[32..].to_vec()),
            (vec![7u8; 32], five.to_vec())
        );
        let before = sig;
        normalise(&mut sig);
        assert_eq!(sig, before, "a low s stays as it is");
        twin(&mut sig);
        assert_eq!(sig[32..], n_minus(5), "its twin is high again");
        // A borrow across every byte: n − 1 becomes 1.
        sig[32..].copy_from_slice(&n_minus(1));
        normalise(&mut sig);
        assert_eq!(sig[63], 1);
        assert!(sig[32..63].iter().all(|b| *b == 0));
    }

    fn es256() -> (crate::keys::SigningKey, UnparsedPublicKey<Vec<u8>>) {
        use crate::keys::{SigningAlg, SigningKey, generate_pem};
        let pem = generate_pem(SigningAlg::Es256).unwrap_or_default();
        let key =
            SigningKey::from_pem(&pem, SigningAlg::Es256, None).unwrap_or_else(|e| panic!("{e}"));
        let point = match &key.public_jwk().algorithm {
            jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(p) => {
                let mut v = vec![4u8];
                v.extend(URL_SAFE_NO_PAD.decode(&p.x).unwrap_or_default());
                v.extend(URL_SAFE_NO_PAD.decode(&p.y).unwrap_or_default());
                v
            }
            _ => panic!("not an EC key"),
        };
        (key, UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point))
    }

    /// Real signatures: about half come out of the signer high; each is written low and still
    /// verifies, and so does its high twin (the reason for all this).
    #[test]
    fn signatures_are_written_low_and_still_verify() {
        let (key, public) = es256();
        let mut were_high = 0;
        for i in 0..64 {
            let message = format!("message {i}");
            let raw = jsonwebtoken::crypto::sign(
                message.as_bytes(),
                key.encoding_key(),
                Algorithm::ES256,
            )
            .unwrap_or_default();
            let high = URL_SAFE_NO_PAD.decode(&raw).unwrap_or_default();
            let low = URL_SAFE_NO_PAD
                .decode(low_s_segment(&raw))
                .unwrap_or_default();
            assert!(is_low_s(&low), "{i}");
            assert!(public.verify(message.as_bytes(), &low).is_ok(), "{i}");
            if high != low {
                were_high += 1;
                assert!(!is_low_s(&high));
                assert!(
                    public.verify(message.as_bytes(), &high).is_ok(),
                    "the twin verifies"
                );
            }
            let signed =
                sign(message.as_bytes(), key.encoding_key(), Algorithm::ES256).unwrap_or_default();
            assert!(is_low_s(
                &URL_SAFE_NO_PAD.decode(signed).unwrap_or_default()
            ));
        }
        assert!(
            (8..=56).contains(&were_high),
            "about half of 64 signatures come out high: {were_high}"
        );
    }

    #[test]
    fn encoded_tokens_carry_a_low_s() {
        let (key, _) = es256();
        for _ in 0..32 {
            let t = encode(
                &Header::new(Algorithm::ES256),
                &serde_json::json!({"a": 1}),
                key.encoding_key(),
            )
            .unwrap_or_default();
            let sig = t.rsplit('.').next().unwrap_or_default();
            assert!(
                is_low_s(&URL_SAFE_NO_PAD.decode(sig).unwrap_or_default()),
                "{t}"
            );
        }
    }
}
