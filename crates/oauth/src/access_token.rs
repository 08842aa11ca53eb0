//! Access tokens: RFC 9068 JWTs (`typ: at+jwt`), signed with the deployment's current key.

use std::sync::Arc;

use jsonwebtoken::Header;
use serde_json::{Map, Value};

use crate::keys::{SigningKey, low_s};
use crate::scope::Scopes;
use crate::secret::random_token;

/// The longest an access token may live, in seconds: a day, since one cannot be revoked. No
/// client may be given longer (`tollgate_service::client`), and the verifier refuses a token
/// whose `exp - iat` is longer.
pub const MAX_ACCESS_TOKEN_TTL: u64 = 24 * 3600;

/// Claims Tollgate sets itself; user details can never override them.
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "client_id",
    "sid",
    "scope",
    "auth_time",
    "typ",
    "cnf",
];

/// Keys API Gateway itself puts beside or around an authorizer's context (`principalId`,
/// `integrationLatency`; `claims`, `scopes`, `jwt`, `lambda`, `iam` of its other authorizers).
/// A user detail by one of these names could pass for what API Gateway says.
pub const GATEWAY_CONTEXT_KEYS: &[&str] = &[
    "principalId",
    "integrationLatency",
    "claims",
    "scopes",
    "jwt",
    "lambda",
    "iam",
];

/// Whether `name` is, in any letter case, a key API Gateway reserves in the authorizer context.
pub fn is_gateway_context_key(name: &str) -> bool {
    GATEWAY_CONTEXT_KEYS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(name))
}

/// Refuses `USER_CLAIMS` names that would collide with a claim Tollgate sets or with API
/// Gateway's context keys (the authorizer's own context is `sub`, `client_id`, `scope`).
pub fn check_user_claims(names: &[String]) -> Result<(), String> {
    for n in names {
        if RESERVED_CLAIMS.iter().any(|r| r.eq_ignore_ascii_case(n)) {
            return Err(format!("{n:?} is a claim Tollgate sets itself"));
        }
        if is_gateway_context_key(n) {
            return Err(format!(
                "{n:?} is a key API Gateway reserves in the authorizer context"
            ));
        }
    }
    Ok(())
}

/// Keeps only the details the operator allows through, and never a reserved claim.
pub fn allowed_details(details: &Map<String, Value>, allow: &[String]) -> Map<String, Value> {
    details
        .iter()
        .filter(|(k, _)| allow.iter().any(|a| a == *k) && !RESERVED_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Issues access tokens; built once at cold start.
#[derive(Debug)]
pub struct AccessTokenIssuer {
    pub issuer: String,
    pub audience: String,
    key: Arc<SigningKey>,
    header: Header,
}

/// One issued token and what the response says about it.
#[derive(Debug, Clone)]
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: u64,
}

/// What goes into one access token.
#[derive(Debug, Clone)]
pub struct AccessTokenClaims<'a> {
    pub sub: &'a str,
    pub client_id: &'a str,
    /// The session (refresh-token family) the token was issued from; none for
    /// `client_credentials`, which has no session.
    pub sid: Option<&'a str>,
    pub scope: &'a Scopes,
    pub details: &'a Map<String, Value>,
    pub auth_time: u64,
    pub now: u64,
    pub ttl: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("failed to sign access token")]
