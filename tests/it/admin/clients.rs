//! Client administration against DynamoDB Local: the store methods the admin CLI uses, and the
//! CLI itself as an operator runs it (the binary `scripts/test.sh` built).

use std::process::{Command, Output};

use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::Secret;
use tollgate_service::client::{
    ClientCredentials, ClientStore, ClientStoreError, ClientUpdate, GrantType, PreviousSecret,
    authenticate,
};
use tollgate_service::store::dynamo::DynamoClientStore;
use tollgate_tests::admin::{admin, printed_secret, stdout};
use tollgate_tests::{ClientSpec, create_tables, dynamo, unique};

fn creds(id: &str, secret: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: id.into(),
        secret: Some(Secret::new(secret)),
    }
}

#[tokio::test]
async fn list_returns_every_client_in_id_order() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    assert!(store.list().await.unwrap().is_empty());
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(ClientSpec::default().create(&db, &t.clients).await.0);
    }
    ids.sort();
    let listed: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(listed, ids);
}

#[tokio::test]
async fn update_changes_only_what_it_names_and_returns_the_record() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let (id, secret) = ClientSpec::default().create(&db, &t.clients).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    let before = store.get(&id).await.unwrap().unwrap();

    let update = ClientUpdate {
        name: Some("Renamed".into()),
        grant_types: Some(vec![GrantType::Password]),
        allowed_scopes: Some(Scopes::parse("profile orders:read").unwrap()),
        access_token_ttl: Some(Some(300)),
        refresh_family_ttl: Some(Some(86_400)),
        ..ClientUpdate::default()
    };
    let after = store.update(&id, &update).await.unwrap();
    assert_eq!(after, update.apply_to(&before));
    assert_eq!(store.get(&id).await.unwrap(), Some(after.clone()));
    assert_eq!(after.name, "Renamed");
    assert_eq!(after.default_scopes, before.default_scopes, "untouched");
    assert!(
        authenticate(&store, &creds(&id, &secret)).await.is_ok(),
        "the secret is untouched"
    );

    // `Some(None)` returns a lifetime to the deployment's default: the attribute goes.
    let reset = ClientUpdate {
        access_token_ttl: Some(None),
        ..ClientUpdate::default()
    };
    let after = store.update(&id, &reset).await.unwrap();
    assert_eq!(after.access_token_ttl, None);
    assert_eq!(after.refresh_family_ttl, Some(86_400));
}

#[tokio::test]
async fn update_and_delete_never_create_a_client() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    let ghost = unique("ghost");
    let update = ClientUpdate {
        enabled: Some(true),
        ..ClientUpdate::default()
    };
    assert!(matches!(
        store.update(&ghost, &update).await,
        Err(ClientStoreError::NotFound)
    ));
    assert!(matches!(
        store.update(&ghost, &ClientUpdate::default()).await,
        Err(ClientStoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(&ghost).await,
        Err(ClientStoreError::NotFound)
    ));
    assert_eq!(store.get(&ghost).await.unwrap(), None);
}

#[tokio::test]
async fn rotating_a_secret_retires_the_old_one_at_once() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let (id, old) = ClientSpec::default().create(&db, &t.clients).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    let new = Secret::generate();
    let update = ClientUpdate {
        secret_hash: Some(new.hash()),
        ..ClientUpdate::default()
    };
    store.update(&id, &update).await.unwrap();
    assert!(
        authenticate(&store, &creds(&id, new.expose()))
            .await
            .is_ok()
    );
    assert!(authenticate(&store, &creds(&id, &old)).await.is_err());
}

