//! Every response the token function writes, and the one place a failed request is mapped to
//! its OAuth answer (RFC 6749 §5.2) and its cause logged, once, with the source chain.

use lambda_http::http::StatusCode;
use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use lambda_http::{Body, Response};
use tollgate_oauth::OAuthError;
use tollgate_service::client::{PasswordGrantSunset, ResponseProfile};
use tollgate_service::endpoint::{Answer, TokenResponse};
use tollgate_service::error::{Internal, TokenError, Unavailable};
use tollgate_service::sunset;
use tollgate_telemetry::logging::chain;
use tracing::{error, warn};

/// The answer to a failed token or revocation request, in the client's `profile`. A 401
/// challenges for Basic when `basic`; a 429 says when the next minute opens (`Retry-After`);
/// the cause of a 503 or 500 goes to the log here and nowhere else.
pub fn token_error(
    e: &TokenError,
    basic: bool,
    profile: ResponseProfile,
) -> (Response<Body>, OAuthError) {
    log_cause(e);
    let oauth = e.to_oauth();
    let status = StatusCode::from_u16(oauth.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = shaped_error(status, &oauth, basic, profile);
    if let TokenError::RateLimited { retry_after, .. } = e {
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from(*retry_after));
    }
    (resp, oauth)
}

/// One line per failed dependency or internal error; each message is documented in
/// docs/operations.md and alarmed on.
pub fn log_cause(e: &TokenError) {
    let cause = |source: &(dyn std::error::Error + Send + Sync)| chain(source);
    match e {
        // Refused by a rule: the domain logged why where it decided.
        TokenError::Rejected(_) | TokenError::RateLimited { .. } => {}
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
            Unavailable::RateLimitStore(s) => {
                warn!(error = cause(s.as_ref()), "rate-limit counter failed");
            }
            Unavailable::UserStatus(s) => {
                warn!(error = cause(s.as_ref()), "user-status endpoint failed");
            }
            Unavailable::RevocationStore(s) => {
                warn!(error = cause(s.as_ref()), "revocation store failed");
            }
            Unavailable::RotationRefused => {
                warn!("refresh token rotation refused with its family unchanged");
            }
            Unavailable::LegacyRefresh(s) => {
                warn!(error = cause(s.as_ref()), "legacy refresh endpoint failed");
            }
            Unavailable::LegacyContended => {
                warn!("legacy refresh token take-over still contended after retries");
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
    shaped_error(status, e, basic_challenge, ResponseProfile::Rfc6749)
}

/// An error body in the client's profile: RFC 6749 §5.2 `error` and `error_description`, or
/// Apigee's `ErrorCode` and `Error` (docs/apigee-migration.md). Status and headers are the same.
fn shaped_error(
    status: StatusCode,
    e: &OAuthError,
    basic_challenge: bool,
    profile: ResponseProfile,
) -> Response<Body> {
    let body = match profile {
        ResponseProfile::Rfc6749 => {
            serde_json::json!({ "error": e.code.as_str(), "error_description": e.description })
        }
        ResponseProfile::Apigee => {
            serde_json::json!({ "ErrorCode": e.code.as_str(), "Error": e.description })
        }
    };
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

/// A token response in the client's profile. RFC 6749 §5.1: `refresh_token` only when the
/// grant issued one (not client_credentials).
pub fn success(t: &TokenResponse, answer: &Answer) -> Response<Body> {
    let body = match answer.profile {
        ResponseProfile::Rfc6749 => {
            let mut body = serde_json::json!({
                "access_token": t.access_token,
                "token_type": "Bearer",
                "expires_in": t.expires_in,
                "scope": t.scope.to_string(),
            });
            if let Some(refresh) = &t.refresh_token {
                body["refresh_token"] = refresh.expose().into();
            }
            if let Some(id_token) = &t.id_token {
                body["id_token"] = id_token.as_str().into();
            }
            body
        }
        ResponseProfile::Apigee => apigee_success(t, answer),
    };
    json(StatusCode::OK, body.to_string(), "no-store")
}

/// Apigee's OAuthV2 answer with `RFCCompliantRequestResponse` false: `token_type`
/// `BearerToken`, every number a string, times in milliseconds, and the app's identity and
/// status beside the tokens. Members Tollgate has no counterpart for (API products, developer,
/// organization, refresh count) are left out or empty, as docs/apigee-migration.md lists.
fn apigee_success(t: &TokenResponse, answer: &Answer) -> serde_json::Value {
    let issued_at = t.issued_at.saturating_mul(1000).to_string();
    let mut body = serde_json::json!({
        "access_token": t.access_token,
        "token_type": "BearerToken",
        "expires_in": t.expires_in.to_string(),
        "issued_at": issued_at,
        "client_id": answer.client_id,
        "application_name": application_name(answer),
        "scope": t.scope.to_string(),
        "status": "approved",
        "api_product_list": "[]",
        "api_product_list_json": [],
    });
    if let Some(refresh) = &t.refresh_token {
        body["refresh_token"] = refresh.expose().into();
        body["refresh_token_issued_at"] = issued_at.into();
        body["refresh_token_status"] = "approved".into();
        body["refresh_token_expires_in"] =
            t.refresh_token_expires_in.unwrap_or(0).to_string().into();
    }
    body
}

/// Apigee's `application_name`: the client's name, or its client_id when it has none.
fn application_name(answer: &Answer) -> &str {
    if answer.client_name.is_empty() {
        &answer.client_id
    } else {
        &answer.client_name
    }
}

/// RFC 9745 `Deprecation` and RFC 8594 `Sunset` on a password-grant answer whose client's
/// password grant ends at `s`.
pub fn announce_sunset(resp: &mut Response<Body>, s: &PasswordGrantSunset, link: Option<&str>) {
    for (name, value) in sunset::headers(s) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
    // RFC 8594 §6 and RFC 9745 §3: where the client reads what replaces the grant.
    let link = link.map(|u| format!("<{u}>; rel=\"sunset\", <{u}>; rel=\"deprecation\""));
    if let Some(v) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert("link", v);
    }
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
            || Unavailable::RateLimitStore(cause()),
            || Unavailable::UserStatus(cause()),
            || Unavailable::RotationRefused,
            || Unavailable::LegacyRefresh(cause()),
            || Unavailable::LegacyContended,
        ];
        for make in cases {
            let what = format!("{:?}", make());
            for basic in [false, true] {
                let (resp, oauth) = token_error(
                    &TokenError::Unavailable(make()),
                    basic,
                    ResponseProfile::Rfc6749,
                );
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

    fn token() -> TokenResponse {
        TokenResponse {
            access_token: "eyJ.a.b".into(),
            expires_in: 900,
            issued_at: 1_764_000_000,
            refresh_token_expires_in: Some(3600),
            refresh_token: Some(tollgate_oauth::secret::Secret::new("rt")),
            scope: tollgate_oauth::scope::Scopes::parse("profile").unwrap_or_default(),
            id_token: None,
        }
    }

    fn apigee() -> Answer {
        Answer {
            profile: ResponseProfile::Apigee,
            client_id: "app".into(),
            client_name: "App".into(),
            sunset: None,
        }
    }

    #[test]
    fn a_rate_limited_request_is_429_slow_down_with_retry_after_in_either_profile() {
        let e = TokenError::RateLimited {
            limit: 5,
            retry_after: 17,
        };
        let (resp, oauth) = token_error(&e, true, ResponseProfile::Rfc6749);
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            resp.headers().get("retry-after").map(HeaderValue::as_bytes),
            Some(&b"17"[..])
        );
        assert!(resp.headers().get("www-authenticate").is_none());
        assert_eq!(oauth.code.as_str(), "slow_down");
        assert_eq!(body(&resp)["error"], "slow_down");
        let (resp, _) = token_error(&e, false, ResponseProfile::Apigee);
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(body(&resp)["ErrorCode"], "slow_down");
        assert!(resp.headers().get("retry-after").is_some());
    }

    #[test]
    fn the_apigee_profile_writes_apigees_members_and_types() {
        let b = body(&success(&token(), &apigee()));
        assert_eq!(b["token_type"], "BearerToken");
        assert_eq!(b["expires_in"], "900");
        assert_eq!(b["issued_at"], "1764000000000");
        assert_eq!(b["refresh_token_issued_at"], "1764000000000");
        assert_eq!(b["refresh_token_expires_in"], "3600");
        assert_eq!(
            (&b["status"], &b["refresh_token_status"]),
            (&"approved".into(), &"approved".into())
        );
        assert_eq!(
            (&b["client_id"], &b["application_name"]),
            (&"app".into(), &"App".into())
        );
        assert_eq!(b["refresh_token"], "rt");
        let unnamed = Answer {
            client_name: String::new(),
            ..apigee()
        };
        let b = body(&success(&token(), &unnamed));
        assert_eq!(b["application_name"], "app", "no name: the client_id");
        let mut machine = token();
        machine.refresh_token = None;
        machine.refresh_token_expires_in = None;
        let b = body(&success(&machine, &apigee()));
        assert!(b.get("refresh_token").is_none() && b.get("refresh_token_status").is_none());
        let rfc = body(&success(&token(), &Answer::default()));
        assert_eq!(
            (&rfc["token_type"], &rfc["expires_in"]),
            (&"Bearer".into(), &900.into())
        );
        assert!(rfc.get("issued_at").is_none());
        let e = TokenError::Rejected(OAuthError::invalid_grant("no"));
        let (resp, _) = token_error(&e, false, ResponseProfile::Apigee);
        assert_eq!(
            body(&resp),
            serde_json::json!({"ErrorCode": "invalid_grant", "Error": "no"})
        );
    }

    #[test]
    fn a_sunset_is_announced_in_the_rfc_formats() {
        let mut resp = success(&token(), &Answer::default());
        announce_sunset(
            &mut resp,
            &PasswordGrantSunset {
                sunset_at: 1_806_451_200,
                deprecated_at: 1_764_000_000,
            },
            None,
        );
        let h = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(h("deprecation").as_deref(), Some("@1764000000"));
        assert_eq!(
            h("sunset").as_deref(),
            Some("Wed, 31 Mar 2027 00:00:00 GMT")
        );
        assert_eq!(h("link"), None, "no link unless one is configured");
    }

    #[test]
    fn a_sunset_links_to_where_the_client_reads_how_to_move() {
        let mut resp = success(&token(), &Answer::default());
        let s = PasswordGrantSunset {
            sunset_at: 1_806_451_200,
            deprecated_at: 1_764_000_000,
        };
        announce_sunset(&mut resp, &s, Some("https://docs.example.com/sign-in"));
        let link = resp.headers().get("link").and_then(|v| v.to_str().ok());
        assert_eq!(
            link,
            Some(
                "<https://docs.example.com/sign-in>; rel=\"sunset\", <https://docs.example.com/sign-in>; rel=\"deprecation\""
            )
        );
    }

    #[test]
    fn only_a_503_or_a_429_carries_retry_after() {
        let rejected = TokenError::Rejected(OAuthError::invalid_grant("no"));
        let internal = TokenError::Internal(Internal::Signing(cause()));
        for (e, status) in [(rejected, 400), (internal, 500)] {
            let (resp, _) = token_error(&e, false, ResponseProfile::Rfc6749);
            assert_eq!(resp.status().as_u16(), status);
            assert!(resp.headers().get("retry-after").is_none(), "{status}");
        }
    }
}
