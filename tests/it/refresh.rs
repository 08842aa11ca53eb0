//! The refresh grant and `/revoke` over HTTP (RFC 6749 §6, RFC 7009, RFC 9700 §4.14.2), and the
//! rotation's atomicity against DynamoDB Local.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use tollgate_common::access_token::AccessTokenIssuer;
use tollgate_common::client::{ClientCredentials, GrantType};
use tollgate_common::clock::SystemClock;
use tollgate_common::grant::{GrantPolicy, TokenRequest, TokenService};
use tollgate_common::keys::{SigningAlg, SigningKey, generate_pem};
use tollgate_common::lockout::LockoutPolicy;
use tollgate_common::secret::Secret;
use tollgate_common::store::dynamo::{
    DynamoClientStore, DynamoLockoutStore, DynamoRefreshStore, family_key, token_key,
};
use tollgate_common::store::memory::MemoryVerifier;
use tollgate_tests::{Answer, ClientSpec, Served, create_tables, dynamo, post_token};

struct Session {
    served: Served,
    id: String,
    secret: String,
}

impl Session {
    async fn new(spec: ClientSpec) -> Self {
        let served = Served::from_env();
        let (id, secret) = spec.create(&dynamo().await, &served.clients_table).await;
        Self { served, id, secret }
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
        let a = post_token(&self.served.token_url(), Some((&self.id, &self.secret)), &p).await;
        assert_eq!(a.status, 200, "{a:?}");
        a
    }

    async fn refresh(&self, token: &str, scope: Option<&str>) -> Answer {
        let mut p = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        if let Some(s) = scope {
            p.push(("scope", s));
        }
        post_token(&self.served.token_url(), Some((&self.id, &self.secret)), &p).await
    }

    async fn revoke(&self, token: &str, hint: Option<&str>) -> Answer {
        let mut p = vec![("token", token)];
        if let Some(h) = hint {
            p.push(("token_type_hint", h));
        }
        post_token(
            &self.served.revoke_url(),
            Some((&self.id, &self.secret)),
            &p,
        )
        .await
    }
}

