//! Sessions an operator can end, over the real parts: the IAM-only `POST /sessions/revoke` of
//! the token function (REST `aws_proxy` events with and without an IAM identity, through the
//! Lambda Invoke API of `cargo lambda watch`), `/token` and `/introspect` over HTTP, the
//! admin CLI, all on DynamoDB Local. Every test names its own clients (or the user only it
//! signs in), so revoking never touches another test's sessions.

use serde_json::{Value, json};
use tollgate_tests::{Answer, ClientSpec, LogTail, Served, dynamo, event_fixture, post_token};

use crate::introspection::introspect;
use crate::token_rest_proxy::invoke;

/// A user only these tests sign in (tests/fixtures/users.json).
const RESET_USER: (&str, &str, &str) = ("resetme", "resetme-password", "user-0007");

pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) secret: String,
}

impl Client {
    pub(crate) async fn new(served: &Served) -> Self {
        Self::with(served, ClientSpec::default()).await
    }
    pub(crate) async fn with(served: &Served, spec: ClientSpec) -> Self {
        let (id, secret) = spec.create(&dynamo().await, &served.clients_table).await;
        Self { id, secret }
    }
    pub(crate) fn basic(&self) -> Option<(&str, &str)> {
        Some((&self.id, &self.secret))
    }
    /// (access token, refresh token) of a password grant.
    pub(crate) async fn login(
        &self,
        served: &Served,
        user: &str,
        password: &str,
    ) -> (String, String) {
        let a = post_token(
            &served.token_url(),
            self.basic(),
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", password),
            ],
        )
        .await;
        assert_eq!(a.status, 200, "{a:?}");
        let text = |k: &str| a.json[k].as_str().unwrap().to_owned();
        (text("access_token"), text("refresh_token"))
    }
    pub(crate) async fn refresh(&self, served: &Served, token: &str) -> Answer {
        post_token(
            &served.token_url(),
            self.basic(),
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }
}

/// The recorded REST proxy event of an IAM-authorized (`AWS_IAM`) `POST /sessions/revoke`,
/// with this JSON body.
fn iam_event(body: &Value) -> Value {
    let mut e = event_fixture("rest-proxy-iam.json");
    e["body"] = body.to_string().into();
    e
}

/// The same request as it would arrive from a method without IAM authorization.
fn anonymous_event(body: &Value) -> Value {
    let mut e = iam_event(body);
    let plain = event_fixture("sam-rest-proxy.json");
    e["requestContext"]["identity"] = plain["requestContext"]["identity"].clone();
    e
}

pub(crate) async fn revoke(served: &Served, body: Value) -> Answer {
    invoke(served, &iam_event(&body)).await
}

async fn active(served: &Served, caller: &Client, token: &str) -> bool {
    let a = introspect(served, caller.basic(), &[("token", token)]).await;
    assert_eq!(a.status, 200, "{a:?}");
    a.json["active"] == true
}

#[tokio::test]
async fn revoking_a_users_sessions_ends_refresh_and_their_access_tokens_turn_inactive() {
    let served = Served::from_env();
    let (a, b) = (Client::new(&served).await, Client::new(&served).await);
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
    let r = revoke(&served, json!({"sub": sub, "client_id": a.id})).await;
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
    for (_, refresh) in [&a1, &a2] {
        a.refresh(&served, refresh)
            .await
            .assert_error(400, "invalid_grant");
    }
    for (access, refresh) in [&a1, &a2] {
        for token in [access, refresh] {
            let answer = introspect(&served, a.basic(), &[("token", token)]).await;
            assert_eq!(answer.json, json!({"active": false}), "exactly inactive");
        }
    }
    assert!(
        active(&served, &b, &b1.0).await,
        "the user's session with b stands"
    );
    assert!(
        active(&served, &a, &other_user.0).await,
        "another user's session with a stands"
    );
    let again = revoke(&served, json!({"sub": sub, "client_id": a.id})).await;
    assert_eq!(
        again.json,
        json!({"sessions_revoked": 0}),
        "revoking twice is harmless"
    );

    // Then every session of the user (the password-reset recipe).
    let r = revoke(&served, json!({"sub": sub})).await;
    assert_eq!(
        r.json["sessions_revoked"].as_u64().map(|n| n >= 1),
        Some(true),
        "{r:?}"
    );
    assert!(!active(&served, &b, &b1.0).await);
    b.refresh(&served, &b1.1)
        .await
        .assert_error(400, "invalid_grant");
    let kept = a.refresh(&served, &other_user.1).await;
    assert_eq!(kept.status, 200, "alice still refreshes: {kept:?}");
}