/// The second secret of a rotation survives the round trip through DynamoDB: set with and
/// without a retirement time, then dropped.
#[tokio::test]
async fn a_previous_secret_is_stored_changed_and_dropped() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let (id, old) = ClientSpec::default().create(&db, &t.clients).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    let before = store.get(&id).await.unwrap().unwrap();
    assert_eq!(before.previous_secret, None);
    let new = Secret::generate();
    for retire_at in [Some(4_000_000_000), None, Some(1)] {
        let kept = PreviousSecret {
            hash: before.secret_hash.clone(),
            retire_at,
        };
        let update = ClientUpdate {
            secret_hash: Some(new.hash()),
            previous_secret: Some(Some(kept.clone())),
            ..ClientUpdate::default()
        };
        let returned = store.update(&id, &update).await.unwrap();
        assert_eq!(returned.previous_secret.as_ref(), Some(&kept));
        let read = store.get(&id).await.unwrap().unwrap();
        assert_eq!(read.previous_secret, Some(kept));
        assert_eq!(
            authenticate(&store, &creds(&id, &old)).await.is_ok(),
            retire_at != Some(1),
            "retire_at {retire_at:?}"
        );
    }
    let update = ClientUpdate {
        previous_secret: Some(None),
        ..ClientUpdate::default()
    };
    assert_eq!(
        store.update(&id, &update).await.unwrap().previous_secret,
        None
    );
    assert_eq!(store.get(&id).await.unwrap().unwrap().previous_secret, None);
    assert!(authenticate(&store, &creds(&id, &old)).await.is_err());
    assert!(
        authenticate(&store, &creds(&id, new.expose()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn disabled_and_deleted_clients_cannot_authenticate() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let (id, secret) = ClientSpec::default().create(&db, &t.clients).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    let set = |enabled| ClientUpdate {
        enabled: Some(enabled),
        ..ClientUpdate::default()
    };
    store.update(&id, &set(false)).await.unwrap();
    assert!(authenticate(&store, &creds(&id, &secret)).await.is_err());
    store.update(&id, &set(true)).await.unwrap();
    assert!(authenticate(&store, &creds(&id, &secret)).await.is_ok());
    store.delete(&id).await.unwrap();
    assert!(authenticate(&store, &creds(&id, &secret)).await.is_err());
    assert_eq!(store.get(&id).await.unwrap(), None);
}

// ---- the CLI, as an operator runs it

/// Runs `tollgate-admin` against DynamoDB Local with `CLIENTS_TABLE=table`.
/// The one-line error an operator sees; asserts the command failed.
fn error(o: &Output) -> String {
    assert!(!o.status.success(), "expected a failure: {o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn cli_manages_a_client_through_its_whole_life() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    let table = t.clients.as_str();

    let out = stdout(&admin(
        table,
        &[
            "create-client",
            "--id",
            "my-app",
            "--name",
            "My app",
            "--scopes",
            "profile orders:read",
            "--default-scopes",
            "profile",
        ],
    ));
    let first = printed_secret(&out);
    assert!(authenticate(&store, &creds("my-app", &first)).await.is_ok());

    let listed = stdout(&admin(table, &["list-clients"]));
    assert!(
        listed.contains("my-app") && listed.contains("enabled"),
        "{listed}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&admin(
        table,
        &["show-client", "--id", "my-app", "--json"],
    )))
    .unwrap();
    assert_eq!(
        json["scopes"],
        serde_json::json!(["orders:read", "profile"])
    );
    assert!(
        json.get("secret_hash").is_none(),
        "the hash is not shown either"
    );

    stdout(&admin(
        table,
        &[
            "update-client",
            "--id",
            "my-app",
            "--scopes",
            "profile orders:read orders:write",
            "--grant-types",
            "password",
            "--access-token-ttl",
            "300",
        ],
    ));
    let c = store.get("my-app").await.unwrap().unwrap();
    assert_eq!(
        c.allowed_scopes.to_string(),
        "orders:read orders:write profile"
    );
    assert_eq!(c.grant_types, [GrantType::Password]);
    assert_eq!(c.access_token_ttl, Some(300));

    // The rules hold: a default scope outside the allowed ones is refused and nothing changes.
    let e = error(&admin(
        table,
        &["update-client", "--id", "my-app", "--scopes", "orders:read"],
    ));
    assert!(e.contains("default scopes must be within"), "{e}");
    assert_eq!(store.get("my-app").await.unwrap(), Some(c));

    let rotated = printed_secret(&stdout(&admin(
        table,
        &["rotate-client-secret", "--id", "my-app"],
    )));
    assert_ne!(rotated, first);
    assert!(
        authenticate(&store, &creds("my-app", &first))
            .await
            .is_err()
    );
    assert!(
        authenticate(&store, &creds("my-app", &rotated))
            .await
            .is_ok()
    );

    let e = error(&admin(table, &["delete-client", "--id", "my-app"]));
    assert!(e.contains("disable it first"), "{e}");
    stdout(&admin(table, &["disable-client", "--id", "my-app"]));
    assert!(
        authenticate(&store, &creds("my-app", &rotated))
            .await
            .is_err()
    );
    stdout(&admin(table, &["delete-client", "--id", "my-app"]));
    assert_eq!(store.get("my-app").await.unwrap(), None);
    let e = error(&admin(table, &["show-client", "--id", "my-app"]));
    assert!(e.contains("no client my-app"), "{e}");
}

/// The machine client `make dev` creates (scripts/dev.sh), and the rule that keeps
/// client_credentials apart from the user grants; a client that names no grants gets the user
/// grants only.
#[tokio::test]
async fn cli_creates_machine_clients_apart_from_user_clients() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    let table = t.clients.as_str();
    let args = [
        "create-client",
        "--id",
        "svc",
        "--grant-types",
        "client_credentials",
        "--scopes",
        "orders:read",
        "--default-scopes",
        "orders:read",
    ];
    stdout(&admin(table, &args));
    let svc = store.get("svc").await.unwrap().unwrap();
    assert_eq!(svc.grant_types, [GrantType::ClientCredentials]);
    stdout(&admin(table, &["create-client", "--id", "app"]));
    let app = store.get("app").await.unwrap().unwrap();
    assert_eq!(
        app.grant_types,
        [GrantType::Password, GrantType::RefreshToken]
    );
    let mixed = "password,client_credentials";
    for args in [
        &["create-client", "--id", "both", "--grant-types", mixed][..],
        &["update-client", "--id", "app", "--grant-types", mixed][..],
        &["update-client", "--id", "svc", "--grant-types", mixed][..],
    ] {
        let e = error(&admin(table, args));
        assert!(e.contains("cannot be combined"), "{args:?}: {e}");
    }
    assert_eq!(store.get("both").await.unwrap(), None);
    assert_eq!(store.get("app").await.unwrap(), Some(app));
    assert_eq!(store.get("svc").await.unwrap(), Some(svc));
}

