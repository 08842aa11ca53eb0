//! The refresh grant and `/revoke` over HTTP (RFC 6749 §6, RFC 7009, RFC 9700 §4.14.2), and the
//! rotation's atomicity against DynamoDB Local.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use tokio::sync::Barrier;
use tollgate_oauth::secret::Secret;
use tollgate_service::client::{ClientCredentials, GrantType};
use tollgate_service::endpoint::TokenRequest;
use tollgate_service::refresh::in_family::parts;
use tollgate_service::store::dynamo::family_key;
use tollgate_tests::{
    Answer, ClientSpec, Served, Transport, alice_only, create_tables, dynamo, dynamo_service,
    post_token, stored_item,
};

struct Session {
    served: Served,
    id: String,
    secret: String,
    /// The event shape its requests reach the function in.
    t: Transport,
}

impl Session {
    async fn new(spec: ClientSpec) -> Self {
        Self::over(spec, Transport::FunctionUrl).await
    }

    async fn over(spec: ClientSpec, t: Transport) -> Self {
        let served = Served::from_env();
        let (id, secret) = spec.create(&dynamo().await, &served.clients_table).await;
        Self {
            served,
            id,
            secret,
            t,
        }
    }

    fn basic(&self) -> Option<(&str, &str)> {
        Some((&self.id, &self.secret))
    }

    async fn login(&self, scope: Option<&str>) -> Answer {
        let mut p = vec![
            ("grant_type", "password"),
            ("username", "demo"),
            ("password", "demo-password"),
        ];
        if let Some(s) = scope {
            p.push(("scope", s));
        }
        let a = self
            .t
            .post_form(&self.served, "/token", self.basic(), &p)
            .await;
        assert_eq!(a.status, 200, "{:?}: {a:?}", self.t);
        a
    }

    async fn refresh(&self, token: &str, scope: Option<&str>) -> Answer {
        let mut p = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        if let Some(s) = scope {
            p.push(("scope", s));
        }
        self.t
            .post_form(&self.served, "/token", self.basic(), &p)
            .await
    }

    async fn revoke(&self, token: &str, hint: Option<&str>) -> Answer {
        let mut p = vec![("token", token)];
        if let Some(h) = hint {
            p.push(("token_type_hint", h));
        }
        self.t
            .post_form(&self.served, "/revoke", self.basic(), &p)
            .await
    }
}

#[tokio::test]
async fn rotation_returns_a_new_token_and_the_old_one_fails() {
    for t in Transport::ALL {
        let s = Session::over(ClientSpec::default(), t).await;
        let first = s.login(None).await;
        let second = s.refresh(&first.refresh_token(), None).await;
        assert_eq!(second.status, 200, "{second:?}");
        second.assert_no_store();
        assert_ne!(first.refresh_token(), second.refresh_token());
        assert_eq!(second.json["token_type"], "Bearer");
        assert_eq!(second.json["scope"], "profile");
        let claims = s
            .served
            .verify(second.json["access_token"].as_str().unwrap())
            .await;
        assert_eq!(claims["sub"], "user-0001");
        assert_eq!(
            claims["email"], "demo@example.com",
            "the same user details as the original grant"
        );
        s.refresh(&first.refresh_token(), None)
            .await
            .assert_error(400, "invalid_grant");
    }
}

#[tokio::test]
async fn reuse_revokes_the_newest_token_of_the_family_too() {
    let s = Session::new(ClientSpec::default()).await;
    let first = s.login(None).await;
    let second = s.refresh(&first.refresh_token(), None).await;
    let third = s.refresh(&second.refresh_token(), None).await;
    assert_eq!(third.status, 200);
    s.refresh(&first.refresh_token(), None)
        .await
        .assert_error(400, "invalid_grant");
    s.refresh(&third.refresh_token(), None)
        .await
        .assert_error(400, "invalid_grant");
    // Another login is another family, untouched.
    let other = s.login(None).await;
    assert_eq!(s.refresh(&other.refresh_token(), None).await.status, 200);
}

