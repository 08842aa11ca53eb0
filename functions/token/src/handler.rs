//! HTTP in, HTTP out: routes a request, parses it into the domain's terms, and maps every
//! outcome to a response in one place. No business rule lives here.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lambda_http::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_http::http::{Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tollgate_common::OAuthError;
use tollgate_common::audit::{self, Client, Event, Origin, UsernameHash};
use tollgate_common::client::{GrantType, ResponseProfile};
use tollgate_common::clock::{Deadline, SystemClock};
use tollgate_common::grant::short_hash;
use tollgate_common::observe::{self, Scope};
use tracing::{debug, info, trace};

use crate::form::{self, FormError};
use crate::response::{
    announce_sunset, error_response, error_with_status, json, revoked, success, token_error,
};
use crate::sessions;
use crate::state::AppState;
use tollgate_common::grant::TokenRequest;

/// What the request was, for the one log line it gets. Never holds a credential.
#[derive(Debug, Default)]
struct Outcome {
    route: &'static str,
    /// Only a client_id that authenticated; any other is logged as `client_id_hash`.
    client_id: Option<String>,
    client_id_hash: Option<String>,
    grant_type: Option<&'static str>,
    error: Option<&'static str>,
    /// A password grant's username, for the audit trail: only ever its hash.
    username_hash: Option<UsernameHash>,
}

/// The Lambda entry point. It never fails: every outcome is a response.
pub async fn handle(state: &AppState, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let started = Instant::now();
    trace!(method = %req.method(), "request received");
    let mut outcome = Outcome::default();
    let scope = Scope {
        origin: origin(&req),
        metrics: state.metrics.clone(),
    };
    let resp = observe::serve(scope.clone(), route(state, &req, &mut outcome)).await;
    info!(
        route = outcome.route,
        method = %req.method(),
        status = resp.status().as_u16(),
        error = outcome.error,
        client_id = outcome.client_id.as_deref(),
        client_id_hash = outcome.client_id_hash.as_deref(),
        grant_type = outcome.grant_type,
        latency_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    account(&scope, &outcome, resp.status(), started.elapsed());
    Ok(resp)
}

/// Where the request came from: the source IP as API Gateway saw it (never
/// `X-Forwarded-For`, which the caller writes), and the `User-Agent` header (API Gateway copies
/// the same value into its request context; emulators such as `cargo lambda` put their own).
fn origin(req: &Request) -> Origin {
    let header = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok());
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => Origin::new(
            c.identity.source_ip.as_deref(),
            header.or(c.identity.user_agent.as_deref()),
        ),
        Some(RequestContext::ApiGatewayV2(c)) => Origin::new(
            c.http.source_ip.as_deref(),
            header.or(c.http.user_agent.as_deref()),
        ),
        _ => Origin::new(None, header),
    }
}

/// The request's metrics, and the audit event of a refused `/token` request (the domain records
/// the other events where it decides them).
fn account(scope: &Scope, outcome: &Outcome, status: StatusCode, latency: Duration) {
    let token = outcome.route == "token";
    if !token && !matches!(outcome.route, "revoke" | "introspect" | "sessions_revoke") {
        return;
    }
    let grant_type = outcome.grant_type.unwrap_or("none");
    let grant = token.then(|| {
        (
            outcome.client_id.as_deref().unwrap_or("unauthenticated"),
            grant_type,
            outcome.error.unwrap_or("issued"),
        )
    });
    scope
        .metrics
        .request(status.is_server_error(), latency, grant);
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
    scope.metrics.write(&audit::render(
        &event,
        &scope.origin,
        tollgate_common::metrics::now_ms(),
    ));
}

