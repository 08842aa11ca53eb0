//! The HTTP adapter of the password check: one pooled client over rustls, built once at cold
//! start, every call bounded by its own timeouts.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};

use crate::password::{AuthEndpointError, PasswordCheck, PasswordVerifier, parse_user};
use crate::secret::Secret;

/// Answers over this size are treated as nonsense: a user record is small.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Settings of the HTTP adapter.
#[derive(Debug, Clone)]
pub struct AuthEndpointConfig {
    pub url: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// An optional shared credential sent as a header, e.g. `x-api-key`.
    pub credential: Option<(String, Secret)>,
}

/// The HTTP adapter: one pooled client over rustls, built once at cold start.
pub struct HttpPasswordVerifier {
    client: reqwest::Client,
    url: reqwest::Url,
    credential: Option<(HeaderName, HeaderValue)>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthEndpointSetupError {
    #[error("AUTH_ENDPOINT_URL is not a valid http(s) URL")]
    BadUrl,
    #[error("auth endpoint credential header name or value is not valid in HTTP")]
    BadCredentialHeader,
    #[error("failed to build the HTTP client")]
    Client(#[source] reqwest::Error),
}

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

fn classify(e: reqwest::Error) -> AuthEndpointError {
    let e = e.without_url();
    if e.is_timeout() {
        AuthEndpointError::Timeout(Box::new(e))
    } else {
        AuthEndpointError::Unreachable(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
