//! Access-token verification (`AccessTokenVerifier::verify`). Input, by its first byte:
//! even: the rest is the token as it came; odd: the rest is header JSON, a NUL, claims JSON
//! (`@IAT@` and `@EXP@` in it stand for now and ten minutes on), and the token is those two
//! signed with the verifier's own key, so the claim checks behind the signature are reached too.
#![no_main]

#[allow(dead_code)] // each target uses part of it
mod shared;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tollgate_oauth::verify::{
    AccessTokenVerifier, DEFAULT_MAX_LIFETIME, VerifierConfig, parse_algorithm,
};

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
            max_lifetime: DEFAULT_MAX_LIFETIME,
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
        shared::signed(header, &shared::with_times(claims))
    };
    if let Ok(t) = verifier().verify(&token) {
        // Whatever it accepts was signed by the key and names the pinned issuer and audience.
        assert!(mode % 2 == 1, "accepted a token it did not sign: {token}");
        assert_eq!(t.iss, shared::ISSUER, "{token}");
        assert!(!t.sub.is_empty() && !t.client_id.is_empty(), "{token}");
        // Issued no later than the leeway from now, for no longer than a day.
        let now = jsonwebtoken::get_current_timestamp();
        assert!(t.iat <= now + 30, "{token}");
        assert!(
            t.exp.saturating_sub(t.iat) <= DEFAULT_MAX_LIFETIME,
            "{token}"
        );
    }
    assert!(verifier().verify(shared::valid_token()).is_ok());
});
