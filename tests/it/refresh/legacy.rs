//! Refresh tokens of the system Tollgate replaces, accepted once (issue 21), through the served
//! token function and dev-auth's stand-in legacy endpoint (`dev/legacy-tokens.json`: a token
//! `ok.<client_id>.<anything>` is vouched for, `refused.` is a `400`, `broken.` a `500`,
//! `flaky.` and `slowfirst.` fail their first call only, by status or by outlasting the timeout).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;
use tollgate_oauth::secret::{Secret, random_token};
use tollgate_service::client::GrantType;
use tollgate_service::refresh::{RefreshStore, SessionQuery};
use tollgate_service::store::dynamo::{DynamoRefreshStore, legacy_key};
use tollgate_tests::logs::audit_line;
use tollgate_tests::{Answer, ClientSpec, Served, dynamo, post_token, stored_item};

struct Client {
    served: Served,
    id: String,
    secret: String,
}

impl Client {
    async fn new(spec: ClientSpec) -> Self {
        let served = Served::from_env();
        let (id, secret) = spec.create(&dynamo().await, &served.clients_table).await;
        Self { served, id, secret }
    }

    /// A fresh legacy token of `kind` issued to this client.
    fn legacy(&self, kind: &str) -> String {
        format!("{kind}.{}.{}", self.id, random_token(12))
    }

    async fn refresh(&self, token: &str, scope: Option<&str>) -> Answer {
        let mut p = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        if let Some(s) = scope {
            p.push(("scope", s));
        }
        post_token(&self.served.token_url(), Some((&self.id, &self.secret)), &p).await
    }

    /// How many times dev-auth's legacy endpoint was asked about `token`.
    async fn calls(&self, token: &str) -> u64 {
        let url = format!("{}/legacy/calls/{token}", self.served.auth_url);
        let body: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        body["calls"].as_u64().unwrap()
    }

