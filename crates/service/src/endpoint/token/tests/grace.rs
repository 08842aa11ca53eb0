//! The refresh reuse grace window (`crate::refresh::grace`) against the in-memory adapters.

use super::*;

/// The fixture with the deployment's grace window set to `secs`.
async fn with_grace(secs: u64) -> Fixture {
    let mut f = fixture().await;
    f.service.policy.refresh_reuse_grace = secs;
    f
}

#[tokio::test]
async fn a_retry_within_the_window_gets_the_same_successor_and_a_fresh_access_token() {
    let f = with_grace(10).await;
    let first = login(&f, None).await;
    let second = refresh(&f, APP, rt(&first), None).await.unwrap();
    f.clock.advance(10);
    let retry = refresh(&f, APP, rt(&first), None).await.unwrap();
    assert_eq!(
        rt(&retry),
        rt(&second),
        "the same successor, no second branch"
    );
    assert_ne!(retry.access_token, second.access_token);
    assert_eq!(retry.scope.to_string(), "read");
    assert!(
        f.refresh.holds_one_successor(rt(&first), rt(&second)),
        "old and one successor"
    );
    assert!(!revoked(&f));
    let third = refresh(&f, APP, rt(&retry), None).await;
    assert!(third.is_ok(), "the successor still works");
}

#[tokio::test]
async fn the_successor_is_stored_sealed_never_in_clear() {
    let f = with_grace(10).await;
    let first = login(&f, None).await;
    let second = refresh(&f, APP, rt(&first), None).await.unwrap();
    let old = f.refresh.token_as_it_stands(rt(&first)).unwrap();
    let sealed = old.sealed_successor.as_deref().expect("sealed successor");
    assert!(!sealed.contains(rt(&second).expose()));
    assert_eq!(
        crate::refresh::grace::open(rt(&first), &old.family_id, sealed).as_ref(),
        Some(rt(&second))
    );
}

#[tokio::test]
async fn a_retry_after_the_window_revokes_the_family() {
    let f = with_grace(10).await;
    let first = login(&f, None).await;
    let second = refresh(&f, APP, rt(&first), None).await.unwrap();
    f.clock.advance(11);
    let late = refresh(&f, APP, rt(&first), None).await.unwrap_err();
    assert_eq!(late.code, ErrorCode::InvalidGrant);
    assert!(revoked(&f));
    let after = refresh(&f, APP, rt(&second), None).await.unwrap_err();
    assert_eq!(
        after.code,
        ErrorCode::InvalidGrant,
        "the successor died too"
    );
}

#[tokio::test]
async fn a_retry_after_the_successor_was_used_revokes_the_family() {
    let f = with_grace(60).await;
    let first = login(&f, None).await;
    let second = refresh(&f, APP, rt(&first), None).await.unwrap();
    let third = refresh(&f, APP, rt(&second), None).await.unwrap();
    let retry = refresh(&f, APP, rt(&first), None).await.unwrap_err();
    assert_eq!(retry.code, ErrorCode::InvalidGrant);
    assert!(revoked(&f));
    let newest = refresh(&f, APP, rt(&third), None).await.unwrap_err();
    assert_eq!(newest.code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn another_client_gets_nothing_and_the_family_lives_on() {
    let f = with_grace(60).await;
    let first = login(&f, None).await;
    let second = refresh(&f, APP, rt(&first), None).await.unwrap();
    let stolen = refresh(&f, ("other", "other-secret"), rt(&first), None).await;
    assert_eq!(stolen.unwrap_err().code, ErrorCode::InvalidGrant);
    assert!(!revoked(&f));
    assert!(refresh(&f, APP, rt(&second), None).await.is_ok());
}

#[tokio::test]
async fn a_token_rotated_while_the_window_was_off_is_reuse() {
    let mut f = with_grace(0).await;
    let first = login(&f, None).await;
    let _second = refresh(&f, APP, rt(&first), None).await.unwrap();
    f.service.policy.refresh_reuse_grace = 60;
    let retry = refresh(&f, APP, rt(&first), None).await.unwrap_err();
    assert_eq!(retry.code, ErrorCode::InvalidGrant);
    assert!(revoked(&f), "no sealed successor: reuse as before");
}

#[tokio::test]
async fn the_clients_override_wins_both_ways() {
    let on_for_client = with_grace(0).await;
    set_client_grace(&on_for_client, Some(5)).await;
    let first = login(&on_for_client, None).await;
    let second = refresh(&on_for_client, APP, rt(&first), None)
        .await
        .unwrap();
    let retry = refresh(&on_for_client, APP, rt(&first), None)
        .await
        .unwrap();
    assert_eq!(rt(&retry), rt(&second));

    let off_for_client = with_grace(60).await;
    set_client_grace(&off_for_client, Some(0)).await;
    let first = login(&off_for_client, None).await;
    refresh(&off_for_client, APP, rt(&first), None)
        .await
        .unwrap();
    let retry = refresh(&off_for_client, APP, rt(&first), None).await;
    assert_eq!(retry.unwrap_err().code, ErrorCode::InvalidGrant);
    assert!(revoked(&off_for_client));
}

async fn set_client_grace(f: &Fixture, grace: Option<u64>) {
    let update = client::ClientUpdate {
        refresh_reuse_grace: Some(grace),
        ..Default::default()
    };
    f.service.clients.update("app", &update).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_all_get_the_one_successor() {
    let f = Arc::new(with_grace(10).await);
    let first = login(&f, None).await;
    let token = rt(&first).expose().to_owned();
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (f, token, barrier) = (f.clone(), token.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            refresh(&f, APP, &Secret::new(token), None).await
        }));
    }
    let mut successors = std::collections::HashSet::new();
    for t in tasks {
        successors.insert(rt(&t.await.unwrap().unwrap()).expose().to_owned());
    }
    assert_eq!(successors.len(), 1, "every request got the same successor");
    let successor = Secret::new(successors.into_iter().next().unwrap());
    assert!(
        f.refresh
            .holds_one_successor(&Secret::new(token), &successor)
    );
    assert!(!revoked(&f));
}