async fn route(state: &AppState, req: &Request, outcome: &mut Outcome) -> Response<Body> {
    let path = req.uri().path().trim_end_matches('/');
    // Match by suffix so the function works behind any stage or base path.
    if path.ends_with("/.well-known/jwks.json") {
        outcome.route = "jwks";
        return get_only(req, outcome)
            .unwrap_or_else(|| json(StatusCode::OK, state.jwks.clone(), "public, max-age=300"));
    }
    if path.ends_with("/.well-known/oauth-authorization-server") {
        outcome.route = "metadata";
        return get_only(req, outcome).unwrap_or_else(|| {
            json(
                StatusCode::OK,
                state.metadata.clone(),
                "public, max-age=300",
            )
        });
    }
    // Before `/revoke`, which it ends with.
    if path.ends_with("/sessions/revoke") {
        outcome.route = "sessions_revoke";
        if req.method() != Method::POST {
            return method_not_allowed("POST", outcome);
        }
        return sessions::revoke(state, req, deadline(req), &mut outcome.error).await;
    }
    if path.ends_with("/introspect") {
        outcome.route = "introspect";
        if req.method() != Method::POST {
            return method_not_allowed("POST", outcome);
        }
        return introspect(state, req, outcome).await;
    }
    let endpoint = if path.ends_with("/token") {
        Some((FormEndpoint::Token, "token"))
    } else if path.ends_with("/revoke") {
        Some((FormEndpoint::Revoke, "revoke"))
    } else {
        None
    };
    if let Some((endpoint, name)) = endpoint {
        outcome.route = name;
        if req.method() != Method::POST {
            return method_not_allowed("POST", outcome);
        }
        return form_post(state, req, endpoint, outcome).await;
    }
    outcome.route = "unknown";
    outcome.error = Some("not_found");
    json(
        StatusCode::NOT_FOUND,
        r#"{"error":"not_found","error_description":"no such endpoint"}"#.into(),
        "no-store",
    )
}

fn get_only(req: &Request, outcome: &mut Outcome) -> Option<Response<Body>> {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    Some(method_not_allowed("GET", outcome))
}

/// 405 with `Allow`, as an RFC 6749 `invalid_request` body.
fn method_not_allowed(allow: &'static str, outcome: &mut Outcome) -> Response<Body> {
    let e = OAuthError::invalid_request(format!("use {allow}"));
    outcome.error = Some(e.code.as_str());
    let mut r = error_with_status(StatusCode::METHOD_NOT_ALLOWED, &e, false);
    r.headers_mut()
        .insert("allow", HeaderValue::from_static(allow));
    r
}

/// Which form endpoint a POST reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormEndpoint {
    Token,
    Revoke,
}

/// `POST /token` and `POST /revoke`: the same form and client-authentication rules, then the
/// domain decides.
async fn form_post(
    state: &AppState,
    req: &Request,
    endpoint: FormEndpoint,
    outcome: &mut Outcome,
) -> Response<Body> {
    let form_req = match read_form(req, outcome) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    // Only names Tollgate knows reach the log: never an arbitrary string a client sent.
    outcome.grant_type = form_req
        .params
        .get("grant_type")
        .map(|g| GrantType::parse(g).map_or("other", GrantType::as_str));
    if outcome.grant_type == Some(GrantType::Password.as_str()) {
        outcome.username_hash = form_req.params.get("username").map(|u| UsernameHash::of(u));
    }
    let basic = challenges_basic(req, form_req.credentials.is_some());
    let deadline = deadline(req);
    let (client_id, answer, result) = match endpoint {
        FormEndpoint::Token => {
            let h = state.service.handle_token(&form_req, deadline).await;
            let result = h.result.map(|t| success(&t, &h.answer));
            (h.client_id, h.answer, result)
        }
        FormEndpoint::Revoke => {
            let h = state.service.handle_revoke(&form_req, deadline).await;
            (h.client_id, h.answer, h.result.map(|()| revoked()))
        }
    };
    // A client_id that did not authenticate may be anything, even a secret pasted into the
    // wrong field: it is logged only as a short hash.
    outcome.client_id_hash = match (&client_id, &form_req.credentials) {
        (None, Some(c)) => Some(short_hash(&c.client_id)),
        _ => None,
    };
    outcome.client_id = client_id;
    let mut resp = result.unwrap_or_else(|e| {
        let (resp, oauth) = token_error(&e, basic, answer.profile);
        outcome.error = Some(oauth.code.as_str());
        resp
    });
    if let Some(s) = &answer.sunset {
        announce_sunset(&mut resp, s);
    }
    resp
}

