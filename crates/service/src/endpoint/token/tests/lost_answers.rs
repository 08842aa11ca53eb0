//! A rotation whose write landed but whose answer was lost (a timeout after the request left):
//! sent again until answered, and when the function must give up (`503`, "try again"), the
//! client's retry gets the successor that landed instead of being taken for a thief. Against the
//! memory adapter behind [`Failing`], which applies a call and then loses its answer.

use super::*;
use crate::testkit::failing::Failing;

struct Lossy {
    f: Fixture,
    refresh: Arc<Failing<MemoryRefresh>>,
}

/// The fixture with the deployment's grace window set to `grace` (0: strict rotation) and the
/// refresh store able to lose answers.
async fn lossy(grace: u64) -> Lossy {
    let mut f = fixture().await;
    f.service.policy.refresh_reuse_grace = grace;
    let refresh = Arc::new(Failing::new(MemoryRefresh::default()));
    f.service.refresh = refresh.clone();
    Lossy { f, refresh }
}

async fn sign_in(l: &Lossy) -> TokenResponse {
    let p = password("alice", "pw");
    l.f.service
        .token(&req("app", "app-secret", &to_params(&p)))
        .await
        .unwrap()
}

/// A refresh with `token`, within `deadline`: what the grant came to.
async fn refresh_within(
    l: &Lossy,
    token: &Secret,
    deadline: Deadline,
) -> Result<TokenResponse, TokenError> {
    let r = req(
        "app",
        "app-secret",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token.expose()),
        ],
    );
    l.f.service.handle_token(&r, deadline).await.result
}

/// A deadline the manual clock never reaches, leaving 300 ms a call (the margin is 500 ms):
/// sends that keep losing their answers stop within a second.
fn short_deadline(l: &Lossy) -> Deadline {
    Deadline::at_ms(l.f.clock.now_ms() + 800)
}

fn current_token(l: &Lossy) -> String {
    let families = l.refresh.inner.families.lock().unwrap();
    families.values().next().unwrap().current_token.clone()
}

fn revoked(l: &Lossy) -> bool {
    let families = l.refresh.inner.families.lock().unwrap();
    families.values().any(|f| f.revoked)
}

fn retired(l: &Lossy, token: &Secret) -> crate::refresh::StoredToken {
    l.refresh.inner.token_as_it_stands(token).unwrap()
}

#[tokio::test]
async fn a_lost_answer_is_sent_again_and_the_client_gets_the_successor_that_landed() {
    let l = lossy(0).await;
    let first = sign_in(&l).await;
    l.refresh.lose_answers("rotate", 2);
    let second = refresh_within(&l, rt(&first), Deadline::none())
        .await
        .expect("answered once a send was answered");
    assert_eq!(
        current_token(&l),
        rt(&second).hash(),
        "one successor landed"
    );
    assert!(
        l.refresh.inner.holds_one_successor(rt(&first), rt(&second)),
        "sent three times, written once"
    );
    let old = retired(&l, rt(&first));
    assert!(old.unconfirmed, "the rotation is marked unconfirmed");
    assert!(old.sealed_successor.is_some(), "and its successor sealed");
    let third = refresh_within(&l, rt(&second), Deadline::none()).await;
    assert!(third.is_ok(), "the successor works: {third:?}");
}

#[tokio::test]
async fn a_retry_after_every_answer_was_lost_gets_the_successor_that_landed() {
    let l = lossy(0).await;
    let first = sign_in(&l).await;
    l.refresh.lose_answers("rotate", u32::MAX);
    let (told, events) =
        audit_events::audited(refresh_within(&l, rt(&first), short_deadline(&l))).await;
    assert!(
        matches!(told, Err(TokenError::Unavailable(_))),
        "503, try again: {told:?}"
    );
    assert!(events.is_empty(), "{events:?}");
    let landed = current_token(&l);
    assert_ne!(landed, rt(&first).hash(), "the write landed");
    l.refresh.lose_answers("rotate", 0);
    l.f.clock.advance(6);
    let (retry, events) =
        audit_events::audited(refresh_within(&l, rt(&first), Deadline::none())).await;
    let retry = retry.expect("the retry, done as told, succeeds");
    assert_eq!(rt(&retry).hash(), landed, "the successor that landed");
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        kinds,
        ["refresh_replayed", "token_issued"],
        "no theft alarm"
    );
    assert!(!revoked(&l), "the session lives");
    let next = refresh_within(&l, rt(&retry), Deadline::none()).await;
    assert!(next.is_ok(), "and goes on: {next:?}");
}

#[tokio::test]
async fn after_the_lost_answer_window_the_old_token_is_reuse() {
    let l = lossy(0).await;
    let first = sign_in(&l).await;
    l.refresh.lose_answers("rotate", u32::MAX);
    let told = refresh_within(&l, rt(&first), short_deadline(&l)).await;
    assert!(matches!(told, Err(TokenError::Unavailable(_))), "{told:?}");
    l.refresh.lose_answers("rotate", 0);
    l.f.clock.advance(l.f.service.policy.lost_answer_window + 1);
    let (late, events) =
        audit_events::audited(refresh_within(&l, rt(&first), Deadline::none())).await;
    assert_eq!(late.unwrap_err().to_oauth().code, ErrorCode::InvalidGrant);
    assert_eq!(events[0]["event"], "refresh_reuse_detected", "{events:?}");
    assert!(revoked(&l));
}

#[tokio::test]
async fn once_the_successor_was_used_the_old_token_is_reuse_even_within_the_window() {
    let l = lossy(0).await;
    let first = sign_in(&l).await;
    l.refresh.lose_answers("rotate", u32::MAX);
    let _ = refresh_within(&l, rt(&first), short_deadline(&l)).await;
    l.refresh.lose_answers("rotate", 0);
    let retry = refresh_within(&l, rt(&first), Deadline::none())
        .await
        .unwrap();
    refresh_within(&l, rt(&retry), Deadline::none())
        .await
        .unwrap();
    let again = refresh_within(&l, rt(&first), Deadline::none()).await;
    assert_eq!(again.unwrap_err().to_oauth().code, ErrorCode::InvalidGrant);
    assert!(revoked(&l), "a genuine reuse is still theft");
}

#[tokio::test]
async fn a_confirmed_rotation_keeps_strict_reuse_detection() {
    let l = lossy(0).await;
    let first = sign_in(&l).await;
    refresh_within(&l, rt(&first), Deadline::none())
        .await
        .unwrap();
    assert!(!retired(&l, rt(&first)).unconfirmed);
    let again = refresh_within(&l, rt(&first), Deadline::none()).await;
    assert_eq!(again.unwrap_err().to_oauth().code, ErrorCode::InvalidGrant);
    assert!(
        revoked(&l),
        "strict rotation: an answered rotation leaves no window"
    );
}
