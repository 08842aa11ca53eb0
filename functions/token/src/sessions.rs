//! `POST /sessions/revoke`: the organisation's systems end a user's sessions (after a password
//! reset, a stolen laptop) without shell access. The template lets only IAM-signed (SigV4)
//! callers reach it; the function refuses it too when the event names no IAM caller.

use lambda_http::http::StatusCode;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::Deserialize;
use tollgate_oauth::OAuthError;
use tollgate_oauth::error::{Description, Fact};
use tollgate_service::client::ResponseProfile;
use tollgate_service::refresh::SessionQuery;
use tracing::warn;

use crate::form::MAX_BODY_BYTES;
use crate::response::{error_with_status, json, token_error};
use crate::served::Served;
use crate::state::AppState;

/// The JSON body: a `sub`, a `client_id`, or both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeSessions {
    sub: Option<String>,
    client_id: Option<String>,
}

/// Who signed the request, as API Gateway's IAM authorization recorded it: the caller's ARN.
/// `None` when the request did not come through an `AWS_IAM` method.
pub fn iam_caller(req: &Request) -> Option<String> {
    let arn = match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(c) => c.identity.user_arn.clone().filter(|_| {
            c.identity
                .access_key
                .as_deref()
                .is_some_and(|k| !k.is_empty())
        }),
        RequestContext::ApiGatewayV2(c) => c
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone()),
        _ => None,
    };
    arn.filter(|a| a.starts_with("arn:"))
}

/// Answers `POST /sessions/revoke`.
pub async fn revoke(
    state: &AppState,
    req: &Request,
    deadline: tollgate_oauth::clock::Deadline,
) -> Served {
    let Some(actor) = iam_caller(req) else {
        warn!("session revocation without an IAM caller refused");
        return Served::refused(
            json(
                StatusCode::FORBIDDEN,
                r#"{"error":"access_denied","error_description":"this endpoint needs an IAM-signed (SigV4) request"}"#.into(),
                "no-store",
            ),
            "access_denied",
        );
    };
    let query = match parse(req) {
        Ok(q) => q,
        Err((status, e)) => {
            return Served::refused(error_with_status(status, &e, false), e.code.as_str());
        }
    };
    match state
        .service
        .handle_revoke_sessions(&query, &actor, deadline)
        .await
    {
        Ok(revoked) => Served::answered(json(
            StatusCode::OK,
            serde_json::json!({ "sessions_revoked": revoked.len() }).to_string(),
            "no-store",
        )),
        Err(e) => {
            let (resp, oauth) = token_error(&e, false, ResponseProfile::Rfc6749);
            Served::refused(resp, oauth.code.as_str())
        }
    }
}

/// The body as a session query, or the refusal (400, or 413 when too large).
fn parse(req: &Request) -> Result<SessionQuery, (StatusCode, OAuthError)> {
    let bad = |d: &'static str| (StatusCode::BAD_REQUEST, OAuthError::invalid_request(d));
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(bad("Content-Type must be application/json"));
    }
    let body = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        let e = OAuthError::invalid_request(Description::with(
            "the body is larger than {} bytes",
            &[Fact::Number(MAX_BODY_BYTES as u64)],
        ));
        return Err((StatusCode::PAYLOAD_TOO_LARGE, e));
    }
    let parsed: RevokeSessions = serde_json::from_slice(body)
        .map_err(|_| bad("the body must be a JSON object with sub and/or client_id strings"))?;
    SessionQuery::from_parts(parsed.sub.as_deref(), parsed.client_id.as_deref()).map_err(bad)
}