#[tokio::test]
async fn cli_errors_say_what_to_do() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let table = t.clients.as_str();
    for (args, expected) in [
        (
            &["create-client", "--id", "bad id"][..],
            "a client_id is 1 to 128 letters",
        ),
        (
            &["create-client", "--id", "x", "--grant-types", "implicit"][..],
            "unknown grant type \"implicit\"",
        ),
        (
            &["update-client", "--id", "x", "--access-token-ttl", "0"][..],
            "greater than 0, or `default`",
        ),
        (&["update-client", "--id", "x"][..], "nothing to change"),
        (&["enable-client", "--id", "nobody"][..], "no client nobody"),
    ] {
        let e = error(&admin(table, args));
        assert!(e.contains(expected), "{args:?}: {e}");
    }
    let e = error(&admin("no-such-table-here", &["list-clients"]));
    assert!(e.contains("ClientsTableName"), "{e}");
}

/// `tollgate-admin list-clients | head -1`: when the reader of its output has gone, the CLI stops
/// quietly with the status of a death by SIGPIPE, as Unix tools do, and does not panic. The read
/// end is closed before the CLI starts, so its first line meets a closed pipe every time.
#[test]
fn a_closed_output_pipe_stops_the_cli_without_a_panic() {
    let bin = std::env::var("TOLLGATE_ADMIN_BIN").unwrap_or_else(|_| {
        panic!("TOLLGATE_ADMIN_BIN is not set: these tests run the built tollgate-admin; run them with `make test`")
    });
    let dir = std::env::temp_dir().join(unique("closed-pipe"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(bin)
        .args(["generate-key", "--out"])
        .arg(dir.join("key.pem"))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run tollgate-admin");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(
        dir.join("key.pem").exists(),
        "the key was written before the output"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
