//! The helpdesk's "why can't this user sign in, unlock them" (`tollgate-admin lockout show|clear
//! --username U`), through the served token function: a user locked out by wrong passwords typed
//! in several cases is shown locked under any spelling, and `clear` lets them in at once.

use serde_json::{Value, json};
use tollgate_tests::{ClientSpec, Served, dynamo, http, post_token, unique};

/// The served function's LOCKOUT_MAX_FAILURES (scripts/test.sh).
const MAX_FAILURES: usize = 3;
const PASSWORD: &str = "pw-of-the-helpdesk-test";

/// Runs `tollgate-admin` against the served lockouts table.
fn admin(served: &Served, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend(["--lockouts-table", served.lockouts_table.as_str()]);
    tollgate_tests::admin::admin(&served.clients_table, &all)
}

fn show(served: &Served, username: &str) -> Value {
    let out = admin(
        served,
        &["lockout", "show", "--username", username, "--json"],
    );
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn the_helpdesk_sees_and_clears_a_real_lockout_under_any_spelling_of_the_username() {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let username = unique("helpdesk-user");
    let user = json!({"password": PASSWORD, "claims": {"sub": unique("sub")}, "status": "active"});
    let put = http()
        .put(format!("{}/users/{username}", served.auth_url))
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200, "{put:?}");
    let login = |name: String, password: &'static str| {
        let (url, id, secret) = (served.token_url(), id.clone(), secret.clone());
        async move {
            let form = [
                ("grant_type", "password"),
                ("username", name.as_str()),
                ("password", password),
            ];
            post_token(&url, Some((&id, &secret)), &form).await
        }
    };

    let before = show(&served, &username);
    assert_eq!(before["locked"], false, "{before}");
    assert_eq!(before["failures"], 0, "{before}");

    // Wrong passwords typed as the user types: in other cases, with spaces around.
    let shouting = username.to_uppercase();
    let spaced = format!("  {username} ");
    for name in [&shouting, &spaced, &username] {
        login(name.clone(), "wrong")
            .await
            .assert_error(400, "invalid_grant");
    }
    assert_eq!(MAX_FAILURES, 3);
    let locked = login(username.clone(), PASSWORD).await;
    locked.assert_error(400, "invalid_grant");
    assert!(
        locked.json["error_description"]
            .as_str()
            .unwrap()
            .contains("too many failed attempts"),
        "{locked:?}"
    );

    // Shown locked under every spelling, with the hash its audit lines carry.
    let shown = show(&served, &shouting);
    assert_eq!(shown["locked"], true, "{shown}");
    assert_eq!(show(&served, &spaced), shown);
    let log = std::fs::read_to_string(&served.log_path).unwrap();
    let hash = shown["username_hash"].as_str().unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("lockout_started") && l.contains(hash)),
        "no lockout_started audit line with username_hash {hash}"
    );
    let text = admin(&served, &["lockout", "show", "--username", &username]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&format!("username_hash: {hash}")), "{text}");
    assert!(text.contains("state:         locked until "), "{text}");

    // Cleared under yet another spelling: one audit line naming the hash, never the username.
    let cleared = admin(&served, &["lockout", "clear", "--username", &shouting]);
    assert!(cleared.status.success(), "{cleared:?}");
    let stdout = String::from_utf8_lossy(&cleared.stdout);
    assert!(stdout.contains("unlocked (was locked until"), "{stdout}");
    let stderr = String::from_utf8_lossy(&cleared.stderr);
    let audit: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(audit.len(), 1, "{stderr}");
    assert_eq!(audit[0]["event"], "admin_change");
    assert_eq!(audit[0]["action"], "clear_lockout");
    assert_eq!(audit[0]["target"], hash);
    assert!(!stderr.to_lowercase().contains(&username), "{stderr}");

    let after = show(&served, &username);
    assert_eq!(after["locked"], false, "{after}");
    assert_eq!(login(username.clone(), PASSWORD).await.status, 200);

    // A username the grant would refuse is refused here too, before any table is read.
    let bad = admin(&served, &["lockout", "show", "--username", "al\u{202e}ice"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("text-direction control"),
        "{bad:?}"
    );
}
