//! Per-client rate limits and the password-grant sunset, against the in-memory adapters.

use super::*;
use crate::client::ClientUpdate;
use crate::rate_limit::{RateLimitStore, RateLimitStoreError, Window, known};

async fn set(f: &Fixture, id: &str, u: ClientUpdate) {
    f.service.clients.update(id, &u).await.unwrap();
}

fn limit(n: u32) -> ClientUpdate {
    ClientUpdate {
        rate_limit: Some(Some(n)),
        ..ClientUpdate::default()
    }
}

const CC: &[(&str, &str)] = &[("grant_type", "client_credentials")];

async fn machine(f: &Fixture) -> Result<TokenResponse, TokenError> {
    f.service
        .handle_token(&req("svc", "svc-secret", CC), Deadline::none())
        .await
        .result
}

#[tokio::test]
async fn a_client_over_its_limit_gets_slow_down_until_the_next_minute() {
    let f = fixture().await;
    set(&f, "svc", limit(2)).await;
    let now = f.clock.now();
    for _ in 0..2 {
        machine(&f).await.unwrap();
    }
    let retry_after = match machine(&f).await {
        Err(TokenError::RateLimited {
            limit: 2,
            retry_after,
        }) => retry_after,
        other => panic!("{other:?}"),
    };
    assert_eq!(retry_after, Window::at(now).retry_after(now));
    assert!((1..=60).contains(&retry_after));
    // The refusal names its client (for the log, the audit and the metric) and has its shape.
    let h = f
        .service
        .handle_token(&req("svc", "svc-secret", CC), Deadline::none())
        .await;
    assert_eq!(h.client_id.as_deref(), Some("svc"));
    assert_eq!(h.answer.client_id, "svc");
    assert!(matches!(h.result, Err(TokenError::RateLimited { .. })));
    let oauth = machine(&f).await.unwrap_err().to_oauth();
    assert_eq!((oauth.code, oauth.status()), (ErrorCode::SlowDown, 429));
    assert_eq!(oauth.code.as_str(), "slow_down");
    // Another client is not affected.
    let p = password("alice", "pw");
    f.service
        .token(&req("app", "app-secret", &to_params(&p)))
        .await
        .unwrap();
    // The next minute admits the client again.
    f.clock.advance(retry_after);
    machine(&f).await.unwrap();
}

#[tokio::test]
async fn requests_that_fail_client_authentication_do_not_use_up_the_limit() {
    let f = fixture().await;
    set(&f, "svc", limit(1)).await;
    for _ in 0..5 {
        let wrong = req("svc", "not-the-secret", CC);
        assert_eq!(code(&f, wrong).await, Some(ErrorCode::InvalidClient));
    }
    machine(&f).await.unwrap();
    assert!(matches!(
        machine(&f).await,
        Err(TokenError::RateLimited { limit: 1, .. })
    ));
}

