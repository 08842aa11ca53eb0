//! What several targets share: a signing key made once per process, its public JWKS, and
//! tokens signed with it, so inputs can reach the code behind the signature check.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};

pub const KID: &str = "fuzz-kid";
pub const ISSUER: &str = "https://issuer.example";
pub const AUDIENCE: &str = "fuzz-api";
pub const ROUTE_SCOPES: &str =
    "GET /orders/*=orders:read; POST /orders=orders:write; ANY /admin/*=admin";
/// In an input, this stands for a valid token (`valid_token`).
pub const TOKEN_PLACEHOLDER: &str = "@TOKEN@";

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

/// `header.claims.signature`, signed with the key, whatever the header and claims bytes are.
pub fn signed(header: &[u8], claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        key().encoding_key(),
        SigningAlg::Es256.algorithm(),
    )
    .expect("signing");
    format!("{input}.{sig}")
}

/// A token the verifier accepts until 2100, with the scopes `orders:read profile`.
pub fn valid_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let header = format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{KID}"}}"#);
        let claims = format!(
            r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"user-1","client_id":"client-1","scope":"orders:read profile","exp":4102444800,"iat":1700000000,"auth_time":1700000000,"jti":"j1","email":"u@example.com"}}"#
        );
        signed(header.as_bytes(), claims.as_bytes())
    })
}
