//! `GET` and `POST /authorize` as HTTP: the query and the form read, the form's binding to its
//! request and browser (`seal`), the page rendered (`crate::page`) with its headers (`headers`),
//! and the redirects. The domain (`tollgate_service::endpoint::authorize`) decides.

pub mod headers;
pub mod seal;

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Request, RequestExt};
use tollgate_oauth::clock::Deadline;
use tollgate_oauth::secret::Secret;
use tollgate_service::client::redirect;
use tollgate_service::endpoint::authorize::{
    Again, AuthorizationQuery, AuthorizationRequest, Authorized, NotRedirectable, Notice, Redirect,
    SignedIn,
};

use crate::form;
use crate::page::{self, Problem, SignIn};
use crate::response::log_cause;
use crate::served::Served;
use headers::FormTargets;
use seal::{BrowserKey, Unsealed, cookie_of, set_cookie};
use tollgate_service::endpoint::TokenService;

/// What the sign-in page needs, built once at cold start: the key its forms are sealed with, the
/// operator's title and logo, where its form posts, and that URL's origin (its
/// `Content-Security-Policy` names it).
pub struct SignInState {
    pub form_key: seal::FormKey,
    pub branding: page::Branding,
    pub authorize_url: String,
    pub issuer_origin: String,
}

impl SignInState {
    pub fn new(issuer: &str, branding: page::Branding, signing_key_pem: &str) -> Self {
        let base = issuer.trim_end_matches('/');
        let origin_end = base
            .find("://")
            .and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j))
            .unwrap_or(base.len());
        Self {
            form_key: seal::FormKey::derive(signing_key_pem),
            branding,
            authorize_url: format!("{base}/authorize"),
            issuer_origin: base[..origin_end].to_owned(),
        }
    }
}

/// What the endpoint uses of the function's state.
#[derive(Clone, Copy)]
pub struct Endpoint<'a> {
    pub service: &'a TokenService,
    pub page: &'a SignInState,
}

/// `GET /authorize`: the sign-in page, an error page, or a redirect back with an error.
pub async fn show(e: Endpoint<'_>, req: &Request, deadline: Deadline) -> Served {
    let pairs = req.query_string_parameters_ref().map(|q| q.iter());
    let q = AuthorizationQuery::from_pairs(pairs.into_iter().flatten());
    match e.service.authorize(&q, deadline).await {
        Authorized::Page(p) => error_page(e, p),
        Authorized::Redirect(r) => {
            let mut served = redirected(StatusCode::FOUND, &r);
            served.outcome.client_id = q.params.get("client_id").cloned();
            served
        }
        Authorized::SignIn {
            request,
            client_name,
        } => {
            let browser = browser_key(req).unwrap_or_else(BrowserKey::generate);
            let now = e.service.clock.now();
            let field = e.page.form_key.seal(&request, &browser, now);
            let mut served = form_page(e, &request, &client_name, &field, "", None);
            if let Ok(v) = HeaderValue::from_str(&set_cookie(&browser)) {
                served.resp.headers_mut().insert("set-cookie", v);
            }
            served
        }
    }
}

/// `POST /authorize`: the form's post, read only when its request opens for this browser.
pub async fn post(e: Endpoint<'_>, req: &Request, deadline: Deadline) -> Served {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = match form::is_form(content_type).then(|| form::parse_form(req.body().as_ref())) {
        Some(Ok(p)) => p,
        _ => return error_page(e, NotRedirectable::Malformed),
    };
    let field = params.get("request").map(String::as_str).unwrap_or("");
    let now = e.service.clock.now();
    let browser = browser_key(req);
    let request: AuthorizationRequest = match e.page.form_key.open(field, browser.as_ref(), now) {
        Ok(r) => r,
        Err(Unsealed::Expired) => {
            return problem_page(e, Problem::FormExpired, "form_expired");
        }
        Err(Unsealed::Forged) => return problem_page(e, Problem::Forged, "form_forged"),
    };
    let username = params.get("username").map(String::as_str).unwrap_or("");
    let password = Secret::new(params.get("password").cloned().unwrap_or_default());
    let outcome = e
        .service
        .sign_in(&request, username, &password, deadline)
        .await;
    let mut served = match outcome {
        SignedIn::Page(p) => return error_page(e, p),
        SignedIn::Redirect(r) => redirected(StatusCode::SEE_OTHER, &r),
        SignedIn::Again(Again {
            notice,
            client_name,
            cause,
        }) => {
            if let Some(e) = &cause {
                log_cause(e);
            }
            let mut served = form_page(e, &request, &client_name, field, username, Some(notice));
            *served.resp.status_mut() = notice_status(notice);
            served.outcome.error = Some(notice.as_str());
            served
        }
    };
    served.outcome.client_id = Some(request.client_id);
    served
}

