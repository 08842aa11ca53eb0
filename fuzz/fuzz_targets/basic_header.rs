//! `Authorization: Basic` decoding (RFC 6749 §2.3.1), and a round trip: credentials encoded
//! the way the RFC says decode to themselves.
#![no_main]

#[path = "../../functions/token/src/form.rs"]
#[allow(dead_code)]
mod form;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((id, secret)) = form::parse_basic(text) {
        assert!(!id.is_empty() && !secret.expose().is_empty());
    }
    // Round trip: split the input into an id and a secret, encode, decode.
    let (id, secret) = text.split_once('\u{0}').unwrap_or((text, "s"));
    if id.is_empty() || secret.is_empty() {
        return;
    }
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let header = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    );
    let (got_id, got_secret) = form::parse_basic(&header).expect("well-formed credentials decode");
    assert_eq!(got_id, id);
    assert_eq!(got_secret.expose(), secret);
});