/// Remembers every counter a request was counted in.
#[derive(Default)]
struct Recording(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl RateLimitStore for Recording {
    async fn count(&self, counter: &str, _: Window) -> Result<u64, RateLimitStoreError> {
        let mut seen = self.0.lock().unwrap();
        seen.push(counter.to_owned());
        Ok(seen.iter().filter(|c| *c == counter).count() as u64)
    }
}

/// The count runs before the client is known (concurrently with its lookup), so a request with
/// a wrong secret must land in another counter than the client's: then no flood of them, however
/// it interleaves with the client's own requests, can use up the client's minute, and nothing
/// has to be given back.
#[tokio::test]
async fn a_wrong_secret_is_never_counted_in_the_clients_own_counter() {
    let mut f = fixture().await;
    let recording = Arc::new(Recording::default());
    f.service.rate_limits = recording.clone();
    set(&f, "svc", limit(1)).await;
    for wrong in ["not-the-secret", "svc-secret ", "SVC-SECRET", ""] {
        assert_eq!(
            code(&f, req("svc", wrong, CC)).await,
            Some(ErrorCode::InvalidClient)
        );
    }
    machine(&f).await.unwrap();
    let seen = recording.0.lock().unwrap().clone();
    let own = seen.last().unwrap();
    assert!(own.starts_with("svc#"), "{own}");
    assert_eq!(
        seen.iter().filter(|c| *c == own).count(),
        1,
        "only the request with the right secret is in the client's counter: {seen:?}"
    );
    assert!(
        seen.iter().all(|c| !c.contains("secret")),
        "no secret in a counter's name: {seen:?}"
    );
}

/// An unlimited client costs no count once this instance knows it is unlimited (from a lookup
/// within `known::TTL_SECS`); until then it is counted up front, and the count is ignored.
#[tokio::test]
async fn an_unlimited_client_the_instance_knows_is_not_counted() {
    let mut f = fixture().await;
    let recording = Arc::new(Recording::default());
    f.service.rate_limits = recording.clone();
    let counted = || recording.0.lock().unwrap().len();
    machine(&f).await.unwrap();
    assert_eq!(counted(), 1, "not known yet: counted up front");
    for _ in 0..3 {
        machine(&f).await.unwrap();
    }
    assert_eq!(counted(), 1, "known as unlimited: no count");
    let wrong = req("svc", "nope", CC);
    assert_eq!(code(&f, wrong).await, Some(ErrorCode::InvalidClient));
    assert_eq!(
        counted(),
        1,
        "nor for a wrong secret of a client known as unlimited"
    );
    f.clock.advance(known::TTL_SECS);
    machine(&f).await.unwrap();
    assert_eq!(counted(), 2, "what it knew expired: counted up front again");
    // A client_id the instance has never let in is counted up front, each time.
    for _ in 0..2 {
        assert_eq!(
            code(&f, req("nobody", "x", CC)).await,
            Some(ErrorCode::InvalidClient)
        );
    }
    assert_eq!(counted(), 4);
}

/// A limit an operator adds while an instance knows the client as unlimited holds from the next
/// request on: the lookup finds it, and the request is counted then (after the lookup).
#[tokio::test]
async fn a_limit_added_while_the_instance_knows_the_client_as_unlimited_holds_at_once() {
    let f = fixture().await;
    machine(&f).await.unwrap(); // counted up front: 1
    machine(&f).await.unwrap(); // known as unlimited: not counted
    set(&f, "svc", limit(2)).await;
    machine(&f).await.unwrap(); // counted after its lookup: 2
    assert!(matches!(
        machine(&f).await,
        Err(TokenError::RateLimited { limit: 2, .. })
    ));
}

/// What the instance knows of a client's limit never lets it in: disabling, retiring a secret
/// and deleting take effect on the next request.
#[tokio::test]
async fn a_client_known_to_the_instance_is_refused_at_once_when_disabled_or_deleted() {
    let f = fixture().await;
    machine(&f).await.unwrap();
    let enabled = |on| ClientUpdate {
        enabled: Some(on),
        ..ClientUpdate::default()
    };
    set(&f, "svc", enabled(false)).await;
    assert_eq!(
        code(&f, req("svc", "svc-secret", CC)).await,
        Some(ErrorCode::InvalidClient)
    );
    set(&f, "svc", enabled(true)).await;
    machine(&f).await.unwrap();
    f.service.clients.delete("svc").await.unwrap();
    assert_eq!(
        code(&f, req("svc", "svc-secret", CC)).await,
        Some(ErrorCode::InvalidClient)
    );
}

#[tokio::test]
async fn the_deployment_default_applies_unless_the_client_overrides_it() {
    let mut f = fixture().await;
    f.service.policy.rate_limit = 1;
    machine(&f).await.unwrap();
    assert!(matches!(
        machine(&f).await,
        Err(TokenError::RateLimited { limit: 1, .. })
    ));
    // 0 on the record: unlimited, whatever the deployment says.
    set(&f, "svc", limit(0)).await;
    for _ in 0..5 {
        machine(&f).await.unwrap();
    }
    // `default` again: back under the deployment's limit (this minute is long used up).
    set(
        &f,
        "svc",
        ClientUpdate {
            rate_limit: Some(None),
            ..ClientUpdate::default()
        },
    )
    .await;
    assert!(machine(&f).await.is_err());
}

/// A counter store that is down.
struct Down;

#[async_trait::async_trait]
impl RateLimitStore for Down {
    async fn count(&self, _: &str, _: Window) -> Result<u64, RateLimitStoreError> {
        Err(RateLimitStoreError::Unavailable("throttled".into()))
    }
}

#[tokio::test]
async fn a_limited_client_that_cannot_be_counted_gets_503_and_an_unlimited_one_goes_on() {
    let mut f = fixture().await;
    f.service.rate_limits = Arc::new(Down);
    machine(&f).await.unwrap();
    set(&f, "svc", limit(10)).await;
    assert!(matches!(
        machine(&f).await,
        Err(TokenError::Unavailable(Unavailable::RateLimitStore(_)))
    ));
    // A wrong secret is still only invalid_client, however the give-back went.
    let wrong = req("svc", "nope", CC);
    assert_eq!(code(&f, wrong).await, Some(ErrorCode::InvalidClient));
}

/// A counter whose answers are lost: the request may have been counted.
struct Unanswered;

#[async_trait::async_trait]
impl RateLimitStore for Unanswered {
    async fn count(&self, _: &str, _: Window) -> Result<u64, RateLimitStoreError> {
        Err(RateLimitStoreError::OutcomeUnknown("timed out".into()))
    }
}

/// A count with no answer may have been taken: a client told `503` would pay for its retry
/// twice, so a limited client goes on uncounted (the limit steers clients; it guards nothing).
#[tokio::test]
async fn a_count_that_got_no_answer_lets_a_limited_client_go_on() {
    let mut f = fixture().await;
    f.service.rate_limits = Arc::new(Unanswered);
    set(&f, "svc", limit(1)).await;
    for _ in 0..3 {
        machine(&f).await.unwrap();
    }
}

fn sunset_at(at: u64, deprecated_at: u64) -> ClientUpdate {
    ClientUpdate {
        password_grant_sunset: Some(Some(PasswordGrantSunset {
            sunset_at: at,
            deprecated_at,
        })),
        ..ClientUpdate::default()
    }
}

#[tokio::test]
async fn before_its_sunset_the_password_grant_is_announced_and_after_it_refused() {
    let f = fixture().await;
    let now = f.clock.now();
    let s = PasswordGrantSunset {
        sunset_at: now + 100,
        deprecated_at: now - 10,
    };
    set(&f, "app", sunset_at(s.sunset_at, s.deprecated_at)).await;
    let p = password("alice", "pw");
    let h = f
        .service
        .handle_token(&req("app", "app-secret", &to_params(&p)), Deadline::none())
        .await;
    assert_eq!(h.answer.sunset, Some(s));
    let first = h.result.unwrap();
    // A refresh is not the password grant: no announcement, and it goes on after the sunset.
    let token = first.refresh_token.unwrap();
    let mut rp = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", token.expose()),
    ];
    let h = f
        .service
        .handle_token(&req("app", "app-secret", &rp), Deadline::none())
        .await;
    assert_eq!(h.answer.sunset, None);
    let next = h.result.unwrap().refresh_token.unwrap();
    f.clock.advance(100);
    let refused = f
        .service
        .token(&req("app", "app-secret", &to_params(&p)))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::UnauthorizedClient);
    assert!(
        refused.description.contains("password grant")
            && refused.description.contains("ended")
            && refused
                .description
                .contains(&crate::sunset::rfc3339(s.sunset_at)),
        "{}",
        refused.description
    );
    rp[1].1 = next.expose();
    f.service
        .token(&req("app", "app-secret", &rp))
        .await
        .unwrap();
    // A wrong password after the sunset learns nothing of the user: the grant is refused first.
    let wrong = password("alice", "wrong");
    let e = code(&f, req("app", "app-secret", &to_params(&wrong))).await;
    assert_eq!(e, Some(ErrorCode::UnauthorizedClient));
}

#[tokio::test]
async fn a_cleared_sunset_stops_the_announcement() {
    let f = fixture().await;
    let now = f.clock.now();
    set(&f, "app", sunset_at(now + 100, now)).await;
    set(
        &f,
        "app",
        ClientUpdate {
            password_grant_sunset: Some(None),
            ..ClientUpdate::default()
        },
    )
    .await;
    let p = password("alice", "pw");
    let h = f
        .service
        .handle_token(&req("app", "app-secret", &to_params(&p)), Deadline::none())
        .await;
    assert_eq!(h.answer.sunset, None);
    assert!(h.result.is_ok());
}
