//! What several targets share: a signing key made once per process, its public JWKS, and
//! tokens signed with it, so inputs can reach the code behind the signature check.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem, low_s};

pub const KID: &str = "fuzz-kid";
pub const ISSUER: &str = "https://issuer.example";
pub const AUDIENCE: &str = "fuzz-api";
pub const ROUTE_SCOPES: &str =
    "GET /orders/*=orders:read; POST /orders=orders:write; ANY /admin/*=admin";
/// In an input, this stands for a valid token (`valid_token`).
pub const TOKEN_PLACEHOLDER: &str = "@TOKEN@";
/// In claims, these stand for now and for ten minutes from now (`with_times`): a token is
/// accepted only if issued within the last day, so seeds cannot carry fixed times.
pub const IAT_PLACEHOLDER: &[u8] = b"@IAT@";
pub const EXP_PLACEHOLDER: &[u8] = b"@EXP@";

/// `claims` with `@IAT@` and `@EXP@` replaced by now and now + 600 (seconds since the epoch).
pub fn with_times(claims: &[u8]) -> Vec<u8> {
    let now = jsonwebtoken::get_current_timestamp();
    let mut out = Vec::with_capacity(claims.len() + 16);
    let mut rest = claims;
    while !rest.is_empty() {
        if rest.starts_with(IAT_PLACEHOLDER) {
            out.extend(now.to_string().as_bytes());
            rest = &rest[IAT_PLACEHOLDER.len()..];
        } else if rest.starts_with(EXP_PLACEHOLDER) {
            out.extend((now + 600).to_string().as_bytes());
            rest = &rest[EXP_PLACEHOLDER.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

pub fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pem = generate_pem(SigningAlg::Es256).expect("a key");
        SigningKey::from_pem(&pem, SigningAlg::Es256, Some(KID.to_owned())).expect("its PEM")
    })
}

pub fn jwks() -> String {
    let set = JwkSet {
        keys: vec![key().public_jwk().clone()],
    };
    serde_json::to_string(&set).expect("a JWKS")
}

/// `header.claims.signature`, signed with the key (in low-S form, as Tollgate signs), whatever
/// the header and claims bytes are.
pub fn signed(header: &[u8], claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let sig = low_s::sign(
        input.as_bytes(),
        key().encoding_key(),
        SigningAlg::Es256.algorithm(),
    )
    .expect("signing");
    format!("{input}.{sig}")
}

/// A token the verifier accepts for a day from the process's start (the longest lifetime it
/// accepts), with the scopes `orders:read profile`.
pub fn valid_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let header = format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{KID}"}}"#);
        let iat = jsonwebtoken::get_current_timestamp();
        let exp = iat + 86_400;
        let claims = format!(
            r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"user-1","client_id":"client-1","scope":"orders:read profile","exp":{exp},"iat":{iat},"auth_time":{iat},"jti":"j1","email":"u@example.com"}}"#
        );
        signed(header.as_bytes(), claims.as_bytes())
    })
}
