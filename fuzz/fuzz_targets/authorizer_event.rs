//! The authorizer's whole decision (`handler::decide`) on an arbitrary JSON event, with a state
//! built the way a cold start builds it (`State::from_lookup`) around a generated key. `@TOKEN@`
//! in the input becomes a valid token, so events reach the route rules and the policy too.
#![no_main]

#[allow(dead_code)] // each target uses part of it
mod shared;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tollgate_authorizer::config::State;
use tollgate_authorizer::handler::decide;

fn state() -> &'static State {
    static S: OnceLock<State> = OnceLock::new();
    S.get_or_init(|| {
        let jwks = shared::jwks();
        State::from_lookup(|k| match k {
            "JWKS" => Some(jwks.clone()),
            "ISSUER" => Some(shared::ISSUER.into()),
            "AUDIENCE" => Some(shared::AUDIENCE.into()),
            "ROUTE_SCOPES" => Some(shared::ROUTE_SCOPES.into()),
            "UNLISTED_ROUTES" => Some("deny".into()),
            _ => None,
        })
        .expect("state")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let text = text.replace(shared::TOKEN_PLACEHOLDER, shared::valid_token());
    let Ok(event) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    if let Ok(answer) = decide(state(), event) {
        assert!(answer.is_object());
    }
});
