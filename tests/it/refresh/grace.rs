//! The refresh reuse grace window (issue 10 item 4): over HTTP through `cargo lambda watch`
//! with a client's own window on and off, and 32 simultaneous refreshes of one token through
//! the real DynamoDB adapter on DynamoDB Local.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::Barrier;
use tollgate_oauth::secret::Secret;
use tollgate_service::client::ClientCredentials;
use tollgate_service::endpoint::{TokenRequest, TokenResponse, TokenService};
use tollgate_service::refresh::in_family::parts;
use tollgate_service::store::dynamo::family_key;
use tollgate_tests::admin::admin;
use tollgate_tests::{
    Answer, ClientSpec, Served, TestClient, alice_only, create_tables, dynamo, dynamo_service,
    stored_item,
};

struct Session {
    served: Served,
    client: TestClient,
}

impl Session {
    async fn new(grace: Option<u64>) -> Self {
        let served = Served::from_env();
        let spec = ClientSpec {
            refresh_reuse_grace: grace,
            ..ClientSpec::default()
        };
        let client = TestClient::with(&served, spec).await;
        Self { served, client }
    }

    /// Signs in; the session's first refresh token.
    async fn login(&self) -> String {
        self.client
            .login(&self.served, "demo", "demo-password")
            .await
            .1
    }

    async fn refresh(&self, token: &str) -> Answer {
        self.client.refresh(&self.served, token).await
    }
}

#[tokio::test]
async fn with_the_window_on_a_retry_gets_the_same_successor_until_it_is_used() {
    let s = Session::new(Some(30)).await;
    let first = s.login().await;
    let second = s.refresh(&first).await;
    assert_eq!(second.status, 200, "{second:?}");
    let retry = s.refresh(&first).await;
    assert_eq!(retry.status, 200, "a retry within the window: {retry:?}");
    retry.assert_no_store();
    assert_eq!(
        retry.refresh_token(),
        second.refresh_token(),
        "the same successor, no second branch"
    );
    assert_ne!(retry.json["access_token"], second.json["access_token"]);
    assert_eq!(retry.json["token_type"], "Bearer");
    let replayed = tollgate_tests::logs::audit_line(&s.served.log_path, "refresh_replayed", |l| {
        l["client_id"] == s.client.id.as_str()
    })
    .await;
    assert_eq!(replayed["subject"], "user-0001");
    // The successor is used: from now on the old token is reuse, and revokes the family.
    let third = s.refresh(&second.refresh_token()).await;
    assert_eq!(third.status, 200, "{third:?}");
    s.refresh(&first).await.assert_error(400, "invalid_grant");
    s.refresh(&third.refresh_token())
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn with_the_window_off_a_retry_revokes_the_family_as_before() {
    let s = Session::new(Some(0)).await;
    let first = s.login().await;
    let second = s.refresh(&first).await;
    assert_eq!(second.status, 200, "{second:?}");
    s.refresh(&first).await.assert_error(400, "invalid_grant");
    s.refresh(&second.refresh_token())
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn another_client_cannot_use_the_window() {
    let owner = Session::new(Some(30)).await;
    let other = Session::new(Some(30)).await;
    let first = owner.login().await;
    let second = owner.refresh(&first).await;
    assert_eq!(second.status, 200, "{second:?}");
    other
        .refresh(&first)
        .await
        .assert_error(400, "invalid_grant");
    let next = owner.refresh(&second.refresh_token()).await;
    assert_eq!(next.status, 200, "the owner's family lives on: {next:?}");
}

/// 32 simultaneous refreshes of one token with the window on, on 8 threads released together
/// by a barrier: every one succeeds with the same successor (the losers of the rotation replay
/// the winner's), the table holds the old token and exactly one successor, and the family is
/// active at that successor.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_refreshes_with_the_window_on_all_get_the_one_successor() {
    const N: usize = 32;
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let (id, secret) = ClientSpec::default().create(&db, &t.clients).await;
    let mut service = dynamo_service(&db, &t, alice_only());
    service.policy.refresh_reuse_grace = 10;
    let service = Arc::new(service);
    let client = (id.as_str(), secret.as_str());
    let login = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "pw"),
    ];
    let first = service.token(&request(client, &login)).await.unwrap();
    let presented = first.refresh_token.unwrap().expose().to_owned();
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", presented.as_str()),
    ];
    let answers = all_at_once(&service, N, &request(client, &refresh)).await;
    let successors: HashSet<String> = answers
        .iter()
        .map(|r| r.refresh_token.as_ref().unwrap().expose().to_owned())
        .collect();
    let access_tokens: HashSet<&String> = answers.iter().map(|r| &r.access_token).collect();
    assert_eq!(successors.len(), 1, "all {N} got the same successor");
    assert_eq!(access_tokens.len(), N, "each got its own access token");
    let successor = Secret::new(successors.into_iter().next().unwrap());
    assert_one_successor_stored(&db, &t.tokens, &Secret::new(presented), &successor).await;
    // The one successor works, once.
    let next = [
        ("grant_type", "refresh_token"),
        ("refresh_token", successor.expose()),
    ];
    let next = service.token(&request(client, &next)).await;
    assert!(next.is_ok(), "{next:?}");
}