#[tokio::test]
async fn refresh_token_of_another_client_is_invalid_grant() {
    let owner = Session::new(ClientSpec::default()).await;
    let thief = Session::new(ClientSpec::default()).await;
    let first = owner.login(None).await;
    thief
        .refresh(&first.refresh_token(), None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        owner.refresh(&first.refresh_token(), None).await.status,
        200,
        "the owner's token still works"
    );
}

#[tokio::test]
async fn disabled_client_cannot_refresh() {
    let served = Served::from_env();
    let db = dynamo().await;
    let s = Session::new(ClientSpec::default()).await;
    let first = s.login(None).await;
    db.update_item()
        .table_name(&served.clients_table)
        .key("client_id", AttributeValue::S(s.id.clone()))
        .update_expression("SET enabled = :f")
        .expression_attribute_values(":f", AttributeValue::Bool(false))
        .send()
        .await
        .unwrap();
    s.refresh(&first.refresh_token(), None)
        .await
        .assert_error(401, "invalid_client");
}

#[tokio::test]
async fn client_without_the_refresh_grant_is_unauthorized_client() {
    let s = Session::new(ClientSpec {
        grant_types: vec![GrantType::Password],
        ..ClientSpec::default()
    })
    .await;
    let first = s.login(None).await;
    s.refresh(&first.refresh_token(), None)
        .await
        .assert_error(400, "unauthorized_client");
}

#[tokio::test]
async fn widened_scope_is_invalid_scope() {
    let s = Session::new(ClientSpec::default()).await;
    let first = s.login(Some("profile")).await;
    s.refresh(&first.refresh_token(), Some("profile orders:write"))
        .await
        .assert_error(400, "invalid_scope");
}

