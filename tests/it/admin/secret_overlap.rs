//! Client secrets that overlap during a rotation (`rotate-client-secret --keep-old`): both
//! secrets get tokens over HTTP until the old one is retired, by `retire-client-secret` or when
//! its grace period ends; afterwards only the new one does. Runs the built `tollgate-admin`
//! against the table the served token function reads, with the same pepper.

use tollgate_service::client::{ClientStore, ClientUpdate, PreviousSecret};
use tollgate_service::store::dynamo::DynamoClientStore;
use tollgate_tests::{Served, dynamo, post_token, unique};

use tollgate_tests::admin::{admin_with as admin, printed_secret, stdout};

const DEMO: [(&str, &str); 3] = [
    ("grant_type", "password"),
    ("username", "demo"),
    ("password", "demo-password"),
];

fn pepper() -> String {
    std::env::var("TOLLGATE_E2E_PEPPER")
        .expect("TOLLGATE_E2E_PEPPER: the pepper scripts/test.sh gives the served function")
}

async fn status(served: &Served, id: &str, secret: &str) -> u16 {
    let a = post_token(&served.token_url(), Some((id, secret)), &DEMO).await;
    if a.status != 200 {
        a.assert_error(401, "invalid_client");
    }
    a.status
}

/// Creates a client through the CLI and rotates its secret keeping the old one.
async fn rotated_keeping_old(served: &Served, extra: &[&str]) -> (String, String, String) {
    let id = unique("overlap");
    let table = &served.clients_table;
    let p = pepper();
    let first = printed_secret(&stdout(&admin(
        table,
        Some(&p),
        &["create-client", "--id", &id],
        "",
    )));
    assert_eq!(status(served, &id, &first).await, 200);
    let mut args = vec!["rotate-client-secret", "--id", &id, "--keep-old"];
    args.extend_from_slice(extra);
    let out = stdout(&admin(table, Some(&p), &args, ""));
    let second = printed_secret(&out);
    assert_ne!(first, second);
    assert!(out.contains("old secret keeps working"), "{out}");
    (id, first, second)
}

#[tokio::test]
async fn both_secrets_work_until_the_old_one_is_retired() {
    let served = Served::from_env();
    let (id, old, new) = rotated_keeping_old(&served, &[]).await;
    assert_eq!(status(&served, &id, &old).await, 200, "the old secret");
    assert_eq!(status(&served, &id, &new).await, 200, "the new secret");
    assert_eq!(status(&served, &id, "Q7wErTy9uIoP3aSdX").await, 401);

    let table = &served.clients_table;
    let out = stdout(&admin(
        table,
        Some(&pepper()),
        &["retire-client-secret", "--id", &id],
        "",
    ));
    assert!(out.contains("previous secret no longer works"), "{out}");
    assert_eq!(status(&served, &id, &old).await, 401, "retired");
    assert_eq!(status(&served, &id, &new).await, 200);
    let again = stdout(&admin(
        table,
        None,
        &["retire-client-secret", "--id", &id],
        "",
    ));
    assert!(again.contains("nothing changed"), "{again}");

    // A rotation without --keep-old ends the overlap at once, for both earlier secrets.
    let (id, old, new) = rotated_keeping_old(&served, &[]).await;
    let third = printed_secret(&stdout(&admin(
        table,
        Some(&pepper()),
        &["rotate-client-secret", "--id", &id],
        "",
    )));
    for gone in [&old, &new] {
        assert_eq!(status(&served, &id, gone).await, 401);
    }
    assert_eq!(status(&served, &id, &third).await, 200);
}

#[tokio::test]
async fn the_old_secret_stops_by_itself_when_its_grace_period_ends() {
    let served = Served::from_env();
    let (id, old, new) = rotated_keeping_old(&served, &["--retire-after", "7d"]).await;
    let store = DynamoClientStore::new(dynamo().await, &served.clients_table);
    let kept = store
        .get(&id)
        .await
        .unwrap()
        .unwrap()
        .previous_secret
        .unwrap();
    let created = store.get(&id).await.unwrap().unwrap().created_at;
    let retire_at = kept.retire_at.expect("--retire-after sets a time");
    assert!(
        retire_at >= created + 7 * 86_400,
        "{retire_at} vs {created}"
    );
    assert_eq!(
        status(&served, &id, &old).await,
        200,
        "within the grace period"
    );

    // The grace period is over: move its end into the past rather than wait a week.
    let update = ClientUpdate {
        previous_secret: Some(Some(PreviousSecret {
            retire_at: Some(created.saturating_sub(1)),
            ..kept
        })),
        ..ClientUpdate::default()
    };
    store.update(&id, &update).await.unwrap();
    assert_eq!(
        status(&served, &id, &old).await,
        401,
        "after the grace period"
    );
    assert_eq!(status(&served, &id, &new).await, 200);
}

#[tokio::test]
async fn bad_grace_periods_are_refused() {
    let served = Served::from_env();
    let table = &served.clients_table;
    for (args, expected) in [
        (&["--retire-after", "7d"][..], "--keep-old"),
        (
            &["--keep-old", "--retire-after", "0"][..],
            "a duration such as",
        ),
        (&["--keep-old", "--retire-after", "91d"][..], "at most 90d"),
        (
            &["--keep-old", "--retire-after", "7w"][..],
            "a duration such as",
        ),
        (
            &["--keep-old", "--retire-after=-1h"][..],
            "a duration such as",
        ),
    ] {
        let mut all = vec!["rotate-client-secret", "--id", "nobody"];
        all.extend_from_slice(args);
        let out = admin(table, None, &all, "");
        assert!(!out.status.success(), "{args:?} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
