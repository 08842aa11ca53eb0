//! Access-token verification (`AccessTokenVerifier::verify`). Input, by its first byte:
//! even: the rest is the token as it came; odd: the rest is header JSON, a NUL, claims JSON,
//! and the token is those two signed with the verifier's own key, so the claim checks behind
//! the signature are reached too.
#![no_main]

#[allow(dead_code)] // each target uses part of it
mod shared;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tollgate_oauth::verify::{AccessTokenVerifier, VerifierConfig, parse_algorithm};

fn verifier() -> &'static AccessTokenVerifier {
    static V: OnceLock<AccessTokenVerifier> = OnceLock::new();
    V.get_or_init(|| {
        let cfg = VerifierConfig {
            issuer: shared::ISSUER.into(),
            audience: shared::AUDIENCE.into(),
            leeway: 30,
            algorithms: ["ES256", "RS256", "EdDSA"]
                .into_iter()
                .map(|a| parse_algorithm(a).expect("algorithm"))
                .collect(),
        };
        AccessTokenVerifier::new(&shared::jwks(), &cfg).expect("verifier")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode % 2 == 0 {
        match std::str::from_utf8(rest) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        }
    } else {
        let (header, claims) = match rest.iter().position(|&b| b == 0) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b"{}"[..]),
        };
        shared::signed(header, claims)
    };
    if let Ok(t) = verifier().verify(&token) {
        // Whatever it accepts was signed by the key and names the pinned issuer and audience.
        assert!(mode % 2 == 1, "accepted a token it did not sign: {token}");
        assert_eq!(t.iss, shared::ISSUER, "{token}");
        assert!(!t.sub.is_empty() && !t.client_id.is_empty(), "{token}");
    }
    assert!(verifier().verify(shared::valid_token()).is_ok());
});
