//! `tollgate-admin import-clients` on the sample Apigee export (tests/fixtures/apigee-apps.json):
//! the imported clients keep their consumer keys and secrets and get tokens over HTTP; revoked
//! and expired keys are not imported; a second run creates nothing. Imported clients get their
//! scopes as default scopes and the user grants (or the operator's `--grant-types`); a dry run
//! writes nothing; each client created is one `admin_change` audit line. Runs the built CLI against
//! the table the served token function reads, with its pepper.

use tollgate_service::client::{ClientStore, GrantType};
use tollgate_service::store::dynamo::DynamoClientStore;
use tollgate_tests::{Served, dynamo, post_token, unique};

use tollgate_tests::admin::admin_with as admin;

const DEMO: [(&str, &str); 3] = [
    ("grant_type", "password"),
    ("username", "demo"),
    ("password", "demo-password"),
];

/// The consumer keys of the sample and whether each is imported.
const KEYS: [(&str, &str, bool); 4] = [
    ("Gk7TqLm2ZxRw9PbVn4HsYc1JdQe8UfAo", "Xk3hG9aQ2mZp7LwR", true),
    (
        "Rv5NcWq8TzLb3KmYx6PdFh2JsAe9GuQo",
        "Zq8pL2wX5nB7vT4c",
        false,
    ),
    (
        "Pm3WsKv7BxNq2TfYc9LhZr5JdGa8EuXo",
        "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6",
        true,
    ),
    (
        "Ex4MbTq9WzKc6NvYs2LpHr7JdFa3GuQo",
        "Tc6vN9mQ2xW5zK8b",
        false,
    ),
];

