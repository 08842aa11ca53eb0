//! A client's two secrets during a rotation: the previous one is accepted until its
//! `retire_at`, the current one always; unknown clients are refused the same way.

use tollgate_oauth::secret::{Secret, SecretHasher};

use super::*;
use crate::testkit::memory::MemoryClients;

fn creds(id: &str, secret: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: id.into(),
        secret: Some(Secret::new(secret)),
    }
}

async fn store_with(previous: Option<PreviousSecret>) -> MemoryClients {
    let store = MemoryClients::default();
    let mut c = Client::create(
        "app",
        Secret::new("new-secret").hash(),
        0,
        &ClientUpdate::default(),
    )
    .unwrap();
    c.previous_secret = previous;
    store.create(&c).await.unwrap();
    store
}

async fn accepted(store: &MemoryClients, secret: &str, now: u64) -> bool {
    let h = SecretHasher::default();
    authenticate_at(store, &h, &creds("app", secret), now)
        .await
        .is_ok()
}

#[tokio::test]
async fn the_previous_secret_works_until_it_is_retired() {
    let old = Secret::new("old-secret").hash();
    let timed = store_with(Some(PreviousSecret {
        hash: old.clone(),
        retire_at: Some(100),
    }))
    .await;
    assert!(accepted(&timed, "old-secret", 99).await);
    assert!(!accepted(&timed, "old-secret", 100).await, "retired at 100");
    assert!(!accepted(&timed, "old-secret", 101).await);
    for now in [0, 99, 100, u64::MAX] {
        assert!(accepted(&timed, "new-secret", now).await);
        assert!(!accepted(&timed, "other-secret", now).await);
    }
    let open_ended = store_with(Some(PreviousSecret {
        hash: old,
        retire_at: None,
    }))
    .await;
    assert!(accepted(&open_ended, "old-secret", u64::MAX).await);
    let single = store_with(None).await;
    assert!(!accepted(&single, "old-secret", 0).await);
    assert!(accepted(&single, "new-secret", 0).await);
}

#[tokio::test]
async fn the_previous_secret_never_lets_a_disabled_or_unknown_client_in() {
    let store = store_with(Some(PreviousSecret {
        hash: Secret::new("old-secret").hash(),
        retire_at: None,
    }))
    .await;
    let update = ClientUpdate {
        enabled: Some(false),
        ..ClientUpdate::default()
    };
    store.update("app", &update).await.unwrap();
    let h = SecretHasher::default();
    let e = authenticate_at(&store, &h, &creds("app", "old-secret"), 0).await;
    assert!(matches!(
        e,
        Err(AuthenticateError::Rejected(ClientRejection::Disabled))
    ));
    let e = authenticate_at(&store, &h, &creds("other", "old-secret"), 0).await;
    assert!(matches!(
        e,
        Err(AuthenticateError::Rejected(ClientRejection::Unknown))
    ));
}

#[test]
fn an_update_sets_and_drops_the_previous_secret() {
    let c = Client::create("app", "sha256:new".into(), 0, &ClientUpdate::default()).unwrap();
    let p = PreviousSecret {
        hash: "sha256:old".into(),
        retire_at: Some(5),
    };
    let set = ClientUpdate {
        previous_secret: Some(Some(p.clone())),
        ..ClientUpdate::default()
    }
    .apply_to(&c);
    assert_eq!(set.previous_secret, Some(p));
    let dropped = ClientUpdate {
        previous_secret: Some(None),
        ..ClientUpdate::default()
    }
    .apply_to(&set);
    assert_eq!(dropped.previous_secret, None);
    assert_eq!(ClientUpdate::default().apply_to(&set), set);
}