    /// The client's sessions (the sessions index; polled: it may lag a moment).
    async fn sessions(&self, at_least: usize) -> usize {
        let store = DynamoRefreshStore::new(dynamo().await, &self.served.tokens_table);
        let query = SessionQuery::Client {
            client_id: self.id.clone(),
        };
        let mut n = 0;
        for _ in 0..50 {
            n = store.list_sessions(&query).await.unwrap().len();
            if n >= at_least {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        n
    }

    /// The session the marker of `token` names.
    async fn marked_session(&self, token: &str) -> String {
        let key = legacy_key(&Secret::new(token).hash());
        let item = stored_item(&dynamo().await, &self.served.tokens_table, &key).await;
        item["family_id"].as_s().unwrap().clone()
    }
}

fn assert_unavailable(a: &Answer) {
    a.assert_error(503, "temporarily_unavailable");
    assert_eq!(a.header("retry-after"), Some("5"), "{a:?}");
}

#[tokio::test]
async fn a_legacy_token_starts_one_session_and_a_second_use_is_invalid_grant() {
    let c = Client::new(ClientSpec::default()).await;
    let token = c.legacy("ok");
    let first = c.refresh(&token, None).await;
    assert_eq!(first.status, 200, "{first:?}");
    first.assert_no_store();
    assert_eq!(first.json["scope"], "orders:read orders:write profile");
    let claims = c.served.verify(&first.access_token()).await;
    assert_eq!(claims["sub"], "user-0001");
    assert_eq!(claims["client_id"], c.id.as_str());
    assert_eq!(claims["email"], "demo@example.com");
    let family = c.marked_session(&token).await;
    assert_eq!(claims["sid"], family.as_str());
    // Its refresh token is Tollgate's own now: it rotates like any other.
    let next = c.refresh(&first.refresh_token(), Some("profile")).await;
    assert_eq!(next.status, 200, "{next:?}");
    assert_eq!(next.json["scope"], "profile");
    // A second use of the legacy token: refused, audited, and the old system not asked again.
    c.refresh(&token, None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(c.calls(&token).await, 1, "sent to the legacy endpoint once");
    let hash = tollgate_telemetry::hash::short_hash(&token);
    let reuse = audit_line(&c.served.log_path, "legacy_refresh_reuse", |v| {
        v["token_hash"] == hash.as_str()
    })
    .await;
    assert_eq!(reuse["client_id"], c.id.as_str());
    assert_eq!(reuse["family"], family.as_str());
    let accepted = audit_line(&c.served.log_path, "legacy_refresh_accepted", |v| {
        v["token_hash"] == hash.as_str()
    })
    .await;
    assert_eq!(accepted["family"], family.as_str());
    assert_eq!(accepted["subject"], "user-0001");
    // The session the first use started stands.
    let after = c.refresh(&next.refresh_token(), None).await;
    assert_eq!(after.status, 200, "{after:?}");
    assert_eq!(c.sessions(1).await, 1);
}

#[tokio::test]
async fn a_token_the_legacy_endpoint_refuses_is_invalid_grant() {
    let c = Client::new(ClientSpec::default()).await;
    let refused = c.legacy("refused");
    c.refresh(&refused, None)
        .await
        .assert_error(400, "invalid_grant");
    // Issued to another client: the old system refuses it for this one.
    let theirs = format!("ok.someone-else.{}", random_token(12));
    c.refresh(&theirs, None)
        .await
        .assert_error(400, "invalid_grant");
    c.refresh("nobody-knows-this-one", None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(c.calls(&refused).await, 1);
    // A token of Tollgate's shape is never sent there, even one Tollgate never issued.
    let forged = Secret::generate();
    c.refresh(forged.expose(), None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(c.calls(forged.expose()).await, 0);
    assert_eq!(c.sessions(0).await, 0);
}

#[tokio::test]
async fn a_failing_legacy_endpoint_is_503_and_the_token_stays_usable() {
    let c = Client::new(ClientSpec::default()).await;
    let broken = c.legacy("broken");
    assert_unavailable(&c.refresh(&broken, None).await);
    assert_unavailable(&c.refresh(&broken, None).await);
    for kind in ["flaky", "slowfirst"] {
        let token = c.legacy(kind);
        assert_unavailable(&c.refresh(&token, None).await);
        let later = c.refresh(&token, None).await;
        assert_eq!(later.status, 200, "{kind}: {later:?}");
        assert_eq!(c.calls(&token).await, 2, "{kind}");
    }
    assert_eq!(c.sessions(2).await, 2);
}

#[tokio::test]
async fn scope_narrows_as_for_any_refresh_and_a_wider_one_leaves_the_token_usable() {
    let c = Client::new(ClientSpec {
        scopes: "profile orders:read",
        ..ClientSpec::default()
    })
    .await;
    let token = c.legacy("ok");
    c.refresh(&token, Some("profile orders:write"))
        .await
        .assert_error(400, "invalid_scope");
    let narrow = c.refresh(&token, Some("orders:read")).await;
    assert_eq!(narrow.status, 200, "{narrow:?}");
    assert_eq!(narrow.json["scope"], "orders:read");
    // The session keeps the legacy scope, within what the client may have today.
    let back = c.refresh(&narrow.refresh_token(), None).await;
    assert_eq!(back.json["scope"], "orders:read profile", "{back:?}");
}

#[tokio::test]
async fn client_checks_and_rate_limits_come_first() {
    let no_refresh = Client::new(ClientSpec {
        grant_types: vec![GrantType::Password],
        ..ClientSpec::default()
    })
    .await;
    let token = no_refresh.legacy("ok");
    no_refresh
        .refresh(&token, None)
        .await
        .assert_error(400, "unauthorized_client");
    assert_eq!(no_refresh.calls(&token).await, 0);
    let c = Client::new(ClientSpec::default()).await;
    let token = c.legacy("ok");
    let wrong = post_token(
        &c.served.token_url(),
        Some((&c.id, "not-the-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", &token)],
    )
    .await;
    wrong.assert_error(401, "invalid_client");
    assert_eq!(c.calls(&token).await, 0);
    let limited = Client::new(ClientSpec {
        rate_limit: Some(1),
        ..ClientSpec::default()
    })
    .await;
    let (a, b) = (limited.legacy("ok"), limited.legacy("ok"));
    let first = limited.refresh(&a, None).await;
    let second = limited.refresh(&b, None).await;
    // One of the two may fall in the next minute; both within one minute, the second waits.
    if second.status != 200 {
        assert_eq!(first.status, 200, "{first:?}");
        second.assert_error(429, "slow_down");
        assert_eq!(
            limited.calls(&b).await,
            0,
            "refused before the legacy endpoint"
        );
    }
}

#[tokio::test]
async fn thirty_two_concurrent_first_uses_of_one_legacy_token_start_exactly_one_session() {
    let c = Arc::new(Client::new(ClientSpec::default()).await);
    let token = Arc::new(c.legacy("ok"));
    let barrier = Arc::new(Barrier::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (c, token, barrier) = (c.clone(), token.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            c.refresh(&token, None).await
        });
    }
    let answers = tasks.join_all().await;
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    let refused = answers
        .iter()
        .filter(|a| a.status == 400 && a.error() == Some("invalid_grant"))
        .count();
    assert_eq!(
        (ok.len(), refused),
        (1, 31),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let family = c.marked_session(&token).await;
    let claims = c.served.verify(&ok[0].access_token()).await;
    assert_eq!(claims["sid"], family.as_str());
    assert_eq!(c.sessions(1).await, 1, "exactly one session");
    let next = c.refresh(&ok[0].refresh_token(), None).await;
    assert_eq!(next.status, 200, "the one session works: {next:?}");
}