pub struct SignError(#[source] jsonwebtoken::errors::Error);

impl SignError {
    pub(crate) fn new(e: jsonwebtoken::errors::Error) -> Self {
        Self(e)
    }
}

impl AccessTokenIssuer {
    pub fn new(issuer: String, audience: String, key: Arc<SigningKey>) -> Self {
        let mut header = Header::new(key.alg.algorithm());
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(key.kid.clone());
        Self {
            issuer,
            audience,
            key,
            header,
        }
    }

    /// The key tokens are signed with (ID tokens share it).
    pub(crate) fn key(&self) -> &SigningKey {
        &self.key
    }

    pub fn issue(&self, c: &AccessTokenClaims<'_>) -> Result<IssuedAccessToken, SignError> {
        let mut claims = c.details.clone();
        let mut set = |k: &str, v: Value| {
            claims.insert(k.to_owned(), v);
        };
        set("iss", self.issuer.clone().into());
        set("sub", c.sub.into());
        set("aud", self.audience.clone().into());
        set("iat", c.now.into());
        set("exp", (c.now + c.ttl).into());
        set("jti", random_token(16).into());
        set("client_id", c.client_id.into());
        set("scope", c.scope.to_string().into());
        set("auth_time", c.auth_time.into());
        if let Some(sid) = c.sid {
            set("sid", sid.into());
        }
        // ES256 in low-S form: the verifier refuses the high-S twin (keys/low_s.rs).
        let token =
            low_s::encode(&self.header, &claims, self.key.encoding_key()).map_err(SignError)?;
        Ok(IssuedAccessToken {
            token,
            expires_in: c.ttl,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{SigningAlg, generate_pem};
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn details_cannot_override_reserved_claims() {
        let details: Map<String, Value> =
            serde_json::from_str(r#"{"sub":"evil","scope":"admin","email":"a@b","secret":"x"}"#)
                .unwrap_or_default();
        let kept = allowed_details(&details, &["email".into(), "sub".into(), "scope".into()]);
        assert_eq!(Value::Object(kept), serde_json::json!({"email": "a@b"}));
    }

    #[test]
    fn issued_token_is_an_rfc9068_jwt() {
        let key = SigningKey::from_pem(
            &generate_pem(SigningAlg::Es256).unwrap_or_default(),
            SigningAlg::Es256,
            None,
        );
        let Ok(key) = key else { panic!("key") };
        let key = Arc::new(key);
        let issuer =
            AccessTokenIssuer::new("https://issuer.example".into(), "api".into(), key.clone());
        let scope = Scopes::parse("read write").unwrap_or_default();
        let details = serde_json::from_str(r#"{"email":"a@b"}"#).unwrap_or_default();
        let now = jsonwebtoken::get_current_timestamp();
        let t = issuer
            .issue(&AccessTokenClaims {
                sub: "u1",
                client_id: "c1",
                sid: Some("s1"),
                scope: &scope,
                details: &details,
                auth_time: now,
                now,
                ttl: 60,
            })
            .map(|t| t.token)
            .unwrap_or_default();
        let header = jsonwebtoken::decode_header(&t).ok();
        assert_eq!(
            header.as_ref().and_then(|h| h.typ.clone()).as_deref(),
            Some("at+jwt")
        );
        assert_eq!(header.and_then(|h| h.kid), Some(key.kid.clone()));
        let dk = DecodingKey::from_jwk(key.public_jwk());
        let Ok(dk) = dk else { panic!("decoding key") };
        let mut v = Validation::new(jsonwebtoken::Algorithm::ES256);
        v.set_audience(&["api"]);
        v.set_issuer(&["https://issuer.example"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(&t, &dk, &v)
            .map(|d| d.claims)
            .ok();
        let Some(claims) = claims else {
            panic!("token did not verify")
        };
        assert_eq!(claims["sub"], "u1");
        assert_eq!(claims["client_id"], "c1");
        assert_eq!(claims["sid"], "s1");
        assert_eq!(claims["scope"], "read write");
        assert_eq!(claims["email"], "a@b");
        assert_eq!(claims["exp"].as_u64(), Some(now + 60));
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 20));
    }

    /// Every ES256 token is issued with its signature's `s` in the low half, so that the
    /// verifier, which refuses the high-S twin, accepts each one.
    #[test]
    fn es256_tokens_are_issued_with_a_low_s() {
        use base64::Engine;
        let pem = generate_pem(SigningAlg::Es256).unwrap_or_default();
        let key = SigningKey::from_pem(&pem, SigningAlg::Es256, None);
        let Ok(key) = key else { panic!("key") };
        let issuer = AccessTokenIssuer::new("https://i".into(), "api".into(), Arc::new(key));
        let scope = Scopes::parse("a").unwrap_or_default();
        let details = Map::new();
        for now in 0..64 {
            let t = issuer
                .issue(&AccessTokenClaims {
                    sub: "u",
                    client_id: "c",
                    sid: None,
                    scope: &scope,
                    details: &details,
                    auth_time: now,
                    now,
                    ttl: 60,
                })
                .map(|t| t.token)
                .unwrap_or_default();
            let sig = t.rsplit('.').next().unwrap_or_default();
            let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(sig)
                .unwrap_or_default();
            assert!(low_s::is_low_s(&sig), "{t}");
        }
    }
}
