//! OpenID Connect's two endpoints beside the sign-in page, as HTTP: `GET`/`POST /userinfo`
//! (the bearer token from `Authorization: Bearer`, or a form's `access_token`, RFC 6750 §2.1,
//! §2.2; never both) and `GET`/`POST /end_session` (RP-initiated logout: its parameters from
//! the query or a form). The domain decides (`tollgate_service::endpoint::{userinfo,
//! end_session}`).

use std::collections::HashMap;

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Request, RequestExt};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tollgate_oauth::OAuthError;
use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::ErrorCode;
use tollgate_oauth::id_token::HintVerifier;
use tollgate_service::endpoint::TokenService;
use tollgate_service::endpoint::end_session::{EndSessionRequest, EndedSession, LogoutRefusal};
use tollgate_service::endpoint::introspect::Introspector;
use tollgate_service::error::TokenError;

use crate::authorize::headers::{self, FormTargets};
use crate::form;
use crate::page::{self, Branding, Problem};
use crate::response::{json, log_cause, token_error};
use crate::served::Served;

/// `/userinfo`: the user's claims, or RFC 6750's refusal with its `WWW-Authenticate`.
pub async fn userinfo(
    service: &TokenService,
    introspector: &Introspector,
    req: &Request,
    deadline: Deadline,
) -> Served {
    let token = match bearer(req) {
        Ok(t) => t,
        Err(e) => return refused(&e.into()),
    };
    match service
        .userinfo(introspector, token.as_deref(), deadline)
        .await
    {
        Ok(claims) => Served::answered(json(
            StatusCode::OK,
            serde_json::Value::Object(claims).to_string(),
            "no-store",
        )),
        Err(e) => refused(&e),
    }
}

/// The bearer token of a `/userinfo` request: the `Authorization` header, or a POSTed form's
/// `access_token`; both at once is `invalid_request`.
fn bearer(req: &Request) -> Result<Option<String>, OAuthError> {
    let header = match req.headers().get("authorization").map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => match v.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => Some(t.trim().to_owned()),
            _ => return Ok(None),
        },
        Some(Err(_)) => return Ok(None),
    };
    let body = if req.method() == Method::POST && is_form(req) {
        form::parse_form(req.body().as_ref())
            .map_err(|e| e.to_oauth())?
            .remove("access_token")
    } else {
        None
    };
    match (header, body) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "send the access token once: the Authorization header or the body",
        )),
        (h, b) => Ok(h.or(b)),
    }
}

/// RFC 6750 §3: the error in a JSON body and in `WWW-Authenticate` (its code only: the
/// description is in the body).
fn refused(e: &TokenError) -> Served {
    let (mut resp, oauth) = token_error(e, false, Default::default());
    let challenge = match oauth.code {
        ErrorCode::InvalidToken => Some(r#"Bearer realm="tollgate", error="invalid_token""#),
        ErrorCode::InsufficientScope => {
            Some(r#"Bearer realm="tollgate", error="insufficient_scope", scope="openid""#)
        }
        ErrorCode::InvalidRequest => Some(r#"Bearer realm="tollgate", error="invalid_request""#),
        _ => None,
    };
    if let Some(c) = challenge {
        resp.headers_mut()
            .insert("www-authenticate", HeaderValue::from_static(c));
    }
    Served::refused(resp, oauth.code.as_str())
}

/// `/end_session`: back to the client's registered URI, the signed-out page, or an error page.
pub async fn end_session(
    service: &TokenService,
    hints: &HintVerifier,
    branding: &Branding,
    req: &Request,
    deadline: Deadline,
) -> Served {
    let params = match logout_params(req) {
        Some(p) => p,
        None => return page(branding, Problem::Malformed, "malformed_request"),
    };
    let get = |k: &str| params.get(k).cloned();
    let ask = EndSessionRequest {
        id_token_hint: get("id_token_hint"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        client_id: get("client_id"),
        state: get("state"),
    };
    match service.end_session(hints, &ask, deadline).await {
        EndedSession::Redirect { uri, state } => {
            let mut location = uri;
            if let Some(s) = state {
                location.push(if location.contains('?') { '&' } else { '?' });
                location.push_str("state=");
                location.extend(utf8_percent_encode(&s, NON_ALPHANUMERIC));
            }
            Served::answered(headers::redirect(StatusCode::FOUND, &location))
        }
        EndedSession::SignedOut => {
            let html = page::signed_out(branding);
            let resp = headers::page(StatusCode::OK, html, branding, &FormTargets::default());
            Served::answered(resp)
        }
        EndedSession::Refused(LogoutRefusal::InvalidHint) => page(
            branding,
            Problem::InvalidLogout,
            LogoutRefusal::InvalidHint.as_str(),
        ),
        EndedSession::Refused(r @ LogoutRefusal::UnregisteredRedirect) => {
            page(branding, Problem::UnregisteredRedirect, r.as_str())
        }
        EndedSession::Unavailable(e) => {
            log_cause(&e);
            page(branding, Problem::Unavailable, "temporarily_unavailable")
        }
    }
}

/// The parameters of a sign-out: the query of a `GET`, the form of a `POST`; a parameter sent
/// twice makes the request malformed.
fn logout_params(req: &Request) -> Option<HashMap<String, String>> {
    if req.method() == Method::POST {
        return is_form(req)
            .then(|| form::parse_form(req.body().as_ref()).ok())
            .flatten();
    }
    let mut out = HashMap::new();
    for (k, v) in req
        .query_string_parameters_ref()
        .into_iter()
        .flat_map(|q| q.iter())
    {
        if out.insert(k.to_owned(), v.to_owned()).is_some() {
            return None;
        }
    }
    out.retain(|_, v| !v.is_empty());
    Some(out)
}

fn is_form(req: &Request) -> bool {
    form::is_form(
        req.headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn page(branding: &Branding, problem: Problem, error: &'static str) -> Served {
    let status = match problem {
        Problem::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let html = page::error(branding, problem);
    let resp = headers::page(status, html, branding, &FormTargets::default());
    Served::refused(resp, error)
}
