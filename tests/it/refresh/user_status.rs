//! Claims that follow the directory (issue 10 item 5), over HTTP: the served token function asks
//! the dev auth endpoint's `POST /status` on every refresh (`USER_STATUS_URL`), and each test
//! changes its own user there (`PUT /users/{username}`) while the session lives.

use base64::Engine;
use serde_json::{Value, json};
use tollgate_tests::{Answer, ClientSpec, Served, dynamo, http, post_token, unique};

/// One test's user in the dev auth endpoint and one client of the served function.
struct Directory {
    served: Served,
    id: String,
    secret: String,
    username: String,
    sub: String,
}

impl Directory {
    async fn new() -> Self {
        let served = Served::from_env();
        let (id, secret) = ClientSpec::default()
            .create(&dynamo().await, &served.clients_table)
            .await;
        let username = unique("dir-user");
        let sub = unique("sub");
        let d = Self {
            served,
            id,
            secret,
            username,
            sub,
        };
        d.set("active", "before@example.com").await;
        d
    }

    /// Replaces the user in the dev auth endpoint: its `status` and email.
    async fn set(&self, status: &str, email: &str) {
        let url = format!("{}/users/{}", self.served.auth_url, self.username);
        let body = json!({
            "password": "pw-of-the-directory-test",
            "claims": {"sub": self.sub, "email": email, "name": "Dir User"},
            "status": status,
        });
        let resp = http().put(url).json(&body).send().await.expect("dev-auth");
        assert_eq!(resp.status().as_u16(), 200, "PUT /users: {resp:?}");
    }

    async fn post(&self, p: &[(&str, &str)]) -> Answer {
        post_token(&self.served.token_url(), Some((&self.id, &self.secret)), p).await
    }

    async fn login(&self) -> Answer {
        let a = self
            .post(&[
                ("grant_type", "password"),
                ("username", &self.username),
                ("password", "pw-of-the-directory-test"),
            ])
            .await;
        assert_eq!(a.status, 200, "{a:?}");
        a
    }

    async fn refresh(&self, token: &str) -> Answer {
        self.post(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .await
    }
}

fn rt(a: &Answer) -> String {
    a.json["refresh_token"].as_str().unwrap().to_owned()
}

/// The access token's claims (its signature is the authorizer tests' business).
fn claims(a: &Answer) -> Value {
    let token = a.json["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_refresh_carries_the_details_the_directory_has_now() {
    let d = Directory::new().await;
    let first = d.login().await;
    assert_eq!(claims(&first)["email"], "before@example.com");
    d.set("active", "after@example.com").await;
    let second = d.refresh(&rt(&first)).await;
    assert_eq!(second.status, 200, "{second:?}");
    let c = claims(&second);
    assert_eq!(c["email"], "after@example.com");
    assert_eq!(c["sub"], d.sub.as_str());
    let third = d.refresh(&rt(&second)).await;
    assert_eq!(claims(&third)["email"], "after@example.com");
}

#[tokio::test]
async fn a_disabled_or_gone_user_ends_the_session_for_good() {
    for status in ["disabled", "gone"] {
        let d = Directory::new().await;
        let first = d.login().await;
        d.set(status, "before@example.com").await;
        let refused = d.refresh(&rt(&first)).await;
        refused.assert_error(400, "invalid_grant");
        let description = refused.json["error_description"].as_str().unwrap();
        assert!(description.contains("sign in again"), "{description}");
        let line = audit_line(&d.served.log_path, "session_ended", |l| {
            l["subject"] == d.sub.as_str()
        })
        .await;
        assert_eq!(line["client_id"], d.id.as_str());
        let cause = if status == "gone" {
            "user_gone"
        } else {
            "user_disabled"
        };
        assert_eq!(line["cause"], cause);
        // The family is revoked: the user coming back does not revive it.
        d.set("active", "before@example.com").await;
        d.refresh(&rt(&first))
            .await
            .assert_error(400, "invalid_grant");
        let fresh = d.login().await;
        assert_eq!(d.refresh(&rt(&fresh)).await.status, 200, "{status}");
    }
}

#[tokio::test]
async fn an_unavailable_directory_is_503_with_retry_after_and_keeps_the_session() {
    let d = Directory::new().await;
    let first = d.login().await;
    d.set("unavailable", "before@example.com").await;
    let down = d.refresh(&rt(&first)).await;
    down.assert_error(503, "temporarily_unavailable");
    assert!(down.header("retry-after").is_some(), "{down:?}");
    d.set("active", "before@example.com").await;
    let back = d.refresh(&rt(&first)).await;
    assert_eq!(back.status, 200, "the same token works again: {back:?}");
}

/// The served function's audit line of `event` that `want` accepts (polling for up to 20 s: the
/// log file lags the answer a little).
pub(crate) async fn audit_line(path: &str, event: &str, want: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
        let found = text
            .lines()
            .filter_map(|l| l.find('{').map(|i| &l[i..]))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["audit"] == 1 && v["event"] == event && want(v));
        if let Some(line) = found {
            return line;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {event} audit line in {path}")
}
