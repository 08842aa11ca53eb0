//! The side the SDK talks to: each request is read whole, checked against the rules, and sent
//! on to DynamoDB in a task of its own, so DynamoDB receives and applies it even when its caller
//! hangs up meanwhile; then its answer is passed back, lost, held back or delayed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::request::Parts;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::record::{self, Record};
use crate::rules::Action;
use crate::{Counters, Proxy};

/// DynamoDB's largest request is 16 MB (a batch write); anything bigger is not DynamoDB's.
const MAX_BODY: usize = 32 << 20;
/// How long DynamoDB may take to answer one request before the caller gets a 502.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// Headers that belong to one connection, or that the proxy sets itself.
const NOT_FORWARDED: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

pub(crate) type Upstream = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn upstream_client() -> Upstream {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Closes the caller's connection without an answer.
#[derive(Debug)]
pub(crate) struct Dropped;
impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answer dropped on purpose")
    }
}
impl std::error::Error for Dropped {}

pub(crate) async fn serve(listener: TcpListener, proxy: Arc<Proxy>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(proxy.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// One request as it came, with what the rules made of it.
struct Exchange {
    seq: u64,
    parts: Parts,
    body: Bytes,
    target: Option<String>,
    taken: Option<(u64, Action)>,
}

async fn handle(
    proxy: Arc<Proxy>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|_| Dropped)?
        .to_bytes();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let taken = proxy.rules.take(target.as_deref(), &body);
    if let Some((_, Action::Stall { ms })) = taken {
        proxy.stall.start(ms);
    }
    let exchange = Exchange {
        seq: proxy.seq.fetch_add(1, Ordering::Relaxed) + 1,
        parts,
        body,
        target,
        taken,
    };
    // Its own task: dropping this future (the caller hung up) must not stop the request.
    let (tx, rx) = oneshot::channel();
    let forwarding = proxy.clone();
    tokio::spawn(async move {
        let _ = tx.send(forwarding.forward(exchange).await);
    });
    let answer = rx.await.map_err(|_| Dropped)?;
    match taken.map(|(_, action)| action) {
        None | Some(Action::Stall { .. }) => Ok(answer),
        Some(Action::Drop) => Err(Dropped),
        Some(Action::Swallow) => std::future::pending().await,
        Some(Action::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(answer)
        }
    }
}

impl Proxy {
    /// Sends the request to DynamoDB once any stall is over, and holds its answer while a stall
    /// lasts; counts and records what became of it.
    async fn forward(&self, ex: Exchange) -> Response<Full<Bytes>> {
        let held_before = self.stall.pass().await;
        let operation = record::operation(ex.target.as_deref());
        let parsed: Option<Value> = serde_json::from_slice(&ex.body).ok();
        let body = if self.recorder.settings().inject_capacity {
            parsed
                .as_ref()
                .and_then(|v| record::with_capacity_asked(&operation, v))
                .and_then(|v| serde_json::to_vec(&v).ok())
                .map_or_else(|| ex.body.clone(), Bytes::from)
        } else {
            ex.body.clone()
        };
        Counters::add(&self.counters.forwarded);
        let sent = tokio::time::timeout(UPSTREAM_TIMEOUT, self.send(&ex.parts, body)).await;
        let answer = sent.unwrap_or_else(|_| Err("DynamoDB did not answer in 60 s".into()));
        let held_after = self.stall.pass().await;
        if held_before || held_after {
            Counters::add(&self.counters.stalled);
        }
        let outcome = self.count_outcome(ex.taken.map(|(_, a)| a), answer.is_ok());
        let (status, bytes, response) = match answer {
            Ok((status, response, bytes)) => (status, bytes, response),
            Err(e) => (0, Bytes::new(), bad_gateway(&e)),
        };
        let record = Record {
            seq: ex.seq,
            tables: parsed.as_ref().map(record::tables).unwrap_or_default(),
            operation,
            status,
            outcome: outcome.into(),
            rule: ex.taken.map(|(id, _)| id),
            consumed_capacity: record::consumed_capacity(&bytes),
            request_bytes: ex.body.len(),
            response_bytes: bytes.len(),
        };
        self.recorder.keep(record, ex.body.to_vec());
        response
    }

    fn count_outcome(&self, action: Option<Action>, answered: bool) -> &'static str {
        let (counter, outcome) = match (action, answered) {
            (_, false) => (&self.counters.upstream_errors, "upstream_error"),
            (None | Some(Action::Stall { .. }), true) => (&self.counters.answered, "answered"),
            (Some(Action::Drop), true) => (&self.counters.dropped, "dropped"),
            (Some(Action::Swallow), true) => (&self.counters.swallowed, "swallowed"),
            (Some(Action::Delay { .. }), true) => (&self.counters.delayed, "delayed"),
        };
        Counters::add(counter);
        if matches!(action, Some(Action::Delay { .. })) && answered {
            Counters::add(&self.counters.answered);
        }
        outcome
    }

    /// One round trip to DynamoDB: its status, the answer for the caller, and the answer's body.
    async fn send(
        &self,
        parts: &Parts,
        body: Bytes,
    ) -> Result<(u16, Response<Full<Bytes>>, Bytes), String> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri = format!(
            "{}{}",
            self.upstream.to_string().trim_end_matches('/'),
            path
        );
        let mut req = Request::builder().method(parts.method.clone()).uri(uri);
        for (name, value) in &parts.headers {
            if !NOT_FORWARDED.contains(&name.as_str()) {
                req = req.header(name, value);
            }
        }
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        let answer = self.client.request(req).await.map_err(|e| e.to_string())?;
        let (head, incoming) = answer.into_parts();
        let bytes = incoming
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let mut out = Response::builder().status(head.status);
        for (name, value) in &head.headers {
            if !NOT_FORWARDED.contains(&name.as_str()) {
                out = out.header(name, value);
            }
        }
        let out = out
            .body(Full::new(bytes.clone()))
            .map_err(|e| e.to_string())?;
        Ok((head.status.as_u16(), out, bytes))
    }
}

fn bad_gateway(why: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!(
        "ddb-proxy: no answer from DynamoDB: {why}\n"
    ))));
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    r
}
