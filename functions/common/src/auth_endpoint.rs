//! The organisation's own password check, reached over HTTP (DESIGN.md "External auth endpoint
//! contract"). Tollgate never stores passwords; it only asks this endpoint.

use std::time::Duration;

use async_trait::async_trait;
#[cfg(feature = "http")]
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::secret::Secret;

#[cfg(feature = "http")]
/// Answers over this size are treated as nonsense: a user record is small.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// A user the auth endpoint vouched for.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedUser {
    pub sub: String,
    /// Everything the endpoint returned; the allow-list is applied by the grant.
    pub details: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PasswordCheck {
    Valid(VerifiedUser),
    Invalid,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the endpoint could not give an answer. None of these carries the password or the URL's
/// credentials (HTTP client errors are stripped of their URL).
#[derive(Debug, thiserror::Error)]
pub enum AuthEndpointError {
    #[error("auth endpoint timed out")]
    Timeout(#[source] BoxError),
    #[error("auth endpoint unreachable")]
    Unreachable(#[source] BoxError),
    #[error("auth endpoint answered status {0}")]
    UnexpectedStatus(u16),
    #[error("auth endpoint answered an unusable body: {0}")]
    BadBody(&'static str),
}

#[async_trait]
pub trait PasswordVerifier: Send + Sync {
    async fn verify(
        &self,
        username: &str,
        password: &Secret,
        client_id: &str,
    ) -> Result<PasswordCheck, AuthEndpointError>;
}

/// Settings of the HTTP adapter.
#[derive(Debug, Clone)]
pub struct AuthEndpointConfig {
    pub url: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// An optional shared credential sent as a header, e.g. `x-api-key`.
    pub credential: Option<(String, Secret)>,
}

#[cfg(feature = "http")]
/// The HTTP adapter: one pooled client over rustls, built once at cold start.
pub struct HttpPasswordVerifier {
    client: reqwest::Client,
    url: reqwest::Url,
    credential: Option<(HeaderName, HeaderValue)>,
}

#[cfg(feature = "http")]
#[derive(Debug, thiserror::Error)]
pub enum AuthEndpointSetupError {
    #[error("AUTH_ENDPOINT_URL is not a valid http(s) URL")]
    BadUrl,
    #[error("auth endpoint credential header name or value is not valid in HTTP")]
    BadCredentialHeader,
    #[error("failed to build the HTTP client")]
    Client(#[source] reqwest::Error),
}

#[cfg(feature = "http")]
impl HttpPasswordVerifier {
    pub fn new(cfg: &AuthEndpointConfig) -> Result<Self, AuthEndpointSetupError> {
        let url = reqwest::Url::parse(&cfg.url).map_err(|_| AuthEndpointSetupError::BadUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(AuthEndpointSetupError::BadUrl);
        }
        let credential = match &cfg.credential {
            None => None,
            Some((name, value)) => {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| AuthEndpointSetupError::BadCredentialHeader)?;
                let mut value = HeaderValue::from_str(value.expose())
                    .map_err(|_| AuthEndpointSetupError::BadCredentialHeader)?;
                value.set_sensitive(true);
                Some((name, value))
            }
        };
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(AuthEndpointSetupError::Client)?;
        Ok(Self {
            client,
            url,
            credential,
        })
    }
}

#[cfg(feature = "http")]
#[async_trait]
impl PasswordVerifier for HttpPasswordVerifier {
    async fn verify(
        &self,
        username: &str,
        password: &Secret,
        client_id: &str,
    ) -> Result<PasswordCheck, AuthEndpointError> {
        let body = serde_json::json!({
            "username": username,
            "password": password.expose(),
            "client_id": client_id,
        });
        let mut req = self.client.post(self.url.clone()).json(&body);
        if let Some((name, value)) = &self.credential {
            req = req.header(name.clone(), value.clone());
        }
        let mut resp = req.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        match status {
            200 => {}
            401 | 403 => return Ok(PasswordCheck::Invalid),
            other => return Err(AuthEndpointError::UnexpectedStatus(other)),
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(AuthEndpointError::BadBody("body too large"));
            }
            bytes.extend_from_slice(&chunk);
        }
        parse_user(&bytes, username).map(PasswordCheck::Valid)
    }
}

#[cfg(feature = "http")]
fn classify(e: reqwest::Error) -> AuthEndpointError {
    let e = e.without_url();
    if e.is_timeout() {
        AuthEndpointError::Timeout(Box::new(e))
    } else {
        AuthEndpointError::Unreachable(Box::new(e))
    }
}

/// A `200` body must be a JSON object; its `sub` names the user, else the username does.
pub fn parse_user(bytes: &[u8], username: &str) -> Result<VerifiedUser, AuthEndpointError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|_| AuthEndpointError::BadBody("not JSON"))?;
    let Value::Object(details) = value else {
        return Err(AuthEndpointError::BadBody("not a JSON object"));
    };
    let sub = match details.get("sub") {
        None | Some(Value::Null) => username.to_owned(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(AuthEndpointError::BadBody("sub is not a non-empty string")),
    };
    Ok(VerifiedUser { sub, details })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_defaults_to_the_username() {
        let u = parse_user(br#"{"email":"a@b"}"#, "alice").ok();
        assert_eq!(u.map(|u| u.sub), Some("alice".to_owned()));
    }

    #[test]
    fn numeric_sub_becomes_a_string() {
        let u = parse_user(br#"{"sub":42}"#, "alice").ok();
        assert_eq!(u.map(|u| u.sub), Some("42".to_owned()));
    }

    #[test]
    fn non_objects_and_bad_subs_are_unusable() {
        for body in [
            &b"[]"[..],
            b"\"ok\"",
            b"<html>",
            b"",
            br#"{"sub":""}"#,
            br#"{"sub":{}}"#,
        ] {
            assert!(
                matches!(parse_user(body, "a"), Err(AuthEndpointError::BadBody(_))),
                "{body:?}"
            );
        }
    }

    #[cfg(feature = "http")]
    #[test]
    fn setup_rejects_non_http_urls() {
        let cfg = AuthEndpointConfig {
            url: "file:///etc/passwd".into(),
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            credential: None,
        };
        assert!(matches!(
            HttpPasswordVerifier::new(&cfg),
            Err(AuthEndpointSetupError::BadUrl)
        ));
    }
}
