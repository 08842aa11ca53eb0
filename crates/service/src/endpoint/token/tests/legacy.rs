//! Refresh tokens Tollgate did not issue (issue 21): the legacy endpoint asked once, the first
//! use a session, a second use `invalid_grant` with `legacy_refresh_reuse`, a failing endpoint or
//! store a `503` that leaves the legacy token usable, and the retry of a take-over whose answer
//! was lost getting the session that landed.

use super::audit_events::audited;
use super::*;
use crate::legacy::{LegacyPorts, LegacyUser};
use crate::testkit::failing::Failing;
use crate::testkit::memory::MemoryLegacy;
use tollgate_oauth::scope::Scopes;

const OK: &str = "apigee-ok-0001";
const OK_TOO: &str = "apigee-ok-0002";
const NARROW: &str = "apigee-narrow-0001";
const REFUSED: &str = "apigee-refused-0001";
const BROKEN: &str = "apigee-broken-0001";

struct Legacy {
    f: Fixture,
    endpoint: Arc<Failing<MemoryLegacy>>,
    store: Arc<Failing<MemoryRefresh>>,
}

fn user(scope: &str) -> LegacyUser {
    LegacyUser {
        sub: "u-legacy".into(),
        details: serde_json::from_str(r#"{"email":"l@b","apigee_internal":"x"}"#).unwrap(),
        scope: Scopes::parse(scope).unwrap(),
    }
}

async fn legacy() -> Legacy {
    let mut f = fixture().await;
    let endpoint = Arc::new(Failing::new(
        MemoryLegacy::default()
            .with(OK, Ok(user("read write")))
            .with(OK_TOO, Ok(user("read write")))
            .with(NARROW, Ok(user("")))
            .with(REFUSED, Err(400))
            .with(BROKEN, Err(500)),
    ));
    let store = Arc::new(Failing::new(MemoryRefresh::default()));
    f.service.refresh = store.clone();
    f.service.codes = store.clone();
    f.service.legacy = Some(LegacyPorts {
        endpoint: endpoint.clone(),
        store: store.clone(),
    });
    Legacy { f, endpoint, store }
}

fn refresh_req(client: &str, token: &str, scope: Option<&str>) -> TokenRequest {
    let mut p = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(s) = scope {
        p.push(("scope", s));
    }
    req(client, &format!("{client}-secret"), &p)
}

async fn use_token(l: &Legacy, client: &str, token: &str) -> Result<TokenResponse, OAuthError> {
    l.f.service.token(&refresh_req(client, token, None)).await
}

fn sessions(l: &Legacy) -> usize {
    l.store.inner.families.lock().unwrap().len()
}

#[tokio::test]
async fn a_legacy_tokens_first_use_is_a_session_that_refreshes_like_any_other() {
    let l = legacy().await;
    let (first, events) = audited(use_token(&l, "app", OK)).await;
    let first = first.expect("the legacy endpoint vouched for it");
    assert_eq!(first.scope.to_string(), "read write");
    assert_eq!(l.endpoint.inner.calls(), 1);
    let rt = first.refresh_token.clone().unwrap();
    assert!(
        crate::legacy::tollgate_shaped(rt.expose()),
        "a Tollgate token now"
    );
    let stored = l.store.inner.token_as_it_stands(&rt).unwrap();
    assert_eq!(stored.grant.sub, "u-legacy");
    assert_eq!(stored.grant.client_id, "app");
    assert_eq!(
        serde_json::Value::Object(stored.grant.details.clone()),
        serde_json::json!({"email": "l@b"}),
        "the allow-list applies to the legacy details"
    );
    assert_eq!(stored.grant.auth_time, 1_000_000);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["legacy_refresh_accepted", "token_issued"]);
    assert_eq!(events[0]["family"], stored.family_id.as_str());
    assert_eq!(events[0]["subject"], "u-legacy");
    let line = events[0].to_string();
    assert!(
        !line.contains(OK),
        "the legacy token never reaches a line: {line}"
    );
    assert_eq!(
        events[0]["token_hash"],
        tollgate_telemetry::hash::short_hash(OK)
    );
    // Its successor is an ordinary Tollgate refresh token: it rotates, the endpoint not asked.
    let next = use_token(&l, "app", rt.expose()).await.unwrap();
    assert_ne!(next.refresh_token.unwrap().expose(), rt.expose());
    assert_eq!((l.endpoint.inner.calls(), sessions(&l)), (1, 1));
}

