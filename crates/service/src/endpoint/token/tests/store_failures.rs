//! Every store failure inside a grant: a 503 (`temporarily_unavailable`, which the handler
//! answers with `Retry-After`) naming the failed store for the log, or, where the grant can go
//! on safely, a logged and ignored error. The stores are the memory adapters behind
//! [`Failing`], which fails exactly the calls a test names.

use super::*;
use crate::testkit::failing::Failing;

/// The fixture with each store wrapped, working until a test switches a call off.
struct Broken {
    f: Fixture,
    clients: Arc<Failing<MemoryClients>>,
    refresh: Arc<Failing<MemoryRefresh>>,
    lockout: Arc<Failing<MemoryLockout>>,
}

async fn broken() -> Broken {
    let mut f = fixture().await;
    let clients = Arc::new(Failing::new(MemoryClients::default()));
    for c in f.service.clients.list().await.unwrap() {
        clients.inner.create(&c).await.unwrap();
    }
    let refresh = Arc::new(Failing::new(MemoryRefresh::default()));
    let lockout = Arc::new(Failing::new(MemoryLockout::default()));
    f.service.clients = clients.clone();
    f.service.refresh = refresh.clone();
    f.service.lockout = lockout.clone();
    Broken {
        f,
        clients,
        refresh,
        lockout,
    }
}

async fn handle(b: &Broken, params: &[(&str, &str)]) -> Result<TokenResponse, TokenError> {
    let r = req("app", "app-secret", params);
    b.f.service.handle_token(&r, Deadline::none()).await.result
}

async fn password_grant(b: &Broken, pw: &str) -> Result<TokenResponse, TokenError> {
    let p = password("alice", pw);
    handle(b, &to_params(&p)).await
}

async fn refresh_grant(b: &Broken, token: &Secret) -> Result<TokenResponse, TokenError> {
    handle(
        b,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token.expose()),
        ],
    )
    .await
}

/// The 503 every store failure must come to, whatever the store.
fn assert_unavailable<T: std::fmt::Debug>(r: &Result<T, TokenError>, what: &str) {
    let Err(e) = r else {
        panic!("{what}: succeeded: {r:?}");
    };
    let oauth = e.to_oauth();
    assert_eq!(oauth.code, ErrorCode::TemporarilyUnavailable, "{what}: {e}");
    assert_eq!(oauth.status(), 503, "{what}");
}

#[tokio::test]
async fn a_failed_lockout_reservation_is_503_before_the_password_is_checked() {
    let b = broken().await;
    b.lockout.fail("reserve");
    let r = password_grant(&b, "pw").await;
    assert_unavailable(&r, "reserve");
    assert!(
        matches!(
            r,
            Err(TokenError::Unavailable(Unavailable::LockoutStore(_)))
        ),
        "{r:?}"
    );
    assert_eq!(b.f.verifier.calls(), 0, "the password was checked");
    assert_eq!(b.lockout.failed(), ["reserve"]);
    assert!(b.refresh.inner.families.lock().unwrap().is_empty());
}

/// A failure that cannot be counted is still a wrong password; its attempt stays reserved, so
/// the window's limit holds: once every attempt is taken the next login waits (503).
#[tokio::test]
async fn a_failed_failure_count_is_still_invalid_grant_and_the_attempt_stays_taken() {
    let b = broken().await;
    b.lockout.fail("record_failure");
    for _ in 0..3 {
        let e = password_grant(&b, "wrong").await.unwrap_err().to_oauth();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        assert_eq!(e.description, "the username or password is wrong");
    }
    assert_eq!(b.lockout.failed(), ["record_failure"; 3]);
    b.lockout.heal();
    let r = password_grant(&b, "pw").await;
    assert_unavailable(&r, "all attempts taken");
    assert_eq!(
        b.f.verifier.calls(),
        3,
        "a fourth attempt reached the endpoint"
    );
}

#[tokio::test]
async fn a_failed_counter_reset_is_ignored_and_the_login_succeeds() {
    let b = broken().await;
    password_grant(&b, "wrong").await.unwrap_err();
    b.lockout.fail("reset");
    let ok = password_grant(&b, "pw").await.unwrap();
    assert!(!ok.access_token.is_empty());
    assert_eq!(b.lockout.failed(), ["reset"]);
    // The count was not reset: it still holds the wrong password and the success's attempt.
    b.lockout.heal();
    let key = lockout_key("alice");
    let p = &b.f.service.policy.lockout;
    let now = b.f.clock.now();
    assert_eq!(
        b.lockout.inner.reserve(&key, now, p).await.unwrap(),
        Reservation::Granted
    );
    assert_eq!(
        b.lockout.inner.reserve(&key, now, p).await.unwrap(),
        Reservation::Busy
    );
}

