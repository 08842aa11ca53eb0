//! HTTP in, HTTP out: routes a request, parses it into the domain's terms, and maps every
//! outcome to a response in one place. No business rule lives here.

use std::collections::HashMap;
use std::time::Instant;

use lambda_http::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_http::http::{Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tollgate_oauth::OAuthError;
use tollgate_oauth::clock::{Deadline, SystemClock};
use tollgate_oauth::error::{Description, Fact};
use tollgate_service::client::{ClientCredentials, ResponseProfile};
use tollgate_service::error::TokenError;
use tollgate_telemetry::audit::Origin;
use tollgate_telemetry::observe::{self, Scope};
use tracing::{Instrument, Span, debug, field, info, info_span, trace};

use crate::authorize;
use crate::form::{self, FormError};
use crate::oidc;
use crate::response::{
    announce_sunset, error_response, error_with_status, json, revoked, success, token_error,
};
use crate::route::Route;
use crate::served::{Asked, Served, account};
use crate::sessions;
use crate::state::AppState;

/// The Lambda entry point. It never fails: every outcome is a response. Lines logged while the
/// request runs carry the `request` span (its route, and the client once it authenticated); the
/// request ends with one line that says what it came to: a counted route's `Requests` document
/// (its metrics and its log line in one), any other route's `request` log line.
pub async fn handle(state: &AppState, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let started = Instant::now();
    trace!(method = %req.method(), "request received");
    let route = Route::of(req.uri().path());
    let scope = Scope::new(origin(&req), state.metrics.clone());
    // Every audit line of the request, the domain's and its own refusal, is written in its scope.
    Ok(observe::serve(scope, served(state, &req, route, started)).await)
}

/// Serves the request, then says what it came to: its `Requests` document (or its `request`
/// line) and, for a refused `/token` request, its audit line.
async fn served(state: &AppState, req: &Request, route: Route, started: Instant) -> Response<Body> {
    let span = info_span!(
        "request",
        route = route.name(),
        grant_type = field::Empty,
        client_id = field::Empty
    );
    let Served { resp, outcome } = serve(state, req, route).instrument(span).await;
    // Its dependency calls, one line per dependency, before the lines that end it.
    observe::write_calls();
    if !route.counted() {
        info!(
            route = route.name(),
            method = %req.method(),
            status = resp.status().as_u16(),
            error = outcome.error,
            latency_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        return resp;
    }
    let asked = Asked {
        route,
        method: req.method().as_str(),
        request_id: req.lambda_context_ref().map(|c| c.request_id.as_str()),
    };
    account(
        &state.metrics,
        asked,
        &outcome,
        resp.status(),
        started.elapsed(),
    );
    resp
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

async fn serve(state: &AppState, req: &Request, route: Route) -> Served {
    match route {
        Route::Jwks => document(req, &state.jwks),
        Route::Metadata => document(req, &state.metadata),
        Route::OpenIdConfiguration => document(req, &state.openid_configuration),
        Route::Userinfo if matches!(*req.method(), Method::GET | Method::POST) => {
            oidc::userinfo(&state.service, &state.introspector, req, deadline(req)).await
        }
        Route::EndSession if matches!(*req.method(), Method::GET | Method::POST) => {
            let page = &state.sign_in.branding;
            oidc::end_session(&state.service, &state.hints, page, req, deadline(req)).await
        }
        Route::Userinfo | Route::EndSession => method_not_allowed("GET, POST"),
        Route::Unknown => Served::refused(
            json(
                StatusCode::NOT_FOUND,
                r#"{"error":"not_found","error_description":"no such endpoint"}"#.into(),
                "no-store",
            ),
            "not_found",
        ),
        Route::Authorize => {
            let e = authorize::Endpoint {
                service: &state.service,
                page: &state.sign_in,
            };
            match *req.method() {
                Method::GET | Method::HEAD => authorize::show(e, req, deadline(req)).await,
                Method::POST => authorize::post(e, req, deadline(req)).await,
                _ => method_not_allowed("GET, POST"),
            }
        }
        _ if req.method() != Method::POST => method_not_allowed("POST"),
        Route::SessionsRevoke => sessions::revoke(state, req, deadline(req)).await,
        Route::Introspect => introspect(state, req).await,
        Route::Revoke => revoke(state, req).await,
        Route::Token => token(state, req).await,
    }
}

/// A discovery document (`GET` or `HEAD`), cacheable for five minutes.
fn document(req: &Request, body: &str) -> Served {
    get_only(req).unwrap_or_else(|| {
        Served::answered(json(StatusCode::OK, body.to_owned(), "public, max-age=300"))
    })
}

fn get_only(req: &Request) -> Option<Served> {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    Some(method_not_allowed("GET"))
}

/// 405 with `Allow`, as an RFC 6749 `invalid_request` body.
fn method_not_allowed(allow: &'static str) -> Served {
    let e = OAuthError::invalid_request(Description::with("use {}", &[Fact::Name(allow)]));
    let mut r = error_with_status(StatusCode::METHOD_NOT_ALLOWED, &e, false);
    r.headers_mut()
        .insert("allow", HeaderValue::from_static(allow));
    Served::refused(r, e.code.as_str())
}

/// `POST /token`: the form and the client's credentials, then the domain decides.
async fn token(state: &AppState, req: &Request) -> Served {
    let form_req = match read_form(req, form::token_request) {
        Ok(r) => r,
        Err(served) => return *served,
    };
    // Only names Tollgate knows reach the log: never an arbitrary string a client sent.
    let grant_type = form_req.grant_type.log_name();
    Span::current().record("grant_type", grant_type);
    let basic = challenges_basic(req, form_req.credentials.is_some());
    let h = state.service.handle_token(&form_req, deadline(req)).await;
    let mut served = match h.result {
        Ok(t) => Served::answered(success(&t, &h.answer)),
        Err(e) => refusal(&e, basic, h.answer.profile),
    };
    if let Some(s) = &h.answer.sunset {
        announce_sunset(&mut served.resp, s, state.sunset_link.as_deref());
    }
    served.outcome.grant_type = grant_type;
    served.outcome.username_hash = form_req.username_hash.clone();
    by_client(served, h.client_id, form_req.credentials.as_ref())
}

/// `POST /revoke` (RFC 7009): the same form and client authentication as `/token`.
async fn revoke(state: &AppState, req: &Request) -> Served {
    let ask = match read_form(req, form::revocation_request) {
        Ok(r) => r,
        Err(served) => return *served,
    };
    let basic = challenges_basic(req, ask.credentials.is_some());
    let h = state
        .service
        .handle_revoke(&state.introspector, &ask, deadline(req))
        .await;
    let served = match h.result {
        Ok(()) => Served::answered(revoked()),
        Err(e) => refusal(&e, basic, h.answer.profile),
    };
    by_client(served, h.client_id, ask.credentials.as_ref())
}

/// The refusal of a request the domain turned down, in the client's answer shape.
fn refusal(e: &TokenError, basic: bool, profile: ResponseProfile) -> Served {
    let (resp, oauth) = token_error(e, basic, profile);
    Served::refused(resp, oauth.code.as_str())
}

/// Which client the request was: its id once it authenticated. A client_id that did not
/// authenticate may be anything, even a secret pasted into the wrong field: it is logged only as
/// a short hash.
fn by_client(
    mut served: Served,
    authenticated: Option<String>,
    presented: Option<&ClientCredentials>,
) -> Served {
    served.outcome.client_id_hash = match (&authenticated, presented) {
        (None, Some(c)) => Some(c.id_hash()),
        _ => None,
    };
    served.outcome.client_id = authenticated;
    served
}

/// `POST /introspect` (RFC 7662): the same form and client authentication as `/token`, its
/// own typed request, and `{"active": false}` for every token the caller may not see.
async fn introspect(state: &AppState, req: &Request) -> Served {
    let ask = match read_form(req, form::introspection_request) {
        Ok(r) => r,
        Err(served) => return *served,
    };
    let basic = challenges_basic(req, ask.credentials.is_some());
    let h = state
        .service
        .handle_introspect(&state.introspector, &ask, deadline(req))
        .await;
    let served = match h.result {
        Ok(answer) => Served::answered(json(
            StatusCode::OK,
            serde_json::to_string(&answer).unwrap_or_else(|_| r#"{"active":false}"#.into()),
            "no-store",
        )),
        Err(e) => refusal(&e, basic, ResponseProfile::Rfc6749),
    };
    by_client(served, h.client_id, ask.credentials.as_ref())
}

/// The request `build` makes of the form and the `Authorization` header, or the refusal.
fn read_form<T>(
    req: &Request,
    build: impl FnOnce(HashMap<String, String>, Option<&str>) -> Result<T, FormError>,
) -> Result<T, Box<Served>> {
    let (params, authorization) = read_params(req)?;
    build(params, authorization).map_err(|e| Box::new(form_refusal(&e)))
}

/// The form's parameters and the `Authorization` header, or the error response that refuses
/// them.
type Params<'r> = (HashMap<String, String>, Option<&'r str>);

fn read_params(req: &Request) -> Result<Params<'_>, Box<Served>> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !form::is_form(content_type) {
        let e =
            OAuthError::invalid_request("Content-Type must be application/x-www-form-urlencoded");
        return Err(Box::new(Served::refused(
            error_response(&e, false),
            e.code.as_str(),
        )));
    }
    let parsed = authorization(req).and_then(|authorization| {
        form::parse_form(req.body().as_ref()).map(|p| (p, authorization))
    });
    parsed.map_err(|e| Box::new(form_refusal(&e)))
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

fn form_refusal(e: &FormError) -> Served {
    let oauth = e.to_oauth();
    let basic = matches!(e, FormError::BadClient { basic: true, .. });
    let resp = match e {
        FormError::TooLarge => error_with_status(StatusCode::PAYLOAD_TOO_LARGE, &oauth, basic),
        _ => error_response(&oauth, basic),
    };
    Served::refused(resp, oauth.code.as_str())
}
