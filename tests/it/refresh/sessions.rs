//! Sessions an operator can end, over the real parts: the IAM-only `POST /sessions/revoke` of
//! the token function (REST `aws_proxy` events with and without an IAM identity, through the
//! Lambda Invoke API of `cargo lambda watch`), `/token` and `/introspect` over HTTP, the
//! admin CLI, all on DynamoDB Local. Every test names its own clients (or the user only it
//! signs in), so revoking never touches another test's sessions.

use serde_json::{Value, json};
use tollgate_oauth::secret::Secret;
use tollgate_tests::admin::admin_served as admin;
use tollgate_tests::transport::invoke_rest as invoke;
use tollgate_tests::{
    LogTail, Served, TestClient, dynamo, event_fixture, jwt_claims, sessions_revoke_event,
};

/// A user only these tests sign in (tests/fixtures/users.json).
const RESET_USER: (&str, &str, &str) = ("resetme", "resetme-password", "user-0007");

/// The same request as it would arrive from a method without IAM authorization.
fn anonymous_event(body: &Value) -> Value {
    let mut e = sessions_revoke_event(body);
    let plain = event_fixture("sam-rest-proxy.json");
    e["requestContext"]["identity"] = plain["requestContext"]["identity"].clone();
    e
}

async fn active(served: &Served, caller: &TestClient, token: &str) -> bool {
    let a = served.introspect(caller.basic(), &[("token", token)]).await;
    assert_eq!(a.status, 200, "{a:?}");
    a.json["active"] == true
}

