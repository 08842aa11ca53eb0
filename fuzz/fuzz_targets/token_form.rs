//! The token endpoint's request reading: the form body, `Authorization: Basic`, and the
//! domain request built from both. Input: the Authorization header, a newline, the body.
//!
//! `functions/token/src/form.rs` is compiled in here as it is, rather than by depending on the
//! token crate: that crate links the AWS SDK, which the sanitizer build would compile a second
//! time for nothing (form.rs uses only tollgate-oauth, tollgate-service without its AWS and HTTP
//! adapters, base64 and percent-encoding).
#![no_main]

#[path = "../../functions/token/src/form.rs"]
#[allow(dead_code)]
mod form;

use libfuzzer_sys::fuzz_target;
use tollgate_oauth::error::is_description_text;

/// Every refusal is described in RFC 6749 §5.2's characters (debug builds also panic inside
/// `Description` when one is not).
fn check(e: &form::FormError) {
    let d = e.to_oauth().description;
    assert!(is_description_text(&d), "{d:?}");
}

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b""[..], data),
    };
    let header = std::str::from_utf8(header).ok().filter(|h| !h.is_empty());
    let _ = form::is_form(header);
    match form::parse_form(body) {
        Ok(params) => {
            // RFC 6749 §3.1: a parameter without a value counts as omitted.
            assert!(params.iter().all(|(k, v)| !k.is_empty() && !v.is_empty()));
            if let Err(e) = form::token_request(params, header) {
                check(&e);
            }
        }
        Err(e) => check(&e),
    }
});
