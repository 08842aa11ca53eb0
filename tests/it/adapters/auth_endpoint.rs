//! The HTTP auth-endpoint adapter against a real HTTP server: the dev stand-in.

use std::time::Duration;

use tollgate_oauth::secret::Secret;
use tollgate_service::adapters::http::auth_endpoint::{AuthEndpointConfig, HttpPasswordVerifier};
use tollgate_service::password::{AuthEndpointError, PasswordCheck, PasswordVerifier};
use tollgate_tests::start_auth_endpoint;

fn verifier(url: String, credential: Option<(&str, &str)>) -> HttpPasswordVerifier {
    HttpPasswordVerifier::new(&AuthEndpointConfig {
        url,
        // Margins a loaded machine cannot break for the calls that should answer; `slow`
        // (30 s) is still far past them.
        connect_timeout: Duration::from_millis(2000),
        timeout: Duration::from_millis(5000),
        credential: credential.map(|(h, v)| (h.to_owned(), Secret::new(v))),
    })
    .unwrap()
}

async fn check(
    v: &HttpPasswordVerifier,
    user: &str,
    pw: &str,
) -> Result<PasswordCheck, AuthEndpointError> {
    v.verify(user, &Secret::new(pw), "client-1").await
}

#[tokio::test]
async fn valid_password_returns_the_users_details() {
    let v = verifier(start_auth_endpoint(None).await, None);
    let Ok(PasswordCheck::Valid(u)) = check(&v, "demo", "demo-password").await else {
        panic!("expected valid")
    };
    assert_eq!(u.sub, "user-0001");
    assert_eq!(u.details["email"], "demo@example.com");
}

#[tokio::test]
async fn missing_sub_falls_back_to_the_username() {
    let v = verifier(start_auth_endpoint(None).await, None);
    let Ok(PasswordCheck::Valid(u)) = check(&v, "nosub", "nosub-password").await else {
        panic!("expected valid")
    };
    assert_eq!(u.sub, "nosub");
    assert!(!u.details.contains_key("sub"), "{:?}", u.details);
}

/// Without a `sub`, the subject is the canonical username (the form lockout counts), not the
/// username as typed: one person is one subject to sessions, audit and backends.
#[tokio::test]
async fn missing_sub_names_the_user_by_the_canonical_username() {
    let v = verifier(start_auth_endpoint(None).await, None);
    let Ok(PasswordCheck::Valid(u)) = check(&v, "NoSub-Case", "nosub-case-password").await else {
        panic!("expected valid")
    };
    assert_eq!(u.sub, "nosub-case");
    assert_eq!(
        u.sub,
        tollgate_service::lockout::canonical_username("NoSub-Case")
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_invalid() {
    let v = verifier(start_auth_endpoint(None).await, None);
    assert_eq!(
        check(&v, "demo", "nope").await.unwrap(),
        PasswordCheck::Invalid
    );
    assert_eq!(
        check(&v, "nobody", "nope").await.unwrap(),
        PasswordCheck::Invalid
    );
}

#[tokio::test]
async fn slow_endpoint_times_out_within_the_configured_bound() {
    let v = verifier(start_auth_endpoint(None).await, None);
    // No stopwatch: `slow` answers only after 30 s, so a Timeout error (not an answer) shows
    // the configured bound ended the wait.
    assert!(matches!(
        check(&v, "slow", "x").await,
        Err(AuthEndpointError::Timeout(_))
    ));
}

#[tokio::test]
async fn error_status_redirect_nonsense_and_hangups_are_unavailable() {
    let v = verifier(start_auth_endpoint(None).await, None);
    assert!(matches!(
        check(&v, "broken", "x").await,
        Err(AuthEndpointError::UnexpectedStatus(500))
    ));
    assert!(matches!(
        check(&v, "teapot", "x").await,
        Err(AuthEndpointError::UnexpectedStatus(302))
    ));
    assert!(matches!(
        check(&v, "garbage", "x").await,
        Err(AuthEndpointError::BadBody(_))
    ));
    assert!(matches!(
        check(&v, "hangup", "x").await,
        Err(AuthEndpointError::Unreachable(_))
    ));
}

#[tokio::test]
async fn refused_connection_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let v = verifier(url, None);
    let err = check(&v, "demo", "demo-password").await.unwrap_err();
    assert!(matches!(err, AuthEndpointError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn shared_credential_header_is_sent() {
    let url = start_auth_endpoint(Some(("x-api-key", "shared-secret"))).await;
    let with = verifier(url.clone(), Some(("x-api-key", "shared-secret")));
    assert!(matches!(
        check(&with, "demo", "demo-password").await,
        Ok(PasswordCheck::Valid(_))
    ));
    let without = verifier(url, None);
    assert!(matches!(
        check(&without, "demo", "demo-password").await,
        Err(AuthEndpointError::UnexpectedStatus(500))
    ));
}

#[tokio::test]
async fn errors_never_carry_the_password_or_url_credentials() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://user:url-secret@{}/", listener.local_addr().unwrap());
    drop(listener);
    let v = verifier(url, None);
    let err = check(&v, "demo", "the-password-123").await.unwrap_err();
    let mut text = format!("{err} {err:?}");
    let mut src = std::error::Error::source(&err);
    while let Some(s) = src {
        text.push_str(&format!(" {s} {s:?}"));
        src = s.source();
    }
    assert!(!text.contains("the-password-123"), "{text}");
    assert!(!text.contains("url-secret"), "{text}");
}
