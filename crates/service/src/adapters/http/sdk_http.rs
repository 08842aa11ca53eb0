//! The AWS SDK's HTTP client on the token function's one TLS stack (`tls::Https`), so the SDK
//! and the auth endpoint share one root store and one set of TLS/HTTP crates.
//!
//! The SDK bounds each attempt and the whole operation itself (`sdk::sdk_config`); this client
//! only sends. Connect timeouts come from the connector; errors are classified the way the SDK's
//! own hyper client does, so its retry rules see the same kinds (I/O, timeout, other).

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::tls::Https;

/// How long an idle pooled connection is kept (Lambda freezes between requests; AWS closes
/// idle connections after about a minute).
pub const POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(50);

/// An SDK HTTP client sending through `https`.
pub fn sdk_http_client(https: Https) -> SharedHttpClient {
    let client = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_timer(TokioTimer::new())
        .build(https);
    SharedHttpClient::new(SdkClient(SharedHttpConnector::new(SdkConnector(client))))
}

#[derive(Debug)]
struct SdkClient(SharedHttpConnector);

impl HttpClient for SdkClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.clone()
    }
}

#[derive(Debug)]
struct SdkConnector(Client<Https, SdkBody>);

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(r) => r,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let sent = self.0.request(request);
        HttpConnectorFuture::new(async move {
            match sent.await {
                Ok(resp) => Response::try_from(resp.map(SdkBody::from_body_1_x))
                    .map_err(|e| ConnectorError::other(e.into(), None)),
                Err(e) => Err(classify(e)),
            }
        })
    }
}

/// Connection failures and hang-ups are I/O (retried); a timeout is a timeout; an incomplete
/// answer is transient; anything else is left to the SDK as "other".
fn classify(e: hyper_util::client::legacy::Error) -> ConnectorError {
    let timed_out =
        find::<std::io::Error>(&e).is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
    let hyper = find::<hyper::Error>(&e);
    if timed_out || hyper.is_some_and(|h| h.is_timeout()) {
        return ConnectorError::timeout(e.into());
    }
    if e.is_connect()
        || find::<std::io::Error>(&e).is_some()
        || hyper.is_some_and(|h| h.is_closed() || h.is_canceled())
    {
        return ConnectorError::io(e.into());
    }
    if hyper.is_some_and(|h| h.is_incomplete_message()) {
        return ConnectorError::other(e.into(), Some(ErrorKind::TransientError));
    }
    ConnectorError::other(e.into(), None)
}

/// The first error of type `E` in `e`'s source chain.
pub(crate) fn find<'a, E: StdError + 'static>(e: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        next = err.source();
    }
    None
}
