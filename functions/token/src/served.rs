//! What a request came to: each endpoint returns its answer with an [`Outcome`], and the
//! handler turns that into the line that ends the request (a counted route's `Requests`
//! document, which is its log line too; any other route's `request` log line), and the audit
//! line of a refused `/token` request. Nothing is filled in through a reference: the log context of
//! lines written while the request runs is the `request` span (see `handler`).

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use tollgate_telemetry::audit::{Client, Event, UsernameHash};
use tollgate_telemetry::metrics::{Metrics, RequestLog};
use tollgate_telemetry::observe;

use crate::route::Route;

/// What the logs, metrics and audit trail say about one request. Never holds a credential.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Only a client_id that authenticated; any other is logged as `client_id_hash`.
    pub client_id: Option<String>,
    pub client_id_hash: Option<String>,
    /// A name Tollgate knows (or `other`), never the caller's string.
    pub grant_type: Option<&'static str>,
    /// The OAuth error code of a refusal.
    pub error: Option<&'static str>,
    /// A password grant's username, for the audit trail: only ever its hash.
    pub username_hash: Option<UsernameHash>,
}

/// An endpoint's answer and what it came to.
#[derive(Debug)]
pub struct Served {
    pub resp: Response<Body>,
    pub outcome: Outcome,
}

impl Served {
    pub fn answered(resp: Response<Body>) -> Self {
        Self {
            resp,
            outcome: Outcome::default(),
        }
    }

    /// A refusal with its OAuth error code.
    pub fn refused(resp: Response<Body>, error: &'static str) -> Self {
        Self {
            resp,
            outcome: Outcome {
                error: Some(error),
                ..Outcome::default()
            },
        }
    }
}

/// How a request was asked: what its line says besides its outcome.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub route: Route,
    pub method: &'a str,
    /// Lambda's id of the invocation (absent outside Lambda).
    pub request_id: Option<&'a str>,
}

/// A counted endpoint's request ended: its `Requests` document (its metrics and its log line),
/// and for `/token` the audit line of a refusal (the domain records the other events where it
/// decides them), written as every audit line is, through the request's scope
/// (`observe::event`). The caller logs the other routes' `request` line.
pub fn account(
    metrics: &Metrics,
    asked: Asked<'_>,
    outcome: &Outcome,
    status: StatusCode,
    latency: Duration,
) {
    let route = asked.route;
    debug_assert!(route.counted(), "{route:?} has no Requests document");
    let token = route == Route::Token;
    let grant_type = outcome.grant_type.unwrap_or("none");
    let grant = token.then(|| {
        (
            outcome.client_id.as_deref().unwrap_or("unauthenticated"),
            grant_type,
            outcome.error.unwrap_or("issued"),
        )
    });
    let log = RequestLog {
        route: route.name(),
        method: asked.method,
        status: status.as_u16(),
        error: outcome.error,
        client_id: outcome.client_id.as_deref(),
        client_id_hash: outcome.client_id_hash.as_deref(),
        request_id: asked.request_id,
    };
    metrics.request(status.is_server_error(), latency, grant, &log);
    let Some(reason) = outcome.error.filter(|_| token) else {
        return;
    };
    let client = match (&outcome.client_id, &outcome.client_id_hash) {
        (Some(id), _) => Client::Authenticated(id),
        (None, Some(hash)) => Client::Hashed(hash),
        (None, None) => Client::Absent,
    };
    let event = Event::TokenRefused {
        grant_type: outcome.grant_type,
        client,
        reason,
        status: status.as_u16(),
        username_hash: outcome.username_hash.clone(),
    };
    observe::event(&event);
}
