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
    endpoint: Endpoint,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthEndpointSetupError {
    #[error("the URL is not a valid http(s) URL")]
    BadUrl,
    #[error("auth endpoint credential header name or value is not valid in HTTP")]
    BadCredentialHeader,
    #[error("failed to build the HTTP client")]
    Client(#[source] reqwest::Error),
}

impl HttpPasswordVerifier {
    pub fn new(cfg: &AuthEndpointConfig) -> Result<Self, AuthEndpointSetupError> {
        Ok(Self {
            endpoint: Endpoint::new(cfg)?,
        })
    }
}

/// One endpoint of the organisation's: its URL, a pooled client with the configured timeouts
/// (no redirects), and the shared credential header. The user-status adapter is built the same way.
pub(crate) struct Endpoint {
    client: reqwest::Client,
    url: reqwest::Url,
    credential: Option<(HeaderName, HeaderValue)>,
}

impl Endpoint {
    pub(crate) fn new(cfg: &AuthEndpointConfig) -> Result<Self, AuthEndpointSetupError> {
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

    /// A JSON POST to the endpoint, with the credential header when there is one.
    pub(crate) fn post(&self, body: &serde_json::Value) -> reqwest::RequestBuilder {
        let mut req = self.client.post(self.url.clone()).json(body);
        if let Some((name, value)) = &self.credential {
            req = req.header(name.clone(), value.clone());
        }
        req
    }
}

/// A response body, refused past [`MAX_RESPONSE_BYTES`].
pub(crate) async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, AuthEndpointError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(classify)? {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(AuthEndpointError::BadBody("body too large"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
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
        let resp = self.endpoint.post(&body).send().await.map_err(classify)?;
        match resp.status().as_u16() {
            200 => {}
            401 | 403 => return Ok(PasswordCheck::Invalid),
            other => return Err(AuthEndpointError::UnexpectedStatus(other)),
        }
        let bytes = read_body(resp).await?;
        parse_user(&bytes, username).map(PasswordCheck::Valid)
    }
}

pub(crate) fn classify(e: reqwest::Error) -> AuthEndpointError {
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
