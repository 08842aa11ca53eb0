//! A refresh whose rotation lands but whose answer is lost (the proxy drops exactly the answers
//! of that rotation's family update, the `UpdateItem` that makes the successor the live token,
//! or of the successor's own `PutItem` before it): the client gets `503` with `Retry-After`, and its
//! retry with the same token, as told, gets `200` with the very successor the landed write made
//! current, and no theft alarm. Then either the successor is used (the session lives on, and the
//! old token becomes reuse) or the lost-answer window passes with it unused (the old token is
//! refused, the family revoked): shown for a client without a grace window (the default) and
//! for one whose grace window is shorter than the wait the `503` asks for.
//!
//! The authorization-code exchange has the same test in `code_exchange`.

use std::time::{Duration, SystemTime};

use serde_json::json;
use tollgate_ddb_proxy::{Action, RuleSpec};
use tollgate_tests::fault::{FaultServed, post_as_told, retry_after};
use tollgate_tests::{Answer, ClientSpec, dynamo, http, post_token, unique};

use super::{PROXY_USE, audit_events, family_of, hash, reuse_metric, rotated_at, rotation_of};
use tollgate_oauth::secret::Secret;
use tollgate_service::refresh::{NewFamily, RefreshStore, TokenRef};
use tollgate_service::store::dynamo::DynamoRefreshStore;

/// One session's client and user on the fault instance.
struct Session {
    f: FaultServed,
    db: aws_sdk_dynamodb::Client,
    id: String,
    secret: String,
    username: String,
}

/// A rotation whose answer was lost.
struct Lost {
    /// The refresh token presented.
    first: String,
    /// The `503` the client got.
    answer: Answer,
    /// The hash of the successor the landed write made current.
    landed: String,
    /// When the rotation happened, as DynamoDB holds it (seconds since the epoch).
    rotated_at: u64,
}

const PASSWORD: &str = "pw-of-the-lost-answer-test";

impl Session {
    async fn new(grace: Option<u64>) -> Self {
        let f = FaultServed::from_env();
        let db = dynamo().await;
        let spec = ClientSpec {
            refresh_reuse_grace: grace,
            ..ClientSpec::default()
        };
        let (id, secret) = spec.create(&db, &f.clients_table).await;
        let username = unique("lost-answer-user");
        let user = json!({"password": PASSWORD, "claims": {"sub": unique("sub")}});
        let url = format!("{}/users/{username}", f.auth_url);
        let resp = http().put(url).json(&user).send().await.expect("dev-auth");
        assert_eq!(resp.status().as_u16(), 200, "PUT /users: {resp:?}");
        Self {
            f,
            db,
            id,
            secret,
            username,
        }
    }

    async fn post(&self, pairs: &[(&str, &str)]) -> Answer {
        post_token(&self.f.token_url(), Some((&self.id, &self.secret)), pairs).await
    }

