//! Claims that follow the directory (`crate::user_status`) against the in-memory adapters.

use super::*;
use crate::testkit::memory::MemoryDirectory;
use crate::user_status::UserStatus;

/// The fixture asking `directory` on every refresh.
async fn with_directory() -> (Fixture, Arc<MemoryDirectory>) {
    let mut f = fixture().await;
    let directory = Arc::new(MemoryDirectory::default());
    f.service.directory = Some(directory.clone());
    (f, directory)
}

fn active(json: serde_json::Value) -> Option<UserStatus> {
    match json {
        serde_json::Value::Object(m) => Some(UserStatus::Active(m)),
        _ => None,
    }
}

fn email_claim(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    claims["email"].clone()
}

#[tokio::test]
async fn refresh_carries_the_details_the_directory_has_now() {
    let (f, directory) = with_directory().await;
    let first = login(&f, None).await;
    assert_eq!(email_claim(&first.access_token), "a@b");
    directory.set(
        "u-1",
        active(serde_json::json!({"email": "new@b", "password_hash": "x"})),
    );
    let second = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(email_claim(&second.access_token), "new@b");
    assert_eq!(directory.calls(), 1);
    let stored = f
        .refresh
        .token_as_it_stands(second.refresh_token.as_ref().unwrap())
        .unwrap();
    assert_eq!(
        serde_json::Value::Object(stored.grant.details.clone()),
        serde_json::json!({"email": "new@b"}),
        "the successor keeps the fresh details, through the allow-list"
    );
}

#[tokio::test]
async fn a_gone_or_disabled_user_ends_the_session() {
    for status in [UserStatus::Gone, UserStatus::Disabled] {
        let (f, directory) = with_directory().await;
        let first = login(&f, None).await;
        directory.set("u-1", Some(status.clone()));
        let err = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidGrant, "{status:?}");
        assert!(err.description.contains("sign in again"), "{err:?}");
        assert!(revoked(&f), "{status:?}: the family is revoked");
        directory.set("u-1", active(serde_json::json!({"email": "a@b"})));
        let again = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None).await;
        assert_eq!(again.unwrap_err().code, ErrorCode::InvalidGrant);
    }
}

#[tokio::test]
async fn an_unavailable_directory_is_503_and_keeps_the_session() {
    let (f, directory) = with_directory().await;
    let first = login(&f, None).await;
    directory.set("u-1", None);
    let err = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::TemporarilyUnavailable);
    assert!(!revoked(&f));
    directory.set("u-1", active(serde_json::json!({"email": "a@b"})));
    let later = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None).await;
    assert!(
        later.is_ok(),
        "the same token works once the directory answers"
    );
}

#[tokio::test]
async fn without_a_directory_max_claims_age_makes_the_user_sign_in_again() {
    let mut f = fixture().await;
    f.service.policy.max_claims_age = Some(100);
    let first = login(&f, None).await;
    f.clock.advance(100);
    let second = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    f.clock.advance(1);
    let err = refresh(&f, APP, second.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGrant);
    assert!(err.description.contains("sign in again"), "{err:?}");
    let relogin = login(&f, None).await;
    assert!(
        refresh(&f, APP, relogin.refresh_token.as_ref().unwrap(), None)
            .await
            .is_ok(),
        "a new sign-in starts a new age"
    );
}

#[tokio::test]
async fn a_retry_in_the_grace_window_asks_the_directory_too() {
    let (mut f, directory) = with_directory().await;
    f.service.policy.refresh_reuse_grace = 30;
    let first = login(&f, None).await;
    directory.set("u-1", active(serde_json::json!({"email": "a@b"})));
    refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    directory.set("u-1", Some(UserStatus::Disabled));
    let retry = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None).await;
    assert_eq!(retry.unwrap_err().code, ErrorCode::InvalidGrant);
    assert!(revoked(&f));
}