#[tokio::test]
async fn revoking_a_users_sessions_ends_refresh_and_their_access_tokens_turn_inactive() {
    let served = Served::from_env();
    let (a, b) = (
        TestClient::new(&served).await,
        TestClient::new(&served).await,
    );
    let (user, pw, sub) = RESET_USER;
    let a1 = a.login(&served, user, pw).await;
    let a2 = a.login(&served, user, pw).await;
    let b1 = b.login(&served, user, pw).await;
    let other_user = a.login(&served, "alice", "alice-password").await;
    for (client, (access, _)) in [(&a, &a1), (&a, &a2), (&b, &b1)] {
        assert!(active(&served, client, access).await);
    }
    let mut log = LogTail::at_end(&served.log_path);

    // Only this user's sessions with client a.
    let r = served
        .revoke_sessions(&json!({"sub": sub, "client_id": a.id}))
        .await;
    assert_eq!(
        (r.status, r.json.clone()),
        (200, json!({"sessions_revoked": 2})),
        "{r:?}"
    );
    r.assert_no_store();
    let audit = log
        .next_line(|l| l.contains(r#""event":"session_revoked""#) && l.contains(&a.id))
        .await;
    let audit: Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(
        audit["actor"],
        "arn:aws:iam::123456789012:user/identity-sync"
    );
    assert_eq!(
        (audit["subject"].clone(), audit["sessions"].clone()),
        (json!(sub), json!(2))
    );
    assert_ended(&served, &a, &[&a1, &a2]).await;
    assert!(
        active(&served, &b, &b1.0).await,
        "the user's session with b stands"
    );
    assert!(
        active(&served, &a, &other_user.0).await,
        "another user's session with a stands"
    );
    let again = served
        .revoke_sessions(&json!({"sub": sub, "client_id": a.id}))
        .await;
    assert_eq!(
        again.json,
        json!({"sessions_revoked": 0}),
        "revoking twice is harmless"
    );

    // Then every session of the user (the password-reset recipe).
    revoke_the_rest(&served, &b, &b1, &a, &other_user).await;
}

/// Each (access, refresh) pair's session is over: refresh is `invalid_grant`, and both tokens are
/// exactly `{"active": false}` at `/introspect`.
async fn assert_ended(served: &Served, owner: &TestClient, sessions: &[&(String, String)]) {
    for (access, refresh) in sessions {
        for token in [access, refresh] {
            let answer = served.introspect(owner.basic(), &[("token", token)]).await;
            assert_eq!(answer.json, json!({"active": false}), "exactly inactive");
        }
        let refreshed = owner.refresh(served, refresh).await;
        refreshed.assert_error(400, "invalid_grant");
    }
}

/// Revokes every remaining session of RESET_USER: the one with `b` ends, alice's with `a` stands.
async fn revoke_the_rest(
    served: &Served,
    b: &TestClient,
    b1: &(String, String),
    a: &TestClient,
    other_user: &(String, String),
) {
    let r = served.revoke_sessions(&json!({"sub": RESET_USER.2})).await;
    let count = r.json["sessions_revoked"].as_u64();
    assert!(count.is_some_and(|n| n >= 1), "{r:?}");
    assert!(!active(served, b, &b1.0).await);
    b.refresh(served, &b1.1)
        .await
        .assert_error(400, "invalid_grant");
    let kept = a.refresh(served, &other_user.1).await;
    assert_eq!(kept.status, 200, "alice still refreshes: {kept:?}");
}

#[tokio::test]
async fn revoking_a_clients_sessions_ends_every_users_session_with_it() {
    let served = Served::from_env();
    let (c, bystander) = (
        TestClient::new(&served).await,
        TestClient::new(&served).await,
    );
    let demo = c.login(&served, "demo", "demo-password").await;
    let alice = c.login(&served, "alice", "alice-password").await;
    let elsewhere = bystander.login(&served, "demo", "demo-password").await;
    let r = served.revoke_sessions(&json!({"client_id": c.id})).await;
    assert_eq!(
        (r.status, r.json.clone()),
        (200, json!({"sessions_revoked": 2})),
        "{r:?}"
    );
    for (access, refresh) in [&demo, &alice] {
        assert!(!active(&served, &c, access).await);
        c.refresh(&served, refresh)
            .await
            .assert_error(400, "invalid_grant");
    }
    assert!(active(&served, &bystander, &elsewhere.0).await);
}

#[tokio::test]
async fn the_session_route_refuses_callers_without_an_iam_identity_and_bad_bodies() {
    let served = Served::from_env();
    let c = TestClient::new(&served).await;
    let (access, _) = c.login(&served, "demo", "demo-password").await;
    let body = json!({"client_id": c.id});

    // A method without AWS_IAM (or a direct invoke): the event names no IAM caller.
    let r = invoke(&served, &anonymous_event(&body)).await;
    assert_eq!((r.status, r.error()), (403, Some("access_denied")), "{r:?}");
    // Over the function URL of cargo lambda watch: no IAM identity either.
    let http = tollgate_tests::send(
        tollgate_tests::http()
            .post(format!("{}/sessions/revoke", served.base))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(
        (http.status, http.error()),
        (403, Some("access_denied")),
        "{http:?}"
    );
    assert!(active(&served, &c, &access).await, "nothing was revoked");

    let mut get = sessions_revoke_event(&body);
    get["httpMethod"] = "GET".into();
    let r = invoke(&served, &get).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")), "{r:?}");
    for bad in [
        json!({}),
        json!({"sub": 5}),
        json!({"sub": "", "client_id": " "}),
        json!({"client_id": "has space"}),
        json!({"sub": "u", "everyone": true}),
        json!(["sub"]),
    ] {
        let r = served.revoke_sessions(&bad).await;
        r.assert_error(400, "invalid_request");
        assert!(r.json["error_description"].as_str().is_some(), "{bad}");
    }
    let mut not_json = sessions_revoke_event(&body);
    not_json["headers"]["Content-Type"] = "application/x-www-form-urlencoded".into();
    not_json["multiValueHeaders"]["Content-Type"] = json!(["application/x-www-form-urlencoded"]);
    invoke(&served, &not_json)
        .await
        .assert_error(400, "invalid_request");
    let huge = json!({"sub": "x".repeat(20_000)});
    let r = served.revoke_sessions(&huge).await;
    assert_eq!(
        (r.status, r.error()),
        (413, Some("invalid_request")),
        "{r:?}"
    );
    assert!(active(&served, &c, &access).await, "still nothing revoked");
}

/// `list-sessions ... --json`, parsed.
fn listed(served: &Served, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["list-sessions", "--json"];
    all.extend(args);
    let out = admin(served, &all);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().unwrap().clone()
}

/// Two sign-ins of alice (not RESET_USER, whose sessions another test revokes) with a new
/// client, the first refreshed once; returns the client and the second session's access token.
async fn two_sessions(served: &Served) -> (TestClient, String) {
    let c = TestClient::new(served).await;
    let (_, first) = c.login(served, "alice", "alice-password").await;
    let (access, _) = c.login(served, "alice", "alice-password").await;
    let rotated = c.refresh(served, &first).await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    (c, access)
}

/// The admin CLI lists sessions with client, created, last refreshed, expires and state.
#[tokio::test]
async fn the_admin_cli_lists_a_users_sessions() {
    let served = Served::from_env();
    let (c, _) = two_sessions(&served).await;
    let sessions = listed(&served, &["--sub", "user-0002", "--client", &c.id]);
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    for s in &sessions {
        let owner = (s["client_id"].as_str(), s["sub"].as_str());
        assert_eq!(owner, (Some(c.id.as_str()), Some("user-0002")));
        assert_eq!(s["state"], "active");
        let created = s["created_at"].as_u64().unwrap();
        assert!(s["expires_at"].as_u64().unwrap() > created, "{s}");
    }
    let refreshed = sessions.iter().filter(|s| s["refreshed_at"].is_u64());
    assert_eq!(refreshed.count(), 1, "one session refreshed: {sessions:?}");
    let table = admin(
        &served,
        &["list-sessions", "--sub", "user-0002", "--client", &c.id],
    );
    let text = String::from_utf8_lossy(&table.stdout);
    for wanted in ["LAST_REFRESHED", "never", "active", c.id.as_str()] {
        assert!(text.contains(wanted), "{wanted}: {text}");
    }
}

/// `revoke-sessions --client` ends them, says how many, and writes the audit line on
/// standard error; a command that names nobody is refused.
#[tokio::test]
async fn the_admin_cli_revokes_a_clients_sessions_and_audits_it() {
    let served = Served::from_env();
    let (c, access) = two_sessions(&served).await;
    let out = admin(&served, &["revoke-sessions", "--client", &c.id]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 session(s) revoked"), "{said}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let audit: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    let got = [
        &audit["event"],
        &audit["actor"],
        &audit["client_id"],
        &audit["sessions"],
    ];
    let want = [
        json!("session_revoked"),
        json!("local"),
        json!(c.id),
        json!(2),
    ];
    assert_eq!(got, want.each_ref(), "{audit}");
    assert!(audit.get("subject").is_none());
    assert!(!active(&served, &c, &access).await);
    let after = listed(&served, &["--client", &c.id]);
    assert!(after.iter().all(|s| s["state"] == "revoked"), "{after:?}");
    let tokens = served.tokens_table.as_str();
    let none = tollgate_tests::admin::admin(
        &served.clients_table,
        &["revoke-sessions", "--tokens-table", tokens],
    );
    assert!(
        !none.status.success(),
        "a command that names nobody is refused"
    );
}

/// Sessions written before the sessions index existed (no index keys, no companion items):
/// `index-sessions` gives them their keys once, and then they are listed and revoked like any
/// other.
#[tokio::test]
async fn index_sessions_makes_sessions_from_before_the_index_revocable() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let served = Served::from_env();
    let c = TestClient::new(&served).await;
    let (access, refresh) = c.login(&served, "alice", "alice-password").await;
    let sid = jwt_claims(&access)["sid"].as_str().unwrap().to_owned();
    let db = dynamo().await;
    // As a release before the index wrote it: no index keys, no `companions`, and neither
    // companion item.
    db.update_item()
        .table_name(&served.tokens_table)
        .key("pk", S(format!("family#{sid}")))
        .update_expression("REMOVE session_pk, session_sk, companions")
        .send()
        .await
        .unwrap();
    for companion in ["session", "usersession"] {
        db.delete_item()
            .table_name(&served.tokens_table)
            .key("pk", S(format!("{companion}#{sid}")))
            .send()
            .await
            .unwrap();
    }
    let mine = ["--sub", "user-0002", "--client", c.id.as_str()];
    assert!(listed(&served, &mine).is_empty(), "not found before");
    assert!(listed(&served, &["--client", &c.id]).is_empty());

    let said = |out: std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let first = said(admin(&served, &["index-sessions"]));
    assert!(first.contains("1 session(s) indexed"), "{first}");
    let again = said(admin(&served, &["index-sessions"]));
    assert!(again.contains("0 session(s) indexed"), "{again}");
    let found = listed(&served, &mine);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["session"], json!(sid));
    assert_eq!(listed(&served, &["--client", &c.id]).len(), 1);

    let mut revoke = vec!["revoke-sessions"];
    revoke.extend(mine);
    let revoked = said(admin(&served, &revoke));
    assert!(revoked.contains("1 session(s) revoked"), "{revoked}");
    c.refresh(&served, &refresh)
        .await
        .assert_error(400, "invalid_grant");
}

/// `index-sessions --before-rollback`, through the admin CLI: a session begun now (found
/// through its companions) gets the index keys of its own that an earlier release finds a
/// user's sessions by, and is still listed once; its live token gets the `token#` record an
/// earlier release finds it by. Other tests' sessions get theirs too, so no
/// count is asserted here (`adapters::dynamo_sessions` asserts them on a table of its own).
#[tokio::test]
async fn index_sessions_before_rollback_gives_a_new_session_keys_of_its_own() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let served = Served::from_env();
    let c = TestClient::new(&served).await;
    let (access, refresh) = c.login(&served, "alice", "alice-password").await;
    let sid = jwt_claims(&access)["sid"].as_str().unwrap().to_owned();
    let db = dynamo().await;
    let family = async || {
        db.get_item()
            .table_name(&served.tokens_table)
            .key("pk", S(format!("family#{sid}")))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    };
    assert!(
        !family().await.contains_key("session_pk"),
        "found through companions"
    );
    let out = admin(&served, &["index-sessions", "--before-rollback"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("session(s) indexed"),
        "{said}"
    );
    assert!(
        said.contains("live refresh token(s) recorded for the earlier release"),
        "{said}"
    );
    // Its live token has the record an earlier release finds it by.
    let record = db
        .get_item()
        .table_name(&served.tokens_table)
        .key(
            "pk",
            S(format!("token#{}", Secret::new(refresh.clone()).hash())),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the live token's record");
    assert_eq!(record["family_id"].as_s().unwrap(), &sid);
    let keys = family().await;
    let pk = keys["session_pk"].as_s().unwrap();
    assert!(
        pk.starts_with("sub#sha256:") && !pk.contains("user-0002"),
        "{pk}"
    );
    let mine = ["--sub", "user-0002", "--client", c.id.as_str()];
    let found = listed(&served, &mine);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["session"], json!(sid));
    // The session goes on.
    let refreshed = c.refresh(&served, &refresh).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
}

/// `revoke-sessions --sub` ends every active session of that user, whichever client holds it
/// (here three, with two clients), and no other user's: the only test that signs in
/// `manysessions` (tests/fixtures/users.json), so the count is exact.
#[tokio::test]
async fn the_admin_cli_revokes_every_session_of_a_user_and_no_one_elses() {
    let served = Served::from_env();
    let (a, b) = (
        TestClient::new(&served).await,
        TestClient::new(&served).await,
    );
    let (user, pw, sub) = ("manysessions", "manysessions-password", "user-0008");
    let sessions = [
        (&a, a.login(&served, user, pw).await),
        (&a, a.login(&served, user, pw).await),
        (&b, b.login(&served, user, pw).await),
    ];
    let bystander = a.login(&served, "alice", "alice-password").await;
    let before = listed(&served, &["--sub", sub]);
    assert_eq!(before.len(), 3, "{before:?}");
    assert!(before.iter().all(|s| s["state"] == "active"), "{before:?}");

    let out = admin(&served, &["revoke-sessions", "--sub", sub]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("3 session(s) revoked"), "{said}");

    let after = listed(&served, &["--sub", sub]);
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(after.iter().all(|s| s["state"] == "revoked"), "{after:?}");
    for (client, (access, refresh)) in &sessions {
        assert!(
            !active(&served, client, access).await,
            "access token inactive"
        );
        client
            .refresh(&served, refresh)
            .await
            .assert_error(400, "invalid_grant");
    }
    // Another user's session with the same client goes on.
    assert!(active(&served, &a, &bystander.0).await);
    let refreshed = a.refresh(&served, &bystander.1).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
}
