//! Revocation that reaches the gateway, served: after each way of ending access (reuse
//! detection, a reused authorization code, RP-initiated logout at `/end_session`, `/revoke` of a
//! refresh or an access token, `revoke-sessions --sub` and
//! `--client`, the IAM route, the user gone, `disable-client`), the authorizer that
//! `cargo lambda watch` serves, invoked through the Lambda Invoke API as API Gateway would,
//! refuses the tokens it ended once the freshness bound has passed since the revocation was
//! answered, and still allows a token of another session, user or client. No test times
//! anything: each waits the bound, as the contract says, then asks once.
//!
//! Every test signs in users only it uses (created in the dev auth endpoint) with clients only it
//! uses, so a user's or client's cut-off never touches another test.

use serde_json::json;
use tollgate_tests::admin::admin_served;
use tollgate_tests::authorizer::{admitted as allowed, authorize_at};
use tollgate_tests::code_flow::{
    Callback, Pkce, code_client, code_for, exchange, get_page, request_params,
};
use tollgate_tests::{Answer, ClientSpec, Served, TestClient as Client, http, unique};

/// Each token is allowed now (a revocation could not be mistaken for a bad token).
async fn allowed_now(served: &Served, tokens: &[&str]) {
    for t in tokens {
        let a = authorize_at(&served.invoke, t).await;
        assert!(allowed(&a), "allowed before: {a:?}");
    }
}

/// Once the bound has passed since the revocation was answered, every authorizer instance
/// refuses each of `ended` and still allows each of `kept`.
async fn after_the_bound(served: &Served, ended: &[&str], kept: &[&str]) {
    tokio::time::sleep(served.revocation_bound).await;
    for t in ended {
        let a = authorize_at(&served.invoke, t).await;
        assert_eq!(a, Err("Unauthorized".into()), "refused within the bound");
    }
    for t in kept {
        let a = authorize_at(&served.invoke, t).await;
        assert!(allowed(&a), "still allowed: {a:?}");
    }
}

/// A user only the calling test signs in: (username, password, sub).
async fn new_user(served: &Served) -> (String, String, String) {
    let (name, sub) = (unique("rv-user"), unique("rv-sub"));
    let pw = "revocation-test-password".to_owned();
    set_user(served, &name, &pw, &sub, "active").await;
    (name, pw, sub)
}

async fn set_user(served: &Served, name: &str, pw: &str, sub: &str, status: &str) {
    let body = json!({"password": pw, "claims": {"sub": sub}, "status": status});
    let url = format!("{}/users/{name}", served.auth_url);
    let resp = http().put(url).json(&body).send().await.expect("dev-auth");
    assert_eq!(resp.status().as_u16(), 200, "PUT /users: {resp:?}");
}

async fn login(served: &Served, c: &Client, user: &(String, String, String)) -> (String, String) {
    c.login(served, &user.0, &user.1).await
}

async fn revoke(served: &Served, c: &Client, token: &str) -> Answer {
    let a = tollgate_tests::post_token(&served.revoke_url(), c.basic(), &[("token", token)]).await;
    assert_eq!(a.status, 200, "{a:?}");
    a
}

/// A client that may introspect every client's tokens.
async fn introspector(served: &Served) -> Client {
    let spec = ClientSpec {
        grant_types: vec![tollgate_service::client::GrantType::ClientCredentials],
        introspect_any: true,
        ..ClientSpec::default()
    };
    Client::with(served, spec).await
}