#[tokio::test]
async fn an_apigee_export_imports_clients_whose_secrets_get_tokens() {
    let served = Served::from_env();
    let pepper = std::env::var("TOLLGATE_E2E_PEPPER")
        .expect("TOLLGATE_E2E_PEPPER: the pepper scripts/test.sh gives the served function");
    // The sample's keys with a suffix, so the test can run again against the same table.
    let suffix = unique("run");
    let mut sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/apigee-apps.json"
    ))
    .unwrap();
    for (key, _, _) in KEYS {
        sample = sample.replace(key, &format!("{key}-{suffix}"));
    }
    let dir = std::env::temp_dir().join(unique("apigee-import"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("apps.json");
    std::fs::write(&file, &sample).unwrap();
    let file = file.to_str().unwrap();
    let table = &served.clients_table;

    // A dry run says what would be created and writes nothing, not even an audit line.
    let dry = admin(
        table,
        Some(&pepper),
        &["import-clients", file, "--dry-run"],
        "",
    );
    let dry_out = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(dry.status.success(), "{dry:?}");
    assert!(
        dry_out.contains("dry run: 2 would be created, 2 skipped, 0 refused"),
        "{dry_out}"
    );
    assert!(
        dry_out.contains(&format!(
            "would create  {}-{suffix} (Orders mobile app): grants password refresh_token; scopes profile; default scopes profile",
            KEYS[0].0
        )),
        "{dry_out}"
    );
    assert!(
        !String::from_utf8_lossy(&dry.stderr).contains("admin_change"),
        "{dry:?}"
    );
    let store = DynamoClientStore::new(dynamo().await, table);
    for (key, _, _) in KEYS {
        let id = format!("{key}-{suffix}");
        assert!(store.get(&id).await.unwrap().is_none(), "{id} was written");
    }

    let out = admin(table, Some(&pepper), &["import-clients", file], "");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    // One admin_change line per client created, naming it, never its secret.
    let audits: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["event"] == "admin_change")
        .collect();
    let targets: Vec<_> = audits.iter().map(|a| a["target"].clone()).collect();
    assert_eq!(
        targets,
        [
            format!("{}-{suffix}", KEYS[0].0),
            format!("{}-{suffix}", KEYS[2].0)
        ],
        "{out:?}"
    );
    for a in &audits {
        assert_eq!(a["action"], "import_client", "{a}");
        assert_eq!(a["actor"], "local", "{a}");
        let changes = a["changes"].to_string();
        for field in ["secret", "scopes", "default_scopes"] {
            assert!(changes.contains(&format!("\"{field}\"")), "{a}");
        }
    }
    for (_, secret, _) in KEYS {
        assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
    }
    assert!(
        stdout.contains("2 created, 2 skipped, 0 refused"),
        "{stdout}"
    );
    for (key, secret, imported) in KEYS {
        let id = format!("{key}-{suffix}");
        assert!(!stdout.contains(secret), "a secret was printed: {stdout}");
        let answer = post_token(&served.token_url(), Some((&id, secret)), &DEMO).await;
        if imported {
            assert!(stdout.contains(&format!("created  {id}")), "{stdout}");
            assert_eq!(answer.status, 200, "{id}: {answer:?}");
            // No `scope` asked: the client's scopes, as Apigee granted them, not an empty scope.
            assert!(
                !answer.json["scope"].as_str().unwrap_or_default().is_empty(),
                "{id}: {answer:?}"
            );
            let c = store.get(&id).await.unwrap().unwrap();
            assert!(
                c.secret_hash.starts_with("hmac-sha256:"),
                "{}",
                c.secret_hash
            );
        } else {
            assert!(stdout.contains(&format!("skipped  {id}")), "{stdout}");
            answer.assert_error(401, "invalid_client");
            assert!(store.get(&id).await.unwrap().is_none());
        }
    }
    let named = store
        .get(&format!("{}-{suffix}", KEYS[0].0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(named.name, "Orders mobile app");
    assert_eq!(named.allowed_scopes.to_string(), "profile");
    assert_eq!(named.default_scopes.to_string(), "profile");
    assert_eq!(named.grant_types, GrantType::DEFAULT);
    let portal = store
        .get(&format!("{}-{suffix}", KEYS[2].0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(portal.default_scopes.to_string(), "orders:read profile");
    let answer = post_token(
        &served.token_url(),
        Some((&format!("{}-{suffix}", KEYS[2].0), KEYS[2].1)),
        &DEMO,
    )
    .await;
    assert_eq!(answer.json["scope"], "orders:read profile", "{answer:?}");

    // Re-runnable: the second run creates nothing and changes nothing.
    let again = admin(table, Some(&pepper), &["import-clients", file], "");
    let again_out = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{again:?}");
    assert!(
        again_out.contains("0 created, 4 skipped, 0 refused"),
        "{again_out}"
    );
    assert!(
        again_out.contains("already exists (left unchanged)"),
        "{again_out}"
    );
    let ok = post_token(
        &served.token_url(),
        Some((&format!("{}-{suffix}", KEYS[0].0), KEYS[0].1)),
        &DEMO,
    )
    .await;
    assert_eq!(ok.status, 200);

    // A file with an entry that cannot be imported fails, names it, and never echoes its secret.
    let bad = dir.join("bad.json");
    let weak_id = unique("weak");
    std::fs::write(
        &bad,
        format!(r#"{{"clients": [{{"id": "{weak_id}", "secret": "hunter2"}}]}}"#),
    )
    .unwrap();
    let out = admin(
        table,
        Some(&pepper),
        &["import-clients", bad.to_str().unwrap()],
        "",
    );
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains(&format!(
            "refused  {weak_id}: the supplied secret is too easy to guess"
        )),
        "{all}"
    );
    assert!(!all.contains("hunter2"), "{all}");
    assert!(store.get(&weak_id).await.unwrap().is_none());

    // --grant-types for entries that name none: a machine client gets client_credentials tokens.
    let machine = dir.join("machine.json");
    let machine_id = unique("machine");
    let machine_secret = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6";
    std::fs::write(
        &machine,
        format!(
            r#"{{"clients": [{{"id": "{machine_id}", "secret": "{machine_secret}", "scopes": "orders:read"}}]}}"#
        ),
    )
    .unwrap();
    let out = admin(
        table,
        Some(&pepper),
        &[
            "import-clients",
            machine.to_str().unwrap(),
            "--grant-types",
            "client_credentials",
        ],
        "",
    );
    assert!(out.status.success(), "{out:?}");
    let answer = post_token(
        &served.token_url(),
        Some((&machine_id, machine_secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json["scope"], "orders:read", "{answer:?}");
    post_token(
        &served.token_url(),
        Some((&machine_id, machine_secret)),
        &DEMO,
    )
    .await
    .assert_error(400, "unauthorized_client");
    std::fs::remove_dir_all(&dir).unwrap();
}