fn request(client: (&str, &str), params: &[(&str, &str)]) -> TokenRequest {
    TokenRequest::new(
        Some(ClientCredentials {
            client_id: client.0.to_owned(),
            secret: Some(Secret::new(client.1)),
        }),
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

/// `n` copies of `req`, released together by a barrier; every one must succeed.
async fn all_at_once(
    service: &Arc<TokenService>,
    n: usize,
    req: &TokenRequest,
) -> Vec<TokenResponse> {
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (service, barrier) = (service.clone(), barrier.clone());
            let r = req.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                service.token(&r).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap().expect("every refresh succeeds"));
    }
    answers
}

/// The table after the rotation: the old token rotated with its successor sealed (not in clear),
/// the family active at the successor, which holds both (no token has a record of its own).
async fn assert_one_successor_stored(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    old: &Secret,
    successor: &Secret,
) {
    let item = |pk: String| async move { stored_item(db, table, &pk).await };
    let old_hash = old.hash();
    let family_id = parts(old.expose()).expect("the shape issued now").0;
    assert_eq!(
        parts(successor.expose()),
        parts(old.expose()),
        "the same family"
    );
    let family = item(family_key(family_id)).await;
    let retired = family["retired"].as_m().unwrap();
    assert_eq!(retired["token_hash"].as_s().unwrap(), &old_hash, "retired");
    let sealed = retired["sealed_successor"].as_s().unwrap();
    assert!(!sealed.contains(successor.expose()), "sealed, not in clear");
    assert_eq!(family["status"].as_s().unwrap(), "active");
    assert_eq!(family["current_token"].as_s().unwrap(), &successor.hash());
    let items = db
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let tokens = items
        .items()
        .iter()
        .filter(|i| i["kind"].as_s().unwrap() == "token")
        .count();
    assert_eq!(
        tokens, 0,
        "the family holds the old token and its one successor"
    );
}

/// `tollgate-admin update-client --refresh-reuse-grace`: 0 to 60 seconds or `default`, stored as
/// the client's own window, and anything else refused before a write.
#[tokio::test]
async fn the_admin_cli_sets_and_clears_a_clients_window() {
    use tollgate_service::client::ClientStore;
    use tollgate_service::store::dynamo::DynamoClientStore;
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let (id, _) = ClientSpec::default().create(&db, &t.clients).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    let grace = || async { store.get(&id).await.unwrap().unwrap().refresh_reuse_grace };
    let run = |value: &str| {
        admin(
            &t.clients,
            &["update-client", "--id", &id, "--refresh-reuse-grace", value],
        )
    };
    for (value, stored) in [("30", Some(30)), ("0", Some(0)), ("60", Some(60))] {
        let out = run(value);
        assert!(out.status.success(), "{value}: {out:?}");
        assert_eq!(grace().await, stored, "{value}");
    }
    for bad in ["61", "1.5", "soon"] {
        let out = run(bad);
        assert!(!out.status.success(), "{bad} is refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("0 to 60"), "{bad}: {err}");
        assert_eq!(grace().await, Some(60), "{bad}: nothing written");
    }
    let out = run("default");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(grace().await, None, "back to the deployment's window");
    let shown = admin(&t.clients, &["show-client", "--id", &id]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("refresh_reuse_grace: deployment default"),
        "{shown:?}"
    );
}