#[tokio::test]
async fn revoking_a_clients_sessions_ends_every_users_session_with_it() {
    let served = Served::from_env();
    let (c, bystander) = (Client::new(&served).await, Client::new(&served).await);
    let demo = c.login(&served, "demo", "demo-password").await;
    let alice = c.login(&served, "alice", "alice-password").await;
    let elsewhere = bystander.login(&served, "demo", "demo-password").await;
    let r = revoke(&served, json!({"client_id": c.id})).await;
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
    let c = Client::new(&served).await;
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

    let mut get = iam_event(&body);
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
        let r = revoke(&served, bad.clone()).await;
        r.assert_error(400, "invalid_request");
        assert!(r.json["error_description"].as_str().is_some(), "{bad}");
    }
    let mut not_json = iam_event(&body);
    not_json["headers"]["Content-Type"] = "application/x-www-form-urlencoded".into();
    not_json["multiValueHeaders"]["Content-Type"] = json!(["application/x-www-form-urlencoded"]);
    invoke(&served, &not_json)
        .await
        .assert_error(400, "invalid_request");
    let huge = json!({"sub": "x".repeat(20_000)});
    let r = revoke(&served, huge).await;
    assert_eq!(
        (r.status, r.error()),
        (413, Some("invalid_request")),
        "{r:?}"
    );
    assert!(active(&served, &c, &access).await, "still nothing revoked");
}

/// The admin CLI lists the sessions (client, created, last refreshed, expires) and revokes
/// them, writing the audit line on standard error.
#[tokio::test]
async fn the_admin_cli_lists_and_revokes_sessions() {
    let served = Served::from_env();
    let c = Client::new(&served).await;
    // Not RESET_USER: the test above revokes every session of that user.
    let (user, pw, sub) = ("alice", "alice-password", "user-0002");
    let (_, first) = c.login(&served, user, pw).await;
    let (access, _) = c.login(&served, user, pw).await;
    let rotated = c.refresh(&served, &first).await;
    assert_eq!(rotated.status, 200, "{rotated:?}");
    let admin = |args: &[&str]| {
        let out = crate::admin::admin(&served.clients_table, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let tokens = served.tokens_table.as_str();
    let out = admin(&[
        "list-sessions",
        "--sub",
        sub,
        "--client",
        &c.id,
        "--json",
        "--tokens-table",
        tokens,
    ]);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    for s in listed {
        assert_eq!(
            (s["client_id"].as_str(), s["sub"].as_str()),
            (Some(c.id.as_str()), Some(sub))
        );
        assert_eq!(s["state"], "active");
        let (created, expires) = (
            s["created_at"].as_u64().unwrap(),
            s["expires_at"].as_u64().unwrap(),
        );
        assert!(expires > created, "{s}");
    }
    let refreshed: Vec<bool> = listed.iter().map(|s| s["refreshed_at"].is_u64()).collect();
    assert_eq!(
        refreshed.iter().filter(|r| **r).count(),
        1,
        "one session refreshed: {listed:?}"
    );
    let table = admin(&[
        "list-sessions",
        "--sub",
        sub,
        "--client",
        &c.id,
        "--tokens-table",
        tokens,
    ]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("LAST_REFRESHED") && text.contains("never") && text.contains(&c.id),
        "{text}"
    );

    let out = admin(&[
        "revoke-sessions",
        "--client",
        &c.id,
        "--tokens-table",
        tokens,
    ]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 session(s) revoked"), "{said}");
    let audit: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().last().unwrap()).unwrap();
    assert_eq!(
        (
            audit["event"].clone(),
            audit["actor"].clone(),
            audit["client_id"].clone(),
            audit["sessions"].clone()
        ),
        (
            json!("session_revoked"),
            json!("local"),
            json!(c.id),
            json!(2)
        )
    );
    assert!(audit.get("subject").is_none());
    assert!(!active(&served, &c, &access).await);
    let after = admin(&[
        "list-sessions",
        "--client",
        &c.id,
        "--json",
        "--tokens-table",
        tokens,
    ]);
    let after: Value = serde_json::from_slice(&after.stdout).unwrap();
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "revoked"),
        "{after}"
    );
    let none = crate::admin::admin(
        &served.clients_table,
        &["revoke-sessions", "--tokens-table", tokens],
    );
    assert!(
        !none.status.success(),
        "a query that names nobody is refused"
    );
}
