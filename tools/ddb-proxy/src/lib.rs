//! A fault proxy in front of DynamoDB Local, for tests (never deployed). It forwards the SDK's
//! HTTP/1.1 requests to DynamoDB Local and, on command over its control port, loses, holds
//! back or delays the answers of chosen requests after DynamoDB has applied them (`rules`),
//! stalls every request and answer for a while like a frozen DynamoDB (`stall`: now, or when a
//! rule's request comes), and records
//! what it forwarded with the capacity DynamoDB reports (`record`). docs/testing.md shows how
//! the tests use it; `control` lists the control API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

mod control;
mod forward;
pub mod record;
pub mod rules;
pub mod stall;

pub use record::{Record, RecordSettings};
pub use rules::{Action, RuleSpec, RuleState};
pub use stall::StallState;

/// Where the proxy listens, where it forwards, and whether it records from the start.
#[derive(Debug, Clone)]
pub struct Config {
    /// DynamoDB Local's base URL, `http://127.0.0.1:PORT`.
    pub upstream: String,
    /// Where the SDK connects (port 0: one the system picks).
    pub listen: SocketAddr,
    /// The control API (port 0: one the system picks).
    pub control: SocketAddr,
    pub record: RecordSettings,
}

/// A running proxy: the addresses it bound, and its state.
#[derive(Debug, Clone)]
pub struct Running {
    pub proxy_addr: SocketAddr,
    pub control_addr: SocketAddr,
    pub proxy: Arc<Proxy>,
}

/// The proxy's state, shared by its two servers.
#[derive(Debug)]
pub struct Proxy {
    upstream: http::Uri,
    client: forward::Upstream,
    pub rules: rules::Rules,
    pub stall: stall::Stall,
    pub recorder: record::Recorder,
    counters: Counters,
    seq: AtomicU64,
}

/// What the proxy has done since it started (`GET /stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests sent on to DynamoDB.
    pub forwarded: u64,
    /// Answers passed back (late ones included).
    pub answered: u64,
    /// Answers lost on purpose, connection closed.
    pub dropped: u64,
    /// Answers never given, connection left open.
    pub swallowed: u64,
    /// Answers passed back late by a `delay` rule.
    pub delayed: u64,
    /// Requests that a stall held back (before DynamoDB, or their answer after it).
    pub stalled: u64,
    /// Requests DynamoDB did not answer (502 to the caller).
    pub upstream_errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    forwarded: AtomicU64,
    answered: AtomicU64,
    dropped: AtomicU64,
    swallowed: AtomicU64,
    delayed: AtomicU64,
    stalled: AtomicU64,
    upstream_errors: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            forwarded: get(&self.forwarded),
            answered: get(&self.answered),
            dropped: get(&self.dropped),
            swallowed: get(&self.swallowed),
            delayed: get(&self.delayed),
            stalled: get(&self.stalled),
            upstream_errors: get(&self.upstream_errors),
        }
    }
}

impl Proxy {
    pub fn new(upstream: &str, record: RecordSettings) -> anyhow::Result<Self> {
        let upstream: http::Uri = upstream
            .parse()
            .with_context(|| format!("upstream {upstream:?} is not a URL"))?;
        if upstream.scheme_str() != Some("http") || upstream.authority().is_none() {
            anyhow::bail!("upstream {upstream} must be http://HOST:PORT (DynamoDB Local)");
        }
        Ok(Self {
            upstream,
            client: forward::upstream_client(),
            rules: Default::default(),
            stall: Default::default(),
            recorder: record::Recorder::new(record, record::DEFAULT_CAPACITY),
            counters: Default::default(),
            seq: AtomicU64::new(0),
        })
    }

    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}

/// Binds both ports, then serves them in the background; returns the bound addresses.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let proxy = Arc::new(Proxy::new(&config.upstream, config.record)?);
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("failed to listen on {}", config.listen))?;
    let control = TcpListener::bind(config.control)
        .await
        .with_context(|| format!("failed to listen on {}", config.control))?;
    let running = Running {
        proxy_addr: listener.local_addr().context("no local address")?,
        control_addr: control.local_addr().context("no local address")?,
        proxy: proxy.clone(),
    };
    tokio::spawn(forward::serve(listener, proxy.clone()));
    tokio::spawn(control::serve(control, proxy));
    Ok(running)
}