#[tokio::test]
async fn a_failed_family_create_is_503_and_issues_nothing() {
    let b = broken().await;
    b.refresh.fail("create_family");
    let r = password_grant(&b, "pw").await;
    assert_unavailable(&r, "create_family");
    assert!(
        matches!(r, Err(TokenError::Unavailable(Unavailable::NewFamily(_)))),
        "{r:?}"
    );
    assert!(b.refresh.inner.tokens.lock().unwrap().is_empty());
    assert!(b.refresh.inner.families.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_token_lookup_or_rotation_is_503_and_the_token_stays_usable() {
    for method in ["get_token", "rotate"] {
        let b = broken().await;
        let first = password_grant(&b, "pw").await.unwrap();
        b.refresh.fail(method);
        let r = refresh_grant(&b, first.refresh_token.as_ref().unwrap()).await;
        assert_unavailable(&r, method);
        assert!(
            matches!(
                r,
                Err(TokenError::Unavailable(Unavailable::RefreshStore(_)))
            ),
            "{method}: {r:?}"
        );
        assert_eq!(b.refresh.failed(), [method]);
        b.refresh.heal();
        refresh_grant(&b, first.refresh_token.as_ref().unwrap())
            .await
            .unwrap_or_else(|e| panic!("{method}: the token no longer works: {e}"));
    }
}

/// A reused token must revoke its family; if the revocation cannot be written, the caller hears
/// 503 (and retries), never `invalid_grant` with the family still live unnoticed.
#[tokio::test]
async fn a_failed_family_revocation_on_reuse_is_503() {
    let b = broken().await;
    let first = password_grant(&b, "pw").await.unwrap();
    let second = refresh_grant(&b, first.refresh_token.as_ref().unwrap())
        .await
        .unwrap();
    b.refresh.fail("revoke_family");
    let r = refresh_grant(&b, first.refresh_token.as_ref().unwrap()).await;
    assert_unavailable(&r, "revoke_family");
    assert!(
        matches!(
            r,
            Err(TokenError::Unavailable(Unavailable::RefreshStore(_)))
        ),
        "{r:?}"
    );
    assert_eq!(b.refresh.failed(), ["revoke_family"]);
    b.refresh.heal();
    let e = refresh_grant(&b, first.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.to_oauth().code, ErrorCode::InvalidGrant);
    let e = refresh_grant(&b, second.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_oauth().code,
        ErrorCode::InvalidGrant,
        "family not revoked"
    );
}

#[tokio::test]
async fn a_failed_revocation_through_revoke_is_503() {
    let b = broken().await;
    let first = password_grant(&b, "pw").await.unwrap();
    b.refresh.fail("revoke_family");
    let r = RevocationRequest {
        credentials: req("app", "app-secret", &[]).credentials,
        token: first.refresh_token,
    };
    let e = b.f.service.revoke(&b.f.keys, &r).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::TemporarilyUnavailable);
    assert_eq!(e.status(), 503);
    assert_eq!(b.refresh.failed(), ["revoke_family"]);
}

#[tokio::test]
async fn a_failed_client_lookup_is_503_for_every_grant_and_revoke() {
    let b = broken().await;
    let first = password_grant(&b, "pw").await.unwrap();
    b.clients.fail("get");
    for (what, r) in [
        ("password", password_grant(&b, "pw").await.map(|_| ())),
        (
            "refresh",
            refresh_grant(&b, first.refresh_token.as_ref().unwrap())
                .await
                .map(|_| ()),
        ),
    ] {
        assert_unavailable(&r, what);
        assert!(
            matches!(r, Err(TokenError::Unavailable(Unavailable::ClientStore(_)))),
            "{what}: {r:?}"
        );
    }
    assert_eq!(
        b.f.verifier.calls(),
        1,
        "the endpoint was asked without a client"
    );
    let r = RevocationRequest {
        credentials: req("app", "app-secret", &[]).credentials,
        token: Some(Secret::new("x")),
    };
    let e = b.f.service.revoke(&b.f.keys, &r).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::TemporarilyUnavailable);
}
