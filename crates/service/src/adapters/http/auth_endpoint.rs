//! The HTTP adapter of the password check: one pooled hyper client on the token function's TLS
//! stack (`tls::Https`), built once at cold start, every call bounded by its own timeouts. The
//! user-status adapter (`user_status_http`) posts through the same [`Endpoint`].

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tollgate_oauth::secret::Secret;

use super::sdk_http::{POOL_IDLE, find};
use super::tls::Https;
use crate::lockout::canonical_username;
use crate::password::{AuthEndpointError, PasswordCheck, PasswordVerifier, parse_user};

/// Answers over this size are treated as nonsense: a user record is small.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Settings of the HTTP adapter.
#[derive(Debug, Clone)]
pub struct AuthEndpointConfig {
    pub url: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// An optional shared credential sent as a header, e.g. `x-api-key`.
    pub credential: Option<(String, Secret)>,
}

/// The HTTP adapter: one pooled client, built once at cold start.
pub struct HttpPasswordVerifier {
    endpoint: Endpoint,
}

/// One endpoint of the organisation's: its URL, a pooled client with the configured timeouts
/// (no redirects: hyper follows none), and the shared credential header.
pub(crate) struct Endpoint {
    client: Client<Https, Full<Bytes>>,
    uri: Uri,
    timeout: Duration,
    /// The shared credential and, when the URL carries `user:password@`, its Basic header.
    headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthEndpointSetupError {
    #[error("the URL is not a valid http(s) URL")]
    BadUrl,
    #[error("auth endpoint credential header name or value is not valid in HTTP")]
    BadCredentialHeader,
    #[error("failed to set up TLS for the auth endpoint")]
    Tls(#[from] super::tls::TlsSetupError),
}

/// No answer (headers and body) within the configured timeout.
#[derive(Debug, thiserror::Error)]
#[error("no complete answer within {0:?}")]
struct Elapsed(Duration);

impl HttpPasswordVerifier {
    /// A verifier on its own connector: compiled-in roots, the configured connect timeout.
    pub fn new(cfg: &AuthEndpointConfig) -> Result<Self, AuthEndpointSetupError> {
        Ok(Self {
            endpoint: Endpoint::new(cfg)?,
        })
    }

    /// A verifier sending through `https` (whose connect timeout applies).
    pub fn with_connector(
        cfg: &AuthEndpointConfig,
        https: Https,
    ) -> Result<Self, AuthEndpointSetupError> {
        Ok(Self {
            endpoint: Endpoint::with_connector(cfg, https)?,
        })
    }
}

impl Endpoint {
    pub(crate) fn new(cfg: &AuthEndpointConfig) -> Result<Self, AuthEndpointSetupError> {
        let roots = super::tls::root_store(None)?;
        Self::with_connector(
            cfg,
            super::tls::https_connector(roots, cfg.connect_timeout)?,
        )
    }

    pub(crate) fn with_connector(
        cfg: &AuthEndpointConfig,
        https: Https,
    ) -> Result<Self, AuthEndpointSetupError> {
        let (uri, basic) = split_url(&cfg.url)?;
        let mut headers = Vec::new();
        if let Some(mut value) = basic {
            value.set_sensitive(true);
            headers.push((AUTHORIZATION, value));
        }
        if let Some((name, value)) = &cfg.credential {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| AuthEndpointSetupError::BadCredentialHeader)?;
            let mut value = HeaderValue::from_str(value.expose())
                .map_err(|_| AuthEndpointSetupError::BadCredentialHeader)?;
            value.set_sensitive(true);
            headers.push((name, value));
        }
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_timer(TokioTimer::new())
            .build(https);
        Ok(Self {
            client,
            uri,
            timeout: cfg.timeout,
            headers,
        })
    }

    /// POSTs `body` (JSON) within the configured timeout: the status, and the body of a `200`.
    pub(crate) async fn post_json(
        &self,
        body: &serde_json::Value,
    ) -> Result<(u16, Vec<u8>), AuthEndpointError> {
        let body = serde_json::to_vec(body)
            .map_err(|_| AuthEndpointError::BadBody("request not serialisable"))?;
        let answer = tokio::time::timeout(self.timeout, self.post(body)).await;
        answer.map_err(|_| AuthEndpointError::Timeout(Box::new(Elapsed(self.timeout))))?
    }

    async fn post(&self, body: Vec<u8>) -> Result<(u16, Vec<u8>), AuthEndpointError> {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("tollgate/", env!("CARGO_PKG_VERSION")));
        for (name, value) in &self.headers {
            req = req.header(name.clone(), value.clone());
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| AuthEndpointError::Unreachable(Box::new(e)))?;
        let resp = self.client.request(req).await.map_err(classify)?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Ok((status, Vec::new()));
        }
        match Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
        {
            Ok(body) => Ok((status, body.to_bytes().to_vec())),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                Err(AuthEndpointError::BadBody("body too large"))
            }
            Err(e) => Err(AuthEndpointError::Unreachable(e)),
        }
    }
}

