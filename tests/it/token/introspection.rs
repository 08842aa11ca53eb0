//! `POST /introspect` (RFC 7662) over HTTP through `cargo lambda watch`, on DynamoDB Local:
//! who may see which token, what an active answer carries, and the refusals.

use serde_json::json;
use tollgate_tests::{Served, TestClient, http, jwt_claims, send};

#[tokio::test]
async fn introspection_answers_per_the_callers_permission() {
    let served = Served::from_env();
    let (owner, other, rs) = (
        TestClient::new(&served).await,
        TestClient::new(&served).await,
        TestClient::resource_server(&served).await,
    );
    let (access, refresh) = owner.login(&served, "demo", "demo-password").await;
    let c = jwt_claims(&access);
    let expected = json!({
        "active": true, "scope": "profile", "client_id": owner.id, "sub": "user-0001",
        "exp": c["exp"], "iat": c["iat"], "token_type": "Bearer", "iss": served.issuer,
        "aud": served.audience, "jti": c["jti"], "sid": c["sid"],
    });
    assert!(c["sid"].as_str().is_some_and(|s| s.len() >= 20), "{c}");
    for caller in [&owner, &rs] {
        let a = served
            .introspect(caller.basic(), &[("token", &access)])
            .await;
        assert_eq!((a.status, a.json.clone()), (200, expected.clone()), "{a:?}");
        a.assert_no_store();
        let hinted = served
            .introspect(
                caller.basic(),
                &[("token", &access), ("token_type_hint", "refresh_token")],
            )
            .await;
        assert_eq!(hinted.json, expected, "a wrong hint hides nothing");
    }
    let seen = served.introspect(rs.basic(), &[("token", &refresh)]).await;
    assert_eq!(
        (
            seen.json["active"].clone(),
            seen.json["sid"].clone(),
            seen.json["client_id"].clone()
        ),
        (json!(true), c["sid"].clone(), json!(owner.id))
    );
    assert!(seen.json.get("token_type").is_none() && seen.json.get("jti").is_none());
    for token in [&access, &refresh] {
        let a = served.introspect(other.basic(), &[("token", token)]).await;
        assert_eq!((a.status, a.json.clone()), (200, json!({"active": false})));
    }
}

/// A token is active only while the client it was issued to stands: a disabled client's
/// tokens read inactive to a resource server, on the DynamoDB adapter.
#[tokio::test]
async fn a_disabled_clients_tokens_are_inactive() {
    use tollgate_service::client::{ClientStore, ClientUpdate};
    let served = Served::from_env();
    let (owner, rs) = (
        TestClient::new(&served).await,
        TestClient::resource_server(&served).await,
    );
    let (access, refresh) = owner.login(&served, "demo", "demo-password").await;
    for token in [&access, &refresh] {
        let a = served.introspect(rs.basic(), &[("token", token)]).await;
        assert_eq!(a.json["active"], json!(true), "{a:?}");
    }
    let store = tollgate_service::store::dynamo::DynamoClientStore::new(
        tollgate_tests::dynamo().await,
        &served.clients_table,
    );
    let disable = ClientUpdate {
        enabled: Some(false),
        ..ClientUpdate::default()
    };
    store.update(&owner.id, &disable).await.unwrap();
    for token in [&access, &refresh] {
        let a = served.introspect(rs.basic(), &[("token", token)]).await;
        assert_eq!((a.status, a.json.clone()), (200, json!({"active": false})));
    }
}

#[tokio::test]
async fn a_rotated_refresh_token_is_inactive_and_a_machine_token_has_no_session() {
    let served = Served::from_env();
    let (owner, rs) = (
        TestClient::new(&served).await,
        TestClient::resource_server(&served).await,
    );
    let (_, refresh) = owner.login(&served, "demo", "demo-password").await;
    let next = owner.refresh(&served, &refresh).await;
    let next = next.json["refresh_token"].as_str().unwrap().to_owned();
    let old = served
        .introspect(owner.basic(), &[("token", &refresh)])
        .await;
    assert_eq!(old.json, json!({"active": false}));
    let new = served.introspect(owner.basic(), &[("token", &next)]).await;
    assert_eq!(new.json["active"], true);
    // A machine token has no session; it is active for its own client.
    let machine = tollgate_tests::post_token(
        &served.token_url(),
        rs.basic(),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let machine = machine.json["access_token"].as_str().unwrap().to_owned();
    let m = served.introspect(rs.basic(), &[("token", &machine)]).await;
    assert_eq!(
        (m.json["active"].clone(), m.json["sub"].clone()),
        (json!(true), json!(rs.id))
    );
    assert!(m.json.get("sid").is_none());
    let hidden = served
        .introspect(owner.basic(), &[("token", &machine)])
        .await;
    assert_eq!(hidden.json, json!({"active": false}));
}

#[tokio::test]
async fn introspection_refuses_like_the_token_endpoint() {
    let served = Served::from_env();
    let owner = TestClient::new(&served).await;
    let (access, _) = owner.login(&served, "demo", "demo-password").await;
    let tampered = format!("{access}x");
    for token in [tampered.as_str(), "not-a-token", "a.b.c"] {
        let a = served.introspect(owner.basic(), &[("token", token)]).await;
        assert_eq!(
            (a.status, a.json.clone()),
            (200, json!({"active": false})),
            "{token}"
        );
    }
    served
        .introspect(owner.basic(), &[])
        .await
        .assert_error(400, "invalid_request");
    let wrong = served
        .introspect(Some((&owner.id, "wrong")), &[("token", &access)])
        .await;
    wrong.assert_error(401, "invalid_client");
    assert!(
        wrong
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic"))
    );
    served
        .introspect(None, &[("token", &access)])
        .await
        .assert_error(401, "invalid_client");
    let body_creds = served
        .introspect(
            None,
            &[
                ("token", &access),
                ("client_id", &owner.id),
                ("client_secret", &owner.secret),
            ],
        )
        .await;
    assert_eq!(body_creds.json["active"], true, "{body_creds:?}");
    let twice = served
        .introspect(owner.basic(), &[("token", &access), ("token", "other")])
        .await;
    twice.assert_error(400, "invalid_request");
    let json_body = send(
        http()
            .post(served.introspect_url())
            .header("content-type", "application/json")
            .body(json!({"token": access}).to_string()),
    )
    .await;
    json_body.assert_error(400, "invalid_request");
    let get = send(http().get(served.introspect_url())).await;
    assert_eq!(
        (get.status, get.header("allow")),
        (405, Some("POST")),
        "{get:?}"
    );
}

#[tokio::test]
async fn metadata_advertises_the_introspection_endpoint() {
    let served = Served::from_env();
    let m = send(http().get(format!(
        "{}/.well-known/oauth-authorization-server",
        served.base
    )))
    .await;
    assert_eq!(m.json["introspection_endpoint"], served.introspect_url());
    assert_eq!(
        m.json["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
}
