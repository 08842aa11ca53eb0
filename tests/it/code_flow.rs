//! The authorization code flow with PKCE against the served token function: the sign-in page
//! and its exchange over plain HTTP and REST API events (`served`), the attacks on it
//! (`attacks`), a real browser (`browser`), real client libraries (`clients`), and OpenID
//! Connect's ID token, `/userinfo` and logout (`oidc`).

mod attacks;
mod browser;
mod clients;
mod descriptions;
mod oidc;
mod served;

use serde_json::json;
use tollgate_tests::code_flow::{Callback, Pkce, code_client, request_params};
use tollgate_tests::{Served, http, unique};

/// A client of the flow with a live callback, a PKCE pair and a state: one request's makings.
struct Flow {
    served: Served,
    callback: Callback,
    id: String,
    secret: String,
    pkce: Pkce,
    state: String,
    /// A user of its own at the dev auth endpoint (parallel tests never share one's attempts).
    username: String,
    password: String,
    sub: String,
}

impl Flow {
    async fn public() -> Self {
        Self::new(true, "test").await
    }

    async fn new(public: bool, name: &str) -> Self {
        let served = Served::from_env();
        let callback = Callback::start().await;
        let (id, secret) = code_client(&served.clients_table, public, name, &[&callback.uri]).await;
        let (username, password, sub) = (unique("cf-user"), unique("pw"), unique("sub"));
        let user = json!({
            "password": password,
            "claims": {"sub": sub, "email": format!("{username}@example.com")},
        });
        let url = format!("{}/users/{username}", served.auth_url);
        let resp = http().put(url).json(&user).send().await.expect("dev-auth");
        assert_eq!(resp.status().as_u16(), 200, "PUT /users: {resp:?}");
        Self {
            served,
            callback,
            id,
            secret,
            pkce: Pkce::new(),
            state: unique("state"),
            username,
            password,
            sub,
        }
    }

    fn params(&self) -> Vec<(&str, &str)> {
        request_params(&self.id, &self.callback.uri, &self.pkce, &self.state)
    }

    /// The request's parameters with `changes` (a `None` removes the parameter).
    fn with<'a>(&'a self, changes: &[(&'a str, Option<&'a str>)]) -> Vec<(&'a str, &'a str)> {
        let mut p = self.params();
        for (k, v) in changes {
            p.retain(|(n, _)| n != k);
            if let Some(v) = v {
                p.push((k, v));
            }
        }
        p
    }

    fn client(&self) -> (&str, &str) {
        (&self.id, &self.secret)
    }
}
