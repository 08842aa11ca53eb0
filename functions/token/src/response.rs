//! Every response the token function writes, and the one place a failed request is mapped to
//! its OAuth answer (RFC 6749 §5.2) and its cause logged, once, with the source chain.

use lambda_http::http::StatusCode;
use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use lambda_http::{Body, Response};
use tollgate_common::OAuthError;
use tollgate_common::error::{Internal, TokenError, Unavailable, chain};
use tollgate_common::grant::TokenResponse;
use tracing::{error, warn};

/// The answer to a failed token or revocation request. A 401 challenges for Basic when
/// `basic`; the cause of a 503 or 500 goes to the log here and nowhere else.
pub fn token_error(e: &TokenError, basic: bool) -> (Response<Body>, OAuthError) {
    log_cause(e);
    let oauth = e.to_oauth();
    (error_response(&oauth, basic), oauth)
}

/// One line per failed dependency or internal error; each message is documented in
/// docs/operations.md and alarmed on.
fn log_cause(e: &TokenError) {
    let cause = |source: &(dyn std::error::Error + Send + Sync)| chain(source);
    match e {
        TokenError::Rejected(_) => {}
        TokenError::Unavailable(u) => match u {
            Unavailable::Deadline { dependency } => {
                warn!(dependency, "no answer before the function's deadline");
            }
            Unavailable::ClientStore(s) => {
                warn!(reason = cause(s.as_ref()), "client authentication failed");
            }
            Unavailable::LockoutStore(s) => {
                warn!(error = cause(s.as_ref()), "lockout check failed")
            }
            Unavailable::AuthEndpoint(s) => {
                warn!(error = cause(s.as_ref()), "auth endpoint failed")
            }
            Unavailable::RefreshStore(s) => {
                warn!(error = cause(s.as_ref()), "refresh-token store failed");
            }
            Unavailable::NewFamily(s) => {
                warn!(error = cause(s.as_ref()), "failed to store refresh token");
            }
            Unavailable::UserStatus(s) => {
                warn!(error = cause(s.as_ref()), "user-status endpoint failed");
            }
            Unavailable::RotationContended => {
                warn!("refresh token rotation still contended after retries");
            }
        },
        TokenError::Internal(Internal::Signing(s)) => {
            error!(error = cause(s.as_ref()), "signing failed");
        }
    }
}

/// RFC 6749 §5.2 with the status the code carries.
pub fn error_response(e: &OAuthError, basic_challenge: bool) -> Response<Body> {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    error_with_status(status, e, basic_challenge)
}

/// RFC 6749 §5.2 under a status of the HTTP layer's own (405, 413). A 401 carries
/// `WWW-Authenticate: Basic` when the client used Basic or sent no credentials at all, so it
/// learns which scheme to use.
pub fn error_with_status(
    status: StatusCode,
    e: &OAuthError,
    basic_challenge: bool,
) -> Response<Body> {
    let body = serde_json::json!({ "error": e.code.as_str(), "error_description": e.description });
    let mut resp = json(status, body.to_string(), "no-store");
    if status == StatusCode::UNAUTHORIZED && basic_challenge {
        resp.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static(r#"Basic realm="tollgate""#),
        );
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("5"));
    }
    resp
}

/// RFC 6749 §5.1; `refresh_token` only when the grant issued one (not client_credentials).
pub fn success(t: &TokenResponse) -> Response<Body> {
    let mut body = serde_json::json!({
        "access_token": t.access_token,
        "token_type": "Bearer",
        "expires_in": t.expires_in,
        "scope": t.scope.to_string(),
    });
    if let Some(refresh) = &t.refresh_token {
        body["refresh_token"] = refresh.expose().into();
    }
    json(StatusCode::OK, body.to_string(), "no-store")
}

/// RFC 7009 §2.2: 200 whether or not there was anything to revoke.
pub fn revoked() -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    let h = resp.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    resp
}

pub fn json(status: StatusCode, body: String, cache: &'static str) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    if cache == "no-store" {
        h.insert("pragma", HeaderValue::from_static("no-cache"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause() -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(std::io::Error::other(
            "table tollgate-refresh at 10.0.0.1 throttled",
        ))
    }

    fn body(r: &Response<Body>) -> serde_json::Value {
        match r.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap_or_default(),
            other => panic!("not a text body: {other:?}"),
        }
    }

    /// Every dependency failure the grants report is a 503 with `Retry-After`, the RFC 6749
    /// error `temporarily_unavailable`, and nothing of its cause.
    #[test]
    fn every_unavailable_store_is_503_with_retry_after_and_no_cause() {
        let cases: Vec<fn() -> Unavailable> = vec![
            || Unavailable::Deadline {
                dependency: "refresh-token store",
            },
            || Unavailable::ClientStore(cause()),
            || Unavailable::LockoutStore(cause()),
            || Unavailable::AuthEndpoint(cause()),
            || Unavailable::RefreshStore(cause()),
            || Unavailable::NewFamily(cause()),
            || Unavailable::UserStatus(cause()),
            || Unavailable::RotationContended,
        ];
        for make in cases {
            let what = format!("{:?}", make());
            for basic in [false, true] {
                let (resp, oauth) = token_error(&TokenError::Unavailable(make()), basic);
                assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
                assert_eq!(
                    resp.headers().get("retry-after").map(HeaderValue::as_bytes),
                    Some(&b"5"[..]),
                    "{what}"
                );
                assert!(resp.headers().get("www-authenticate").is_none(), "{what}");
                assert_eq!(oauth.code.as_str(), "temporarily_unavailable");
                let b = body(&resp);
                assert_eq!(b["error"], "temporarily_unavailable", "{what}");
                let text = b.to_string();
                assert!(
                    !text.contains("throttled") && !text.contains("10.0.0.1"),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn only_a_503_carries_retry_after() {
        let rejected = TokenError::Rejected(OAuthError::invalid_grant("no"));
        let internal = TokenError::Internal(Internal::Signing(cause()));
        for (e, status) in [(rejected, 400), (internal, 500)] {
            let (resp, _) = token_error(&e, false);
            assert_eq!(resp.status().as_u16(), status);
            assert!(resp.headers().get("retry-after").is_none(), "{status}");
        }
    }
}