/// `tollgate-admin` on the served tables; it must succeed.
fn admin(served: &Served, args: &[&str]) {
    let out = tollgate_tests::admin::admin(&served.clients_table, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tollgate-admin {args:?}: {err}");
}

async fn active(served: &Served, c: &Client, token: &str) -> bool {
    let a = served.introspect(c.basic(), &[("token", token)]).await;
    a.json["active"] == true
}

#[tokio::test]
async fn reuse_of_a_refresh_token_ends_its_session_at_the_gateway() {
    let served = Served::from_env();
    let c = Client::new(&served).await;
    let user = new_user(&served).await;
    let (a1, r1) = login(&served, &c, &user).await;
    let other = login(&served, &c, &user).await;
    let second = c.refresh(&served, &r1).await;
    assert_eq!(second.status, 200, "{second:?}");
    let a2 = second.json["access_token"].as_str().unwrap().to_owned();
    allowed_now(&served, &[&a1, &a2, &other.0]).await;
    // The first refresh token again: theft. The whole session ends, its newest token too.
    c.refresh(&served, &r1)
        .await
        .assert_error(400, "invalid_grant");
    after_the_bound(&served, &[&a1, &a2], &[&other.0]).await;
}

/// A public client of the code flow with a live callback, and a user of its own.
struct CodeFlow {
    callback: Callback,
    id: String,
    user: (String, String, String),
}

impl CodeFlow {
    async fn new(served: &Served) -> Self {
        let callback = Callback::start().await;
        let (id, _) = code_client(&served.clients_table, true, "test", &[&callback.uri]).await;
        let user = new_user(served).await;
        Self { callback, id, user }
    }

    /// A sign-in on the page: the code its redirect carries, and the verifier it needs.
    async fn code(&self, served: &Served) -> (String, Pkce) {
        let pkce = Pkce::new();
        let state = unique("state");
        let params = request_params(&self.id, &self.callback.uri, &pkce, &state);
        let code = code_for(&served.base, &params, &self.user.0, &self.user.1).await;
        (code, pkce)
    }

    async fn exchange(&self, served: &Served, code: &str, pkce: &Pkce) -> Answer {
        let uri = Some(self.callback.uri.as_str());
        exchange(
            &served.token_url(),
            (&self.id, ""),
            code,
            &pkce.verifier,
            uri,
        )
        .await
    }

    /// A session of the code flow: its token answer (access, refresh and ID token).
    async fn session(&self, served: &Served) -> Answer {
        let (code, pkce) = self.code(served).await;
        let a = self.exchange(served, &code, &pkce).await;
        assert_eq!(a.status, 200, "{a:?}");
        a
    }
}

#[tokio::test]
async fn signing_out_at_end_session_ends_the_session_at_the_gateway() {
    let served = Served::from_env();
    let flow = CodeFlow::new(&served).await;
    let (ended, kept) = (flow.session(&served).await, flow.session(&served).await);
    let (ended_access, kept_access) = (ended.access_token(), kept.access_token());
    allowed_now(&served, &[&ended_access, &kept_access]).await;
    let hint = ended.json["id_token"].as_str().expect("an ID token");
    let url = format!("{}/end_session?id_token_hint={hint}", served.base);
    let out = get_page(&url).await;
    assert_eq!(out.status, 200, "signed out: {out:?}");
    after_the_bound(&served, &[&ended_access], &[&kept_access]).await;
}

#[tokio::test]
async fn a_reused_authorization_code_ends_its_session_at_the_gateway() {
    let served = Served::from_env();
    let flow = CodeFlow::new(&served).await;
    let (code, pkce) = flow.code(&served).await;
    let first = flow.exchange(&served, &code, &pkce).await;
    assert_eq!(first.status, 200, "{first:?}");
    let kept = flow.session(&served).await;
    let (ended_access, kept_access) = (first.access_token(), kept.access_token());
    allowed_now(&served, &[&ended_access, &kept_access]).await;
    // The code again: stolen. The session its first exchange started ends.
    flow.exchange(&served, &code, &pkce)
        .await
        .assert_error(400, "invalid_grant");
    after_the_bound(&served, &[&ended_access], &[&kept_access]).await;
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_session_at_the_gateway() {
    let served = Served::from_env();
    let c = Client::new(&served).await;
    let user = new_user(&served).await;
    let (access, refresh) = login(&served, &c, &user).await;
    let other = login(&served, &c, &user).await;
    allowed_now(&served, &[&access, &other.0]).await;
    revoke(&served, &c, &refresh).await;
    after_the_bound(&served, &[&access], &[&other.0]).await;
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_session_and_its_refresh_token() {
    let served = Served::from_env();
    let c = Client::new(&served).await;
    let user = new_user(&served).await;
    let (access, refresh) = login(&served, &c, &user).await;
    let other = login(&served, &c, &user).await;
    allowed_now(&served, &[&access, &other.0]).await;
    revoke(&served, &c, &access).await;
    assert!(!active(&served, &c, &access).await, "inactive at once");
    c.refresh(&served, &refresh)
        .await
        .assert_error(400, "invalid_grant");
    after_the_bound(&served, &[&access], &[&other.0]).await;
    // Another client's access token is ignored, as RFC 7009 says: its session stands.
    let stranger = Client::new(&served).await;
    revoke(&served, &stranger, &other.0).await;
    after_the_bound(&served, &[], &[&other.0]).await;
    assert_eq!(c.refresh(&served, &other.1).await.status, 200);
}

#[tokio::test]
async fn revoking_a_machine_token_refuses_it_alone() {
    let served = Served::from_env();
    let spec = ClientSpec {
        grant_types: vec![tollgate_service::client::GrantType::ClientCredentials],
        ..ClientSpec::default()
    };
    let m = Client::with(&served, spec).await;
    let token = || async {
        let a = tollgate_tests::post_token(
            &served.token_url(),
            m.basic(),
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(a.status, 200, "{a:?}");
        a.json["access_token"].as_str().unwrap().to_owned()
    };
    let (first, second) = (token().await, token().await);
    allowed_now(&served, &[&first, &second]).await;
    revoke(&served, &m, &first).await;
    assert!(!active(&served, &m, &first).await);
    after_the_bound(&served, &[&first], &[&second]).await;
}

#[tokio::test]
async fn revoke_sessions_by_user_refuses_every_token_of_the_user_and_no_one_elses() {
    let served = Served::from_env();
    let (a, b) = (Client::new(&served).await, Client::new(&served).await);
    let (user, bystander) = (new_user(&served).await, new_user(&served).await);
    let with_a = login(&served, &a, &user).await;
    let with_b = login(&served, &b, &user).await;
    let kept = login(&served, &a, &bystander).await;
    allowed_now(&served, &[&with_a.0, &with_b.0, &kept.0]).await;
    let out = admin_served(&served, &["revoke-sessions", "--sub", &user.2]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 session(s) revoked"), "{said}");
    after_the_bound(&served, &[&with_a.0, &with_b.0], &[&kept.0]).await;
    // A sign-in after the cut-off (a second later: the cut-off has whole seconds) is allowed.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let again = login(&served, &a, &user).await;
    allowed_now(&served, &[&again.0]).await;
    assert!(active(&served, &a, &again.0).await);
}

#[tokio::test]
async fn revoke_sessions_by_client_refuses_every_token_of_the_client_and_no_other_clients() {
    let served = Served::from_env();
    let (c, other) = (Client::new(&served).await, Client::new(&served).await);
    let user = new_user(&served).await;
    let one = login(&served, &c, &user).await;
    let two = login(&served, &c, &user).await;
    let kept = login(&served, &other, &user).await;
    allowed_now(&served, &[&one.0, &two.0, &kept.0]).await;
    let out = admin_served(&served, &["revoke-sessions", "--client", &c.id]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 session(s) revoked"));
    after_the_bound(&served, &[&one.0, &two.0], &[&kept.0]).await;
}

#[tokio::test]
async fn the_iam_route_ends_a_users_sessions_at_the_gateway() {
    let served = Served::from_env();
    let c = Client::new(&served).await;
    let (user, bystander) = (new_user(&served).await, new_user(&served).await);
    let ended = login(&served, &c, &user).await;
    let kept = login(&served, &c, &bystander).await;
    allowed_now(&served, &[&ended.0, &kept.0]).await;
    let r = served.revoke_sessions(&json!({"sub": user.2})).await;
    assert_eq!(r.json, json!({"sessions_revoked": 1}), "{r:?}");
    after_the_bound(&served, &[&ended.0], &[&kept.0]).await;
}

#[tokio::test]
async fn a_user_the_directory_says_is_gone_loses_the_session_at_the_gateway() {
    let served = Served::from_env();
    let c = Client::new(&served).await;
    let (user, bystander) = (new_user(&served).await, new_user(&served).await);
    let (access, refresh) = login(&served, &c, &user).await;
    let kept = login(&served, &c, &bystander).await;
    allowed_now(&served, &[&access, &kept.0]).await;
    set_user(&served, &user.0, &user.1, &user.2, "gone").await;
    c.refresh(&served, &refresh)
        .await
        .assert_error(400, "invalid_grant");
    after_the_bound(&served, &[&access], &[&kept.0]).await;
}

#[tokio::test]
async fn disabling_a_client_refuses_its_tokens_at_the_gateway_and_enabling_it_does_not_revive_them()
{
    let served = Served::from_env();
    let (c, other) = (Client::new(&served).await, Client::new(&served).await);
    let user = new_user(&served).await;
    let (access, refresh) = login(&served, &c, &user).await;
    let kept = login(&served, &other, &user).await;
    allowed_now(&served, &[&access, &kept.0]).await;
    let rs = introspector(&served).await;
    let id = c.id.as_str();
    admin(&served, &["disable-client", "--id", id]);
    after_the_bound(&served, &[&access], &[&kept.0]).await;
    assert!(!active(&served, &rs, &access).await);
    admin(&served, &["enable-client", "--id", id]);
    after_the_bound(&served, &[&access], &[&kept.0]).await;
    assert!(!active(&served, &rs, &access).await, "the cut-off stands");
    // Its sessions were kept: a refresh works again, and its new token is allowed.
    let fresh = c.refresh(&served, &refresh).await;
    assert_eq!(fresh.status, 200, "{fresh:?}");
    let fresh = fresh.json["access_token"].as_str().unwrap().to_owned();
    allowed_now(&served, &[&fresh]).await;
}

#[tokio::test]
async fn the_high_s_twin_of_a_revoked_token_is_refused_too() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let served = Served::from_env();
    let c = Client::new(&served).await;
    let user = new_user(&served).await;
    let (access, refresh) = login(&served, &c, &user).await;
    let (input, sig) = access.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    tollgate_oauth::keys::low_s::twin(&mut sig);
    let twin = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    assert_ne!(twin, access);
    allowed_now(&served, &[&access]).await;
    revoke(&served, &c, &refresh).await;
    after_the_bound(&served, &[&access, &twin], &[]).await;
    // Revoking the twin itself ends nothing more and tells nothing.
    revoke(&served, &c, &twin).await;
}