/// The sign-in form for `request`, with `field` its sealed request.
fn form_page(
    e: Endpoint<'_>,
    request: &AuthorizationRequest,
    client_name: &str,
    field: &str,
    username: &str,
    notice: Option<Notice>,
) -> Served {
    let html = page::sign_in(&SignIn {
        branding: &e.page.branding,
        client_name,
        action: &e.page.authorize_url,
        request: field,
        username,
        notice: notice.map(page_notice),
    });
    let mut sources = vec![e.page.issuer_origin.clone()];
    sources.extend(redirect::csp_source(&request.redirect_uri));
    let targets = FormTargets { sources };
    let resp = headers::page(StatusCode::OK, html, &e.page.branding, &targets);
    let mut served = Served::answered(resp);
    served.outcome.client_id = Some(request.client_id.clone());
    served
}

fn page_notice(n: Notice) -> page::Notice {
    match n {
        Notice::WrongCredentials => page::Notice::WrongCredentials,
        Notice::Locked => page::Notice::Locked,
        Notice::Unavailable => page::Notice::Unavailable,
        Notice::Busy => page::Notice::Busy,
    }
}

/// The status of a page shown again: the form was not accepted.
fn notice_status(n: Notice) -> StatusCode {
    match n {
        Notice::WrongCredentials | Notice::Locked => StatusCode::BAD_REQUEST,
        Notice::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Notice::Busy => StatusCode::TOO_MANY_REQUESTS,
    }
}

/// The error page of a request that cannot go back to its client.
fn error_page(e: Endpoint<'_>, p: NotRedirectable) -> Served {
    let problem = match p {
        NotRedirectable::UnknownClient => Problem::UnknownClient,
        NotRedirectable::UnregisteredRedirect => Problem::UnregisteredRedirect,
        NotRedirectable::MissingRedirect => Problem::MissingRedirect,
        NotRedirectable::Malformed => Problem::Malformed,
        NotRedirectable::Unavailable => Problem::Unavailable,
    };
    problem_page(e, problem, p.as_str())
}

fn problem_page(e: Endpoint<'_>, problem: Problem, error: &'static str) -> Served {
    let status = match problem {
        Problem::Forged => StatusCode::FORBIDDEN,
        Problem::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let html = page::error(&e.page.branding, problem);
    let resp = headers::page(status, html, &e.page.branding, &FormTargets::default());
    Served::refused(resp, error)
}

/// Back to the client: a code, or an error named in the log line.
fn redirected(status: StatusCode, r: &Redirect) -> Served {
    let resp = headers::redirect(status, &r.location());
    match r.error_code().and_then(known_error) {
        Some(code) => Served::refused(resp, code),
        None => Served::answered(resp),
    }
}

/// The log name of an error the domain sends back: one of the codes it can send.
fn known_error(code: &str) -> Option<&'static str> {
    [
        "invalid_request",
        "invalid_scope",
        "unsupported_response_type",
        "login_required",
        "request_not_supported",
    ]
    .into_iter()
    .find(|c| *c == code)
}

/// The browser's sign-in cookie, if it sent one Tollgate could have set.
fn browser_key(req: &Request) -> Option<BrowserKey> {
    cookie_of(
        req.headers()
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}
