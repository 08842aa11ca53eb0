//! Claims that follow the directory (issue 10 item 5), over HTTP: the served token function asks
//! the dev auth endpoint's `POST /status` on every refresh (`USER_STATUS_URL`), and each test
//! changes its own user there (`PUT /users/{username}`) while the session lives.

use serde_json::{Value, json};
use tollgate_tests::logs::audit_line;
use tollgate_tests::{Answer, Served, TestClient, http, jwt_claims, unique};

/// One test's user in the dev auth endpoint and one client of the served function.
struct Directory {
    served: Served,
    client: TestClient,
    username: String,
    sub: String,
}

impl Directory {
    async fn new() -> Self {
        let served = Served::from_env();
        let client = TestClient::new(&served).await;
        let username = unique("dir-user");
        let sub = unique("sub");
        let d = Self {
            served,
            client,
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

    async fn login(&self) -> Answer {
        let password = "pw-of-the-directory-test";
        self.client
            .sign_in(&self.served, &self.username, password)
            .await
    }

    async fn refresh(&self, token: &str) -> Answer {
        self.client.refresh(&self.served, token).await
    }
}

/// The access token's claims (its signature is the authorizer tests' business).
fn claims(a: &Answer) -> Value {
    jwt_claims(&a.access_token())
}

#[tokio::test]
async fn a_refresh_carries_the_details_the_directory_has_now() {
    let d = Directory::new().await;
    let first = d.login().await;
    assert_eq!(claims(&first)["email"], "before@example.com");
    d.set("active", "after@example.com").await;
    let second = d.refresh(&first.refresh_token()).await;
    assert_eq!(second.status, 200, "{second:?}");
    let c = claims(&second);
    assert_eq!(c["email"], "after@example.com");
    assert_eq!(c["sub"], d.sub.as_str());
    let third = d.refresh(&second.refresh_token()).await;
    assert_eq!(claims(&third)["email"], "after@example.com");
}

#[tokio::test]
async fn a_disabled_or_gone_user_ends_the_session_for_good() {
    for status in ["disabled", "gone"] {
        let d = Directory::new().await;
        let first = d.login().await;
        d.set(status, "before@example.com").await;
        let refused = d.refresh(&first.refresh_token()).await;
        refused.assert_error(400, "invalid_grant");
        let description = refused.json["error_description"].as_str().unwrap();
        assert!(description.contains("sign in again"), "{description}");
        let line = audit_line(&d.served.log_path, "session_ended", |l| {
            l["subject"] == d.sub.as_str()
        })
        .await;
        assert_eq!(line["client_id"], d.client.id.as_str());
        let cause = if status == "gone" {
            "user_gone"
        } else {
            "user_disabled"
        };
        assert_eq!(line["cause"], cause);
        // The family is revoked: the user coming back does not revive it.
        d.set("active", "before@example.com").await;
        d.refresh(&first.refresh_token())
            .await
            .assert_error(400, "invalid_grant");
        let fresh = d.login().await;
        assert_eq!(
            d.refresh(&fresh.refresh_token()).await.status,
            200,
            "{status}"
        );
    }
}

#[tokio::test]
async fn an_unavailable_directory_is_503_with_retry_after_and_keeps_the_session() {
    let d = Directory::new().await;
    let first = d.login().await;
    d.set("unavailable", "before@example.com").await;
    let down = d.refresh(&first.refresh_token()).await;
    down.assert_error(503, "temporarily_unavailable");
    assert!(down.header("retry-after").is_some(), "{down:?}");
    d.set("active", "before@example.com").await;
    let back = d.refresh(&first.refresh_token()).await;
    assert_eq!(back.status, 200, "the same token works again: {back:?}");
}