fn rt(a: &Answer) -> String {
    a.json["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn rotation_returns_a_new_token_and_the_old_one_fails() {
    let s = Session::new(ClientSpec::default()).await;
    let first = s.login(None).await;
    let second = s.refresh(&rt(&first), None).await;
    assert_eq!(second.status, 200, "{second:?}");
    second.assert_no_store();
    assert_ne!(rt(&first), rt(&second));
    assert_eq!(second.json["token_type"], "Bearer");
    assert_eq!(second.json["scope"], "profile");
    let claims =
        crate::token_endpoint::verify(&s.served, second.json["access_token"].as_str().unwrap())
            .await;
    assert_eq!(claims["sub"], "user-0001");
    assert_eq!(
        claims["email"], "demo@example.com",
        "the same user details as the original grant"
    );
    s.refresh(&rt(&first), None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn reuse_revokes_the_newest_token_of_the_family_too() {
    let s = Session::new(ClientSpec::default()).await;
    let first = s.login(None).await;
    let second = s.refresh(&rt(&first), None).await;
    let third = s.refresh(&rt(&second), None).await;
    assert_eq!(third.status, 200);
    s.refresh(&rt(&first), None)
        .await
        .assert_error(400, "invalid_grant");
    s.refresh(&rt(&third), None)
        .await
        .assert_error(400, "invalid_grant");
    // Another login is another family, untouched.
    let other = s.login(None).await;
    assert_eq!(s.refresh(&rt(&other), None).await.status, 200);
}

#[tokio::test]
async fn refresh_token_of_another_client_is_invalid_grant() {
    let owner = Session::new(ClientSpec::default()).await;
    let thief = Session::new(ClientSpec::default()).await;
    let first = owner.login(None).await;
    thief
        .refresh(&rt(&first), None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        owner.refresh(&rt(&first), None).await.status,
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
    s.refresh(&rt(&first), None)
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
    s.refresh(&rt(&first), None)
        .await
        .assert_error(400, "unauthorized_client");
}

#[tokio::test]
async fn widened_scope_is_invalid_scope() {
    let s = Session::new(ClientSpec::default()).await;
    let first = s.login(Some("profile")).await;
    s.refresh(&rt(&first), Some("profile orders:write"))
        .await
        .assert_error(400, "invalid_scope");
}

#[tokio::test]
async fn narrowed_scope_is_granted_and_the_successor_keeps_the_original() {
    let s = Session::new(ClientSpec::default()).await;
    let first = s.login(Some("profile orders:read")).await;
    let narrow = s.refresh(&rt(&first), Some("orders:read")).await;
    assert_eq!(narrow.status, 200, "{narrow:?}");
    assert_eq!(narrow.json["scope"], "orders:read");
    let claims =
        crate::token_endpoint::verify(&s.served, narrow.json["access_token"].as_str().unwrap())
            .await;
    assert_eq!(claims["scope"], "orders:read");
    let back = s.refresh(&rt(&narrow), None).await;
    assert_eq!(back.json["scope"], "orders:read profile");
}

#[tokio::test]
async fn expired_refresh_token_is_invalid_grant() {
    let s = Session::new(ClientSpec {
        refresh_token_ttl: Some(1),
        ..ClientSpec::default()
    })
    .await;
    let first = s.login(None).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    s.refresh(&rt(&first), None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn family_lifetime_bounds_every_successor() {
    let s = Session::new(ClientSpec {
        refresh_token_ttl: Some(60),
        refresh_family_ttl: Some(3),
        ..ClientSpec::default()
    })
    .await;
    let first = s.login(None).await;
    let second = s.refresh(&rt(&first), None).await;
    assert_eq!(second.status, 200, "{second:?}");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    s.refresh(&rt(&second), None)
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
    let s = Session::new(ClientSpec::default()).await;
    let first = s.login(None).await;
    let second = s.refresh(&rt(&first), None).await;
    // Revoking any token of the family revokes all of it, whatever the hint says.
    let r = s.revoke(&rt(&second), Some("access_token")).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.assert_no_store();
    s.refresh(&rt(&second), None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn revoke_of_an_unknown_or_already_revoked_token_answers_200() {
    let s = Session::new(ClientSpec::default()).await;
    assert_eq!(
        s.revoke("never-issued", Some("refresh_token")).await.status,
        200
    );
    let first = s.login(None).await;
    assert_eq!(s.revoke(&rt(&first), None).await.status, 200);
    assert_eq!(s.revoke(&rt(&first), None).await.status, 200);
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
    assert_eq!(other.revoke(&rt(&first), None).await.status, 200);
    assert_eq!(owner.refresh(&rt(&first), None).await.status, 200);
}

#[tokio::test]
async fn revoke_without_client_authentication_is_401() {
    let s = Session::new(ClientSpec::default()).await;
    let first = s.login(None).await;
    let a = post_token(&s.served.revoke_url(), None, &[("token", &rt(&first))]).await;
    a.assert_error(401, "invalid_client");
    let a = post_token(
        &s.served.revoke_url(),
        Some((&s.id, "wrong")),
        &[("token", &rt(&first))],
    )
    .await;
    a.assert_error(401, "invalid_client");
    assert_eq!(
        s.refresh(&rt(&first), None).await.status,
        200,
        "nothing was revoked"
    );
    let a = post_token(&s.served.revoke_url(), Some((&s.id, &s.secret)), &[]).await;
    a.assert_error(400, "invalid_request");
}

/// 32 simultaneous refreshes of one token through the real DynamoDB adapter: at most one
/// succeeds, and the table is left consistent: never two live tokens in the family.
#[tokio::test]
async fn concurrent_refreshes_of_one_token_give_at_most_one_success() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let (id, secret) = ClientSpec::default().create(&db, &t.clients).await;
    let key = SigningKey::from_pem(
        &generate_pem(SigningAlg::Es256).unwrap(),
        SigningAlg::Es256,
        None,
    )
    .unwrap();
    let user = tollgate_common::password::VerifiedUser {
        sub: "u1".into(),
        details: Default::default(),
    };
    let service = Arc::new(TokenService {
        clients: Arc::new(DynamoClientStore::new(db.clone(), &t.clients)),
        refresh: Arc::new(DynamoRefreshStore::new(db.clone(), &t.tokens)),
        lockout: Arc::new(DynamoLockoutStore::new(db.clone(), &t.lockouts)),
        verifier: Arc::new(MemoryVerifier::default().with_user("alice", "pw", user)),
        issuer: AccessTokenIssuer::new("iss".into(), "aud".into(), Arc::new(key)),
        policy: GrantPolicy {
            access_token_ttl: 60,
            refresh_token_ttl: 600,
            refresh_family_ttl: 3600,
            lockout: LockoutPolicy {
                max_failures: 5,
                window_secs: 60,
                lockout_secs: 60,
            },
            user_claims: vec![],
        },
        clock: Arc::new(SystemClock),
        secrets: Default::default(),
    });
    let request = |params: &[(&str, &str)]| TokenRequest {
        credentials: Some(ClientCredentials {
            client_id: id.clone(),
            secret: Secret::new(secret.clone()),
            via_basic: true,
        }),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
    };
    let first = service
        .token(&request(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "pw"),
        ]))
        .await
        .unwrap();
    let presented = first.refresh_token.expose().to_owned();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (service, r) = (
                service.clone(),
                request(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &presented),
                ]),
            );
            tokio::spawn(async move { service.token(&r).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(resp) => winners.push(resp.refresh_token),
            Err(e) => assert!(
                e.code == tollgate_common::ErrorCode::InvalidGrant
                    || e.code == tollgate_common::ErrorCode::TemporarilyUnavailable,
                "{e:?}"
            ),
        }
    }
    assert!(
        winners.len() <= 1,
        "{} refreshes of one token succeeded",
        winners.len()
    );

    // Read the table: the old token is retired, and at most one token of the family is live.
    let old = db
        .get_item()
        .table_name(&t.tokens)
        .key(
            "pk",
            AttributeValue::S(token_key(&Secret::new(presented).hash())),
        )
        .send()
        .await
        .unwrap();
    let old = old.item.unwrap();
    let family_id = old["family_id"].as_s().unwrap().clone();
    let family = db
        .get_item()
        .table_name(&t.tokens)
        .key("pk", AttributeValue::S(family_key(&family_id)))
        .send()
        .await
        .unwrap();
    let family = family.item.unwrap();
    let family_active = family["status"].as_s().unwrap() == "active";
    let current = family["current_token"].as_s().unwrap().clone();
    let items = db.scan().table_name(&t.tokens).send().await.unwrap();
    let tokens: Vec<_> = items
        .items()
        .iter()
        .filter(|i| i["kind"].as_s().unwrap() == "token")
        .collect();
    assert_eq!(
        tokens.len(),
        1 + winners.len(),
        "one successor per success, none for the losers"
    );
    let live: Vec<_> = tokens
        .iter()
        .filter(|i| {
            family_active
                && i["status"].as_s().unwrap() == "active"
                && i["pk"].as_s().unwrap() == &token_key(&current)
        })
        .collect();
    assert!(live.len() <= 1);
    match winners.first() {
        Some(w) if family_active => {
            assert_eq!(current, w.hash(), "the family's live token is the winner's");
            assert_eq!(old["status"].as_s().unwrap(), "rotated");
        }
        _ => assert!(
            live.is_empty(),
            "no success or a revoked family: nothing is live"
        ),
    }
}