#[tokio::test]
async fn narrowed_scope_is_granted_and_the_successor_keeps_the_original() {
    let s = Session::new(ClientSpec::default()).await;
    let first = s.login(Some("profile orders:read")).await;
    let narrow = s.refresh(&first.refresh_token(), Some("orders:read")).await;
    assert_eq!(narrow.status, 200, "{narrow:?}");
    assert_eq!(narrow.json["scope"], "orders:read");
    let claims = s
        .served
        .verify(narrow.json["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["scope"], "orders:read");
    let back = s.refresh(&narrow.refresh_token(), None).await;
    assert_eq!(back.json["scope"], "orders:read profile");
}

/// A refresh token's times as stored: on its family item, which holds its live token (`live`:
/// its issue and end; the family's own end is `expires_at`). Every token the served function
/// issues now has that shape; it has no record of its own.
#[derive(Debug)]
struct Times {
    issued_at: u64,
    expires_at: u64,
    family_expires_at: u64,
}

async fn family_item(served: &Served, token: &str) -> HashMap<String, AttributeValue> {
    let family_id = parts(token).expect("a token of the shape issued now").0;
    stored_item(
        &dynamo().await,
        &served.tokens_table,
        &family_key(family_id),
    )
    .await
}

async fn token_times(served: &Served, token: &str) -> Times {
    let family = family_item(served, token).await;
    let live = family["live"].as_m().unwrap();
    assert_eq!(
        family["current_token"].as_s().unwrap(),
        &Secret::new(token.to_owned()).hash(),
        "the family's live token"
    );
    let num = |v: &AttributeValue| v.as_n().unwrap().parse().unwrap();
    Times {
        issued_at: num(&live["issued_at"]),
        expires_at: num(&live["expires_at"]),
        family_expires_at: num(&family["expires_at"]),
    }
}

/// Which end of a refresh token [`expire`] moves.
enum End {
    Token,
    Family,
}

/// Moves a stored end of a refresh token (its own, or its family's) to its issue time: the
/// clock has run out, without a test waiting for a real second to pass.
async fn expire(served: &Served, token: &str, end: End) {
    let family = family_item(served, token).await;
    let issued = family["live"].as_m().unwrap()["issued_at"].clone();
    let set = match end {
        End::Token => "SET live.expires_at = :t",
        End::Family => "SET expires_at = :t",
    };
    dynamo()
        .await
        .update_item()
        .table_name(&served.tokens_table)
        .key("pk", family["pk"].clone())
        .update_expression(set)
        .expression_attribute_values(":t", issued)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn expired_refresh_token_is_invalid_grant() {
    let s = Session::new(ClientSpec {
        refresh_token_ttl: Some(1),
        ..ClientSpec::default()
    })
    .await;
    let first = s.login(None).await;
    let item = token_times(&s.served, &first.refresh_token()).await;
    assert_eq!(
        item.expires_at - item.issued_at,
        1,
        "the client's refresh_token_ttl is applied: {item:?}"
    );
    // Whole seconds: a token issued at second t with a 1 s lifetime is dead from t + 1; moving
    // its end to t stands in for that second passing.
    expire(&s.served, &first.refresh_token(), End::Token).await;
    s.refresh(&first.refresh_token(), None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn family_lifetime_bounds_every_successor() {
    let s = Session::new(ClientSpec {
        refresh_token_ttl: Some(600),
        refresh_family_ttl: Some(300),
        ..ClientSpec::default()
    })
    .await;
    let first = s.login(None).await;
    let item = token_times(&s.served, &first.refresh_token()).await;
    let family_end = item.family_expires_at;
    assert_eq!(family_end - item.issued_at, 300, "{item:?}");
    assert_eq!(item.expires_at, family_end, "no token outlives its family");
    let second = s.refresh(&first.refresh_token(), None).await;
    assert_eq!(second.status, 200, "{second:?}");
    let item = token_times(&s.served, &second.refresh_token()).await;
    assert_eq!(
        item.family_expires_at, family_end,
        "a successor keeps the family's end"
    );
    assert_eq!(item.expires_at, family_end, "{item:?}");
    // The family's time runs out while the successor's own lifetime has not.
    expire(&s.served, &second.refresh_token(), End::Family).await;
    s.refresh(&second.refresh_token(), None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn missing_refresh_token_is_invalid_request() {
    let s = Session::new(ClientSpec::default()).await;
    let a = post_token(
        &s.served.token_url(),
        Some((&s.id, &s.secret)),
        &[("grant_type", "refresh_token")],
    )
    .await;
    a.assert_error(400, "invalid_request");
    s.refresh("not-a-token-we-issued", None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn revoke_then_refresh_fails() {
    for t in Transport::ALL {
        let s = Session::over(ClientSpec::default(), t).await;
        let first = s.login(None).await;
        let second = s.refresh(&first.refresh_token(), None).await;
        // Revoking any token of the family revokes all of it, whatever the hint says.
        let r = s
            .revoke(&second.refresh_token(), Some("access_token"))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        r.assert_no_store();
        s.refresh(&second.refresh_token(), None)
            .await
            .assert_error(400, "invalid_grant");
    }
}

#[tokio::test]
async fn revoke_of_an_unknown_or_already_revoked_token_answers_200() {
    let s = Session::new(ClientSpec::default()).await;
    assert_eq!(
        s.revoke("never-issued", Some("refresh_token")).await.status,
        200
    );
    let first = s.login(None).await;
    assert_eq!(s.revoke(&first.refresh_token(), None).await.status, 200);
    assert_eq!(s.revoke(&first.refresh_token(), None).await.status, 200);
    // An access token is accepted too; it stays valid until it expires (documented).
    assert_eq!(
        s.revoke(
            first.json["access_token"].as_str().unwrap(),
            Some("access_token")
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn revoke_of_another_clients_token_answers_200_and_revokes_nothing() {
    let owner = Session::new(ClientSpec::default()).await;
    let other = Session::new(ClientSpec::default()).await;
    let first = owner.login(None).await;
    assert_eq!(other.revoke(&first.refresh_token(), None).await.status, 200);
    assert_eq!(
        owner.refresh(&first.refresh_token(), None).await.status,
        200
    );
}

#[tokio::test]
async fn revoke_without_client_authentication_is_401() {
    for t in Transport::ALL {
        let s = Session::over(ClientSpec::default(), t).await;
        let first = s.login(None).await;
        let token = [("token", first.refresh_token())];
        let token: Vec<(&str, &str)> = token.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let a = t.post_form(&s.served, "/revoke", None, &token).await;
        a.assert_error(401, "invalid_client");
        let wrong = Some((s.id.as_str(), "wrong"));
        let a = t.post_form(&s.served, "/revoke", wrong, &token).await;
        a.assert_error(401, "invalid_client");
        assert_eq!(
            s.refresh(&first.refresh_token(), None).await.status,
            200,
            "nothing was revoked"
        );
        let a = t.post_form(&s.served, "/revoke", s.basic(), &[]).await;
        a.assert_error(400, "invalid_request");
    }
}

/// 32 simultaneous refreshes of one token through the real DynamoDB adapter, on 8 threads and
/// released together by a barrier: exactly one succeeds, every other one is `invalid_grant`
/// (a conflict is a lost race, never an outage), the old token is always retired, the family's
/// current token is the winner's, and the losers' reuse detection revoked the family.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_refreshes_of_one_token_give_exactly_one_success() {
    const N: usize = 32;
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let (id, secret) = ClientSpec::default().create(&db, &t.clients).await;
    let service = Arc::new(dynamo_service(&db, &t, alice_only()));
    let request = |params: &[(&str, &str)]| {
        TokenRequest::new(
            Some(ClientCredentials {
                client_id: id.clone(),
                secret: Some(Secret::new(secret.clone())),
            }),
            params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        )
    };
    let first = service
        .token(&request(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "pw"),
        ]))
        .await
        .unwrap();
    let presented = first.refresh_token.unwrap().expose().to_owned();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let (service, barrier, r) = (
                service.clone(),
                barrier.clone(),
                request(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &presented),
                ]),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                service.token(&r).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(resp) => winners.push(resp.refresh_token.unwrap()),
            Err(e) => assert_eq!(
                e.code,
                tollgate_oauth::ErrorCode::InvalidGrant,
                "every loser is invalid_grant: {e:?}"
            ),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of {N} refreshes succeeds");
    assert_eq!(
        parts(winners[0].expose()),
        parts(&presented),
        "the successor names the same family, with the same tag"
    );
    let winner = winners[0].hash();

    // Read the table: the old token is retired (its family records it), the winner's
    // successor is the family's current token, and the losers revoked the family.
    let item = |pk: String| {
        let (db, table) = (db.clone(), t.tokens.clone());
        async move { stored_item(&db, &table, &pk).await }
    };
    let old_hash = Secret::new(presented.clone()).hash();
    let family_id = parts(&presented)
        .expect("the shape issued now")
        .0
        .to_owned();
    let family = item(family_key(&family_id)).await;
    let retired = family["retired"].as_m().unwrap();
    assert_eq!(
        retired["token_hash"].as_s().unwrap(),
        &old_hash,
        "{family:?}"
    );
    assert_eq!(retired["successor_hash"].as_s().unwrap(), &winner);
    assert_eq!(family["current_token"].as_s().unwrap(), &winner);
    assert_eq!(
        family["status"].as_s().unwrap(),
        "revoked",
        "a loser presented a retired token: reuse revokes the family"
    );
    let items = db
        .scan()
        .table_name(&t.tokens)
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let tokens = items
        .items()
        .iter()
        .filter(|i| i["kind"].as_s().unwrap() == "token")
        .count();
    assert_eq!(
        tokens, 0,
        "the family holds the old token and its one successor: no records, none for the losers"
    );
}
