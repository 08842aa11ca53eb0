//! The reader's HTTP/1.1 client: hyper (already in the authorizer through the Lambda runtime)
//! over rustls on aws-lc, trusting the Mozilla roots compiled in, and plain HTTP for DynamoDB
//! Local. One pooled connection is kept between reads.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::RootCertStore;

/// Longest answer read: a Query page is at most 1 MB of items, plus their JSON.
const MAX_BODY: usize = 4 << 20;
/// An idle connection is kept this long (DynamoDB closes idle ones after about a minute).
const POOL_IDLE: Duration = Duration::from_secs(50);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("TLS configuration refused")]
    Tls(#[source] rustls::Error),
    #[error("request could not be built")]
    Build(#[source] http::Error),
    #[error("request failed")]
    Send(#[source] hyper_util::client::legacy::Error),
    #[error("answer could not be read")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What came back: the status and the body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// An HTTPS (and HTTP) client for one endpoint's POSTs.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    /// TLS 1.2+ on aws-lc with the compiled-in Mozilla roots; each connect bounded by
    /// `connect_timeout`.
    pub fn new(connect_timeout: Duration) -> Result<Self, HttpError> {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(HttpError::Tls)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(1)
            .pool_timer(TokioTimer::new())
            .build(https);
        Ok(Self { client })
    }

    /// POSTs `body` to `uri` with `headers`; the answer whole (at most 4 MiB).
    pub async fn post(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Answer, HttpError> {
        let mut req = http::Request::post(uri);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(HttpError::Build)?;
        let res = self.client.request(req).await.map_err(HttpError::Send)?;
        let status = res.status().as_u16();
        let body = Limited::new(res.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(HttpError::Body)?
            .to_bytes();
        Ok(Answer { status, body })
    }
}
