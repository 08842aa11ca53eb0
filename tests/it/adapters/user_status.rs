//! The HTTP user-status adapter against a real HTTP server: the dev stand-in's `POST /status`,
//! with the same timeouts, credential and failure rules as the password check.

use std::time::Duration;

use tollgate_oauth::secret::Secret;
use tollgate_service::adapters::http::auth_endpoint::AuthEndpointConfig;
use tollgate_service::adapters::http::user_status::HttpUserDirectory;
use tollgate_service::password::AuthEndpointError;
use tollgate_service::user_status::{UserDirectory, UserStatus};
use tollgate_tests::start_auth_endpoint;

fn directory(base: &str, credential: Option<(&str, &str)>) -> HttpUserDirectory {
    HttpUserDirectory::new(&AuthEndpointConfig {
        url: format!("{}status", base),
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(1000),
        credential: credential.map(|(h, v)| (h.to_owned(), Secret::new(v))),
    })
    .unwrap()
}

async fn status(d: &HttpUserDirectory, sub: &str) -> Result<UserStatus, AuthEndpointError> {
    d.status(sub, "client-1").await
}

#[tokio::test]
async fn an_active_user_comes_back_with_their_details() {
    let d = directory(&start_auth_endpoint(None).await, None);
    let Ok(UserStatus::Active(details)) = status(&d, "user-0001").await else {
        panic!("expected active")
    };
    assert_eq!(details["email"], "demo@example.com");
    assert_eq!(details["sub"], "user-0001");
    let Ok(UserStatus::Active(_)) = status(&d, "nosub").await else {
        panic!("a user without a sub claim is found by username")
    };
}

#[tokio::test]
async fn gone_and_disabled_users_are_told_apart_from_failures() {
    let d = directory(&start_auth_endpoint(None).await, None);
    assert_eq!(status(&d, "nobody-at-all").await.unwrap(), UserStatus::Gone);
    assert_eq!(status(&d, "user-0101").await.unwrap(), UserStatus::Gone);
    assert_eq!(status(&d, "user-0100").await.unwrap(), UserStatus::Disabled);
    assert!(matches!(
        status(&d, "user-0102").await,
        Err(AuthEndpointError::UnexpectedStatus(503))
    ));
}

#[tokio::test]
async fn slow_broken_redirecting_garbled_and_hung_up_answers_are_unavailable() {
    let d = directory(&start_auth_endpoint(None).await, None);
    // No stopwatch: `slow` answers only after 10 s, so a Timeout error shows the bound held.
    assert!(matches!(
        status(&d, "slow").await,
        Err(AuthEndpointError::Timeout(_))
    ));
    assert!(matches!(
        status(&d, "broken").await,
        Err(AuthEndpointError::UnexpectedStatus(500))
    ));
    assert!(matches!(
        status(&d, "teapot").await,
        Err(AuthEndpointError::UnexpectedStatus(302))
    ));
    assert!(matches!(
        status(&d, "garbage").await,
        Err(AuthEndpointError::BadBody(_))
    ));
    assert!(matches!(
        status(&d, "hangup").await,
        Err(AuthEndpointError::Unreachable(_))
    ));
}

#[tokio::test]
async fn the_shared_credential_is_sent_and_a_missing_one_is_a_failure() {
    let base = start_auth_endpoint(Some(("x-api-key", "k-123"))).await;
    let with = directory(&base, Some(("x-api-key", "k-123")));
    assert!(matches!(
        status(&with, "user-0001").await,
        Ok(UserStatus::Active(_))
    ));
    let without = directory(&base, None);
    assert!(matches!(
        status(&without, "user-0001").await,
        Err(AuthEndpointError::UnexpectedStatus(500))
    ));
}

#[tokio::test]
async fn a_refused_connection_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let d = directory(&base, None);
    assert!(matches!(
        status(&d, "user-0001").await,
        Err(AuthEndpointError::Unreachable(_))
    ));
}