/// `POST /introspect` (RFC 7662): the same form and client authentication as `/token`, its
/// own typed request, and `{"active": false}` for every token the caller may not see.
async fn introspect(state: &AppState, req: &Request, outcome: &mut Outcome) -> Response<Body> {
    let parsed = read_params(req, outcome).and_then(|(params, authorization)| {
        form::introspection_request(params, authorization)
            .map_err(|e| Box::new(form_error(&e, outcome)))
    });
    let ask = match parsed {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let basic = challenges_basic(req, ask.credentials.is_some());
    let h = state
        .service
        .handle_introspect(&state.introspector, &ask, deadline(req))
        .await;
    outcome.client_id_hash = match (&h.client_id, &ask.credentials) {
        (None, Some(c)) => Some(short_hash(&c.client_id)),
        _ => None,
    };
    outcome.client_id = h.client_id;
    match h.result {
        Ok(answer) => json(
            StatusCode::OK,
            serde_json::to_string(&answer).unwrap_or_else(|_| r#"{"active":false}"#.into()),
            "no-store",
        ),
        Err(e) => {
            let (resp, oauth) = token_error(&e, basic, ResponseProfile::Rfc6749);
            outcome.error = Some(oauth.code.as_str());
            resp
        }
    }
}

/// The form-encoded request with its client credentials, or the error response that refuses it.
fn read_form(req: &Request, outcome: &mut Outcome) -> Result<TokenRequest, Box<Response<Body>>> {
    let (params, authorization) = read_params(req, outcome)?;
    form::token_request(params, authorization).map_err(|e| Box::new(form_error(&e, outcome)))
}

/// The form's parameters and the `Authorization` header, or the error response that refuses
/// them.
type Params<'r> = (HashMap<String, String>, Option<&'r str>);

fn read_params<'r>(
    req: &'r Request,
    outcome: &mut Outcome,
) -> Result<Params<'r>, Box<Response<Body>>> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !form::is_form(content_type) {
        let e =
            OAuthError::invalid_request("Content-Type must be application/x-www-form-urlencoded");
        outcome.error = Some(e.code.as_str());
        return Err(Box::new(error_response(&e, false)));
    }
    let parsed = authorization(req).and_then(|authorization| {
        form::parse_form(req.body().as_ref()).map(|p| (p, authorization))
    });
    parsed.map_err(|e| Box::new(form_error(&e, outcome)))
}

/// Whether a 401 carries `WWW-Authenticate: Basic` (RFC 6749 §5.2): unless the client
/// authenticated in the body (credentials there, and no `Authorization` header).
fn challenges_basic(req: &Request, has_credentials: bool) -> bool {
    req.headers().contains_key("authorization") || !has_credentials
}

/// The `Authorization` header, if any; one that is not visible ASCII is a Basic attempt gone
/// wrong.
fn authorization(req: &Request) -> Result<Option<&str>, FormError> {
    match req.headers().get("authorization").map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(v)) => Ok(Some(v)),
        Some(Err(_)) => Err(FormError::BadClient {
            description: "malformed Authorization header",
            basic: true,
        }),
    }
}

/// Lambda's deadline for this invocation; none when the request did not come through the
/// runtime.
fn deadline(req: &Request) -> Deadline {
    let deadline = req.lambda_context_ref().map_or(Deadline::none(), |c| {
        Deadline::from_lambda(c.deadline, &SystemClock)
    });
    debug!(
        remaining_ms =
            u64::try_from(deadline.remaining(&SystemClock).as_millis()).unwrap_or(u64::MAX),
        "invocation deadline"
    );
    deadline
}

fn form_error(e: &FormError, outcome: &mut Outcome) -> Response<Body> {
    let oauth = e.to_oauth();
    outcome.error = Some(oauth.code.as_str());
    let basic = matches!(e, FormError::BadClient { basic: true, .. });
    match e {
        FormError::TooLarge => error_with_status(StatusCode::PAYLOAD_TOO_LARGE, &oauth, basic),
        _ => error_response(&oauth, basic),
    }
}