/// The URL without its user information, and that information as a Basic header (as HTTP
/// clients do for `https://user:password@host/`).
fn split_url(url: &str) -> Result<(Uri, Option<HeaderValue>), AuthEndpointSetupError> {
    let uri: Uri = url.parse().map_err(|_| AuthEndpointSetupError::BadUrl)?;
    let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
    let (Some("http" | "https"), Some(authority)) = (scheme.as_deref(), uri.authority()) else {
        return Err(AuthEndpointSetupError::BadUrl);
    };
    let Some((userinfo, host)) = authority.as_str().rsplit_once('@') else {
        return Ok((uri, None));
    };
    let (userinfo, host) = (userinfo.to_owned(), host.to_owned());
    let (user, password) = userinfo.split_once(':').unwrap_or((&userinfo, ""));
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        decode(user),
        decode(password)
    ));
    let header = HeaderValue::from_str(&format!("Basic {basic}"))
        .map_err(|_| AuthEndpointSetupError::BadUrl)?;
    let mut parts = uri.into_parts();
    parts.authority = Some(host.parse().map_err(|_| AuthEndpointSetupError::BadUrl)?);
    let uri = Uri::from_parts(parts).map_err(|_| AuthEndpointSetupError::BadUrl)?;
    Ok((uri, Some(header)))
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
        let (status, bytes) = self.endpoint.post_json(&body).await?;
        match status {
            // Without a `sub`, the user is named by the username's canonical form, the one
            // lockout counts: `ALICE` and `alice` are one person, not two subjects.
            200 => parse_user(&bytes, &canonical_username(username)).map(PasswordCheck::Valid),
            401 | 403 => Ok(PasswordCheck::Invalid),
            other => Err(AuthEndpointError::UnexpectedStatus(other)),
        }
    }
}

/// A connect that timed out is a timeout; anything else on the way is "unreachable". Hyper's
/// errors never carry the URL or the request, so nothing secret rides along.
fn classify(e: hyper_util::client::legacy::Error) -> AuthEndpointError {
    let timed_out =
        find::<std::io::Error>(&e).is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
    let e: BoxError = Box::new(e);
    if timed_out {
        AuthEndpointError::Timeout(e)
    } else {
        AuthEndpointError::Unreachable(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_become_a_basic_header_and_leave_the_url() {
        let (uri, basic) = split_url("https://svc:p%40ss@auth.example:8443/check?x=1").unwrap();
        assert_eq!(uri.to_string(), "https://auth.example:8443/check?x=1");
        let expected = base64::engine::general_purpose::STANDARD.encode("svc:p@ss");
        assert_eq!(
            basic.unwrap().to_str().unwrap(),
            format!("Basic {expected}")
        );
        let (uri, basic) = split_url("http://127.0.0.1:9/").unwrap();
        assert_eq!(uri.to_string(), "http://127.0.0.1:9/");
        assert!(basic.is_none());
    }

    #[test]
    fn setup_rejects_urls_without_a_host() {
        for url in ["https:///path", "/relative", "", "http//x"] {
            assert!(split_url(url).is_err(), "{url}");
        }
    }

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