    async fn refresh(&self, token: &str) -> Answer {
        self.post(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .await
    }

    /// A request a well-behaved client makes: a `503` is sent again after its `Retry-After`.
    async fn post_as_told(&self, pairs: &[(&str, &str)]) -> Answer {
        post_as_told(&self.f.token_url(), (&self.id, &self.secret), pairs, 4)
            .await
            .0
    }

    async fn refresh_as_told(&self, token: &str) -> Answer {
        self.post_as_told(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .await
    }

    /// Signs in; the session's first refresh token.
    async fn sign_in(&self) -> String {
        let a = self
            .post_as_told(&[
                ("grant_type", "password"),
                ("username", &self.username),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(a.status, 200, "{a:?}");
        a.refresh_token()
    }

    /// Signs in, and starts a second session of the same user and client in the shape written
    /// before families held their tokens (the first token's own `token#` record): its first
    /// refresh token and family id.
    async fn session_of_the_earlier_shape(&self) -> (String, String) {
        let signed_in = Secret::new(self.sign_in().await);
        let store = DynamoRefreshStore::new(self.db.clone(), &self.f.tokens_table);
        let (t, _) = store
            .get_presented(&TokenRef::of(&signed_in))
            .await
            .expect("read")
            .expect("the signed-in session");
        let token = Secret::generate();
        let family_id = unique("earlier-shape");
        let family = NewFamily {
            family_id: family_id.clone(),
            token_hash: token.hash(),
            grant: t.grant,
            issued_at: t.issued_at,
            token_expires_at: t.expires_at,
            family_expires_at: t.family_expires_at,
            access_expires_at: t.issued_at + 900,
            tag_hash: None,
        };
        store.create_family(&family).await.expect("create family");
        (token.expose().to_owned(), family_id)
    }

    /// Signs in, then refreshes while the proxy drops every answer to that rotation's
    /// family update: the write lands, the client gets `503`.
    async fn lose_a_rotation(&self) -> Lost {
        let first = self.sign_in().await;
        let proxy = &self.f.proxy;
        let rule = proxy.drop_answers("UpdateItem", &rotation_of(&first)).await;
        let answer = self.refresh(&first).await;
        let hits = proxy.rule(rule.id).await.hits;
        proxy.remove_rule(rule.id).await;
        answer.assert_error(503, "temporarily_unavailable");
        retry_after(&answer);
        assert!(
            hits >= 1,
            "the rotation's family update went through the proxy"
        );
        // The write landed: the family moved on to a successor the client has not seen.
        let family = family_of(&self.db, &self.f.tokens_table, &first).await;
        assert_eq!(family.status, "active");
        assert_ne!(family.current_token, hash(&first), "the rotation landed");
        let rotated_at = rotated_at(&self.db, &self.f.tokens_table, &first).await;
        Lost {
            first,
            answer,
            landed: family.current_token,
            rotated_at,
        }
    }

    /// Retries after the `503`'s `Retry-After`, as told: `200` with the successor that landed,
    /// a fresh access token, a `refresh_replayed` event and no theft alarm.
    async fn retry_as_told(&self, lost: &Lost) -> String {
        tokio::time::sleep(retry_after(&lost.answer)).await;
        let retry = self.refresh_as_told(&lost.first).await;
        assert_eq!(
            retry.status, 200,
            "the retry after a lost answer: {retry:?}"
        );
        retry.assert_no_store();
        assert!(
            retry.json["access_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        let second = retry.refresh_token();
        assert_eq!(
            hash(&second),
            lost.landed,
            "the successor the landed write made"
        );
        let family = family_of(&self.db, &self.f.tokens_table, &second).await;
        assert_eq!(
            (family.status.as_str(), family.current_token),
            ("active", hash(&second))
        );
        let log = &self.f.log_path;
        tollgate_tests::logs::audit_line(log, "refresh_replayed", |l| {
            l["client_id"] == self.id.as_str()
        })
        .await;
        self.assert_no_theft_alarm();
        second
    }

    fn assert_no_theft_alarm(&self) {
        let events = audit_events(&self.f.log_path, &self.id);
        assert!(
            !events.iter().any(|e| e == "refresh_reuse_detected"),
            "a lost answer raised the theft alarm: {events:?}"
        );
        assert_eq!(reuse_metric(&self.f.log_path, &self.id), 0);
    }

    /// The old token is refused now, and its family revoked, with the theft alarm.
    async fn assert_old_token_is_reuse(&self, lost: &Lost, successor: &str) {
        self.refresh_as_told(&lost.first)
            .await
            .assert_error(400, "invalid_grant");
        let family = family_of(&self.db, &self.f.tokens_table, successor).await;
        assert_eq!(family.status, "revoked");
        let log = &self.f.log_path;
        tollgate_tests::logs::audit_line(log, "refresh_reuse_detected", |l| {
            l["client_id"] == self.id.as_str()
        })
        .await;
        self.refresh_as_told(successor)
            .await
            .assert_error(400, "invalid_grant");
    }
}

/// After the retry, the successor is used: the session lives on; the old token is reuse now.
async fn then_the_successor_is_used(grace: Option<u64>) {
    let s = Session::new(grace).await;
    let lost = s.lose_a_rotation().await;
    let second = s.retry_as_told(&lost).await;
    let third = s.refresh_as_told(&second).await;
    assert_eq!(third.status, 200, "the successor works: {third:?}");
    let third = third.refresh_token();
    let family = family_of(&s.db, &s.f.tokens_table, &third).await;
    assert_eq!(
        (family.status.as_str(), family.current_token),
        ("active", hash(&third))
    );
    s.assert_no_theft_alarm();
    s.assert_old_token_is_reuse(&lost, &third).await;
}

/// After the retry, the successor stays unused past the lost-answer window: the old token is
/// refused then.
async fn then_the_window_passes(grace: Option<u64>) {
    let s = Session::new(grace).await;
    let lost = s.lose_a_rotation().await;
    let second = s.retry_as_told(&lost).await;
    // The window counts whole seconds from the rotation: one more, and a little for the clocks.
    let bound = SystemTime::UNIX_EPOCH
        + Duration::from_secs(lost.rotated_at + s.f.lost_answer_window + 1)
        + Duration::from_millis(200);
    if let Ok(wait) = bound.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
    s.assert_no_theft_alarm();
    s.assert_old_token_is_reuse(&lost, &second).await;
}

async fn a_lost_rotation_answer_is_never_held_against_the_retry(grace: Option<u64>) {
    let _shared = PROXY_USE.read().await;
    tokio::join!(
        then_the_successor_is_used(grace),
        then_the_window_passes(grace)
    );
}

/// Answers lost a few times, then given: the function sends the rotation again (the SDK's own
/// retries, then its resends) and the client gets `200` at once, with the one successor that
/// landed.
#[tokio::test]
async fn answers_lost_a_few_times_are_made_good_inside_the_function() {
    let _shared = PROXY_USE.read().await;
    let s = Session::new(None).await;
    let first = s.sign_in().await;
    answers_lost_then_given(&s, &first, "UpdateItem", rotation_of(&first)).await;
}

/// The same for the rotation's first write, the successor's record (a `PutItem` naming the
/// session): sent again, it lands once, and the family then names it. Only a session started
/// before families held their tokens writes one; such a session is made here from a signed-in
/// one, in the shape written then.
#[tokio::test]
async fn lost_answers_to_the_successors_write_are_made_good_inside_the_function() {
    let _shared = PROXY_USE.read().await;
    let s = Session::new(None).await;
    let (first, family) = s.session_of_the_earlier_shape().await;
    answers_lost_then_given(&s, &first, "PutItem", family).await;
}

async fn answers_lost_then_given(s: &Session, first: &str, operation: &str, body: String) {
    let rule =
        s.f.proxy
            .add_rule(&RuleSpec {
                action: Action::Drop,
                target: Some(operation.into()),
                body_contains: Some(body),
                count: Some(3),
            })
            .await;
    let answer = s.refresh(first).await;
    let hits = s.f.proxy.rule(rule.id).await.hits;
    s.f.proxy.remove_rule(rule.id).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(hits, 3, "three answers were lost");
    let second = answer.refresh_token();
    let family = family_of(&s.db, &s.f.tokens_table, &second).await;
    assert_eq!(
        (family.status.as_str(), family.current_token),
        ("active", hash(&second))
    );
    let third = s.refresh_as_told(&second).await;
    assert_eq!(third.status, 200, "the successor works: {third:?}");
    s.assert_no_theft_alarm();
}

#[tokio::test]
async fn without_a_grace_window_the_retry_after_a_lost_answer_gets_the_landed_successor() {
    a_lost_rotation_answer_is_never_held_against_the_retry(None).await;
}

/// The client's grace window (2 s) is over before the `503`'s `Retry-After` (5 s) is: what
/// saves the retry is the lost-answer window, not the grace window.
#[tokio::test]
async fn with_a_short_grace_window_the_retry_after_a_lost_answer_gets_the_landed_successor() {
    a_lost_rotation_answer_is_never_held_against_the_retry(Some(2)).await;
}

/// A sign-in whose session was half written: the proxy drops the answer to its `usersession#`
/// companion's put, which lands. The client gets `503` with `Retry-After` (its tokens reached
/// nobody), and its retry as told signs in; the user's earlier session lives on, and nothing
/// raises the theft alarm. The sign-in's items are single puts, not a transaction
/// (docs/decisions.md, "A sign-in in single puts").
#[tokio::test]
async fn a_sign_in_half_written_is_a_503_and_its_retry_signs_in() {
    let _alone = PROXY_USE.write().await;
    let s = Session::new(None).await;
    let earlier = s.sign_in().await;
    let rule =
        s.f.proxy
            .add_rule(&RuleSpec {
                action: Action::Drop,
                target: Some("PutItem".into()),
                body_contains: Some("usersession#".into()),
                count: Some(1),
            })
            .await;
    let pairs = [
        ("grant_type", "password"),
        ("username", s.username.as_str()),
        ("password", PASSWORD),
    ];
    let refused = s.post(&pairs).await;
    let hits = s.f.proxy.rule(rule.id).await.hits;
    s.f.proxy.remove_rule(rule.id).await;
    assert_eq!(hits, 1, "the companion's answer was dropped");
    retry_after(&refused);
    assert!(refused.json.get("refresh_token").is_none(), "{refused:?}");
    let again = s.post_as_told(&pairs).await;
    assert_eq!(again.status, 200, "the retry signs in: {again:?}");
    let next = s.refresh_as_told(&again.refresh_token()).await;
    assert_eq!(next.status, 200, "its session works: {next:?}");
    let kept = s.refresh_as_told(&earlier).await;
    assert_eq!(kept.status, 200, "the earlier session lives on: {kept:?}");
    s.assert_no_theft_alarm();
}