#[tokio::test]
async fn a_second_use_is_invalid_grant_with_a_reuse_event_and_the_endpoint_is_not_asked() {
    let l = legacy().await;
    use_token(&l, "app", OK).await.unwrap();
    let (again, events) = audited(use_token(&l, "app", OK)).await;
    assert_eq!(again.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
    assert_eq!(
        l.endpoint.inner.calls(),
        1,
        "sent to the legacy endpoint once"
    );
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "legacy_refresh_reuse");
    assert_eq!(events[0]["client_id"], "app");
    let f = l
        .store
        .inner
        .families
        .lock()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(events[0]["family"], f.family_id.as_str());
    assert!(!f.revoked, "the session the first use started stands");
    // By another client too: refused, never a second session.
    let other = use_token(&l, "other", OK).await;
    assert_eq!(other.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
    assert_eq!(sessions(&l), 1);
}

#[tokio::test]
async fn a_refusal_is_invalid_grant_and_a_failure_is_503_leaving_the_token_usable() {
    let l = legacy().await;
    let refused = use_token(&l, "app", REFUSED).await;
    assert_eq!(refused.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
    let broken = use_token(&l, "app", BROKEN).await;
    assert_eq!(
        broken.err().map(|e| e.code),
        Some(ErrorCode::TemporarilyUnavailable)
    );
    l.endpoint.fail("redeem");
    let down = use_token(&l, "app", OK).await;
    assert_eq!(
        down.err().map(|e| e.code),
        Some(ErrorCode::TemporarilyUnavailable)
    );
    l.endpoint.heal();
    l.store.fail("take_over");
    let store_down = use_token(&l, "app", OK).await;
    assert_eq!(
        store_down.err().map(|e| e.code),
        Some(ErrorCode::TemporarilyUnavailable)
    );
    assert_eq!(sessions(&l), 0, "nothing written");
    assert!(l.store.inner.markers.lock().unwrap().is_empty());
    l.store.heal();
    assert!(use_token(&l, "app", OK).await.is_ok(), "still usable");
    assert_eq!(sessions(&l), 1);
}

#[tokio::test]
async fn a_tollgate_shaped_token_is_never_sent_to_the_legacy_endpoint() {
    let l = legacy().await;
    let forged = Secret::generate();
    let r = use_token(&l, "app", forged.expose()).await;
    assert_eq!(r.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
    assert_eq!(l.endpoint.inner.calls(), 0);
}

#[tokio::test]
async fn scope_narrows_as_for_any_refresh_and_an_invalid_scope_uses_nothing_up() {
    let l = legacy().await;
    let wide =
        l.f.service
            .token(&refresh_req("app", OK, Some("read admin")))
            .await;
    assert_eq!(wide.err().map(|e| e.code), Some(ErrorCode::InvalidScope));
    assert_eq!(sessions(&l), 0, "nothing written");
    let narrow =
        l.f.service
            .token(&refresh_req("app", OK, Some("write")))
            .await
            .unwrap();
    assert_eq!(narrow.scope.to_string(), "write");
    let rt = narrow.refresh_token.unwrap();
    let stored = l.store.inner.token_as_it_stands(&rt).unwrap();
    assert_eq!(
        stored.grant.scope.to_string(),
        "read write",
        "the session keeps its scope"
    );
    // A legacy answer without a scope: the client's default scopes.
    let bare = use_token(&l, "app", NARROW).await.unwrap();
    assert_eq!(bare.scope.to_string(), "read");
}

#[tokio::test]
async fn a_legacy_refresh_needs_a_client_that_may_refresh() {
    let l = legacy().await;
    let r = use_token(&l, "svc", OK).await;
    assert_eq!(r.err().map(|e| e.code), Some(ErrorCode::UnauthorizedClient));
    let r = l.f.service.token(&refresh_req("app", OK, None)).await;
    assert!(r.is_ok());
    let wrong = req(
        "other",
        "wrong",
        &[("grant_type", "refresh_token"), ("refresh_token", OK_TOO)],
    );
    let r = l.f.service.token(&wrong).await;
    assert_eq!(r.err().map(|e| e.code), Some(ErrorCode::InvalidClient));
    assert_eq!(
        l.endpoint.inner.calls(),
        1,
        "only the good request reached it"
    );
}

#[tokio::test]
async fn the_retry_of_a_take_over_whose_answer_was_lost_gets_the_session_that_landed() {
    let l = legacy().await;
    l.store.lose_answers("take_over", 100);
    let deadline = Deadline::at_ms(l.f.clock.now_ms() + 800);
    let lost =
        l.f.service
            .handle_token(&refresh_req("app", OK, None), deadline)
            .await;
    assert!(
        matches!(lost.result, Err(TokenError::Unavailable(_))),
        "{:?}",
        lost.result
    );
    assert_eq!(sessions(&l), 1, "the take-over landed");
    l.store.lose_answers("take_over", 0);
    // Another client with the same legacy token is a second use.
    let theirs = use_token(&l, "other", OK).await;
    assert_eq!(theirs.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
    let (retry, events) = audited(use_token(&l, "app", OK)).await;
    let retry = retry.expect("the session that landed");
    let rt = retry.refresh_token.unwrap();
    let family = l
        .store
        .inner
        .families
        .lock()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(family.current_token, rt.hash());
    assert!(!family.revoked);
    assert!(
        events.iter().all(|e| e["event"] != "legacy_refresh_reuse"),
        "{events:?}"
    );
    assert_eq!(l.endpoint.inner.calls(), 1);
    // Once that session moved on, the legacy token is a second use.
    use_token(&l, "app", rt.expose()).await.unwrap();
    let late = use_token(&l, "app", OK).await;
    assert_eq!(late.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
}

#[tokio::test]
async fn thirty_two_concurrent_first_uses_start_exactly_one_session() {
    let l = Arc::new(legacy().await);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let l = l.clone();
        tasks.spawn(async move { use_token(&l, "app", OK).await.map(|r| r.scope) });
    }
    let results = tasks.join_all().await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code == ErrorCode::InvalidGrant))
        .count();
    assert_eq!((ok, refused), (1, 31));
    assert_eq!(sessions(&l), 1);
}

#[tokio::test]
async fn a_user_the_directory_ended_gets_no_session() {
    let mut l = legacy().await;
    let directory = Arc::new(crate::testkit::memory::MemoryDirectory::default());
    l.f.service.directory = Some(directory.clone());
    let gone = use_token(&l, "app", OK).await;
    assert_eq!(gone.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
    assert_eq!(sessions(&l), 0);
    let fresh = serde_json::from_str(r#"{"email":"new@b"}"#).unwrap();
    directory.set(
        "u-legacy",
        Some(crate::user_status::UserStatus::Active(fresh)),
    );
    let rt = use_token(&l, "app", OK_TOO)
        .await
        .unwrap()
        .refresh_token
        .unwrap();
    let stored = l.store.inner.token_as_it_stands(&rt).unwrap();
    assert_eq!(
        stored.grant.details["email"], "new@b",
        "the directory's details win"
    );
}
