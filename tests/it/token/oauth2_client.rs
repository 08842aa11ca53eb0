//! A real OAuth client library that no one here wrote gets a token: the `oauth2` crate's
//! resource-owner password exchange, with both of its client authentication styles, and its
//! client-credentials exchange; and a resource server's introspection (RFC 7662) with it.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, ClientSecret, HttpRequest, HttpResponse, IntrospectionUrl,
    ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenIntrospectionResponse, TokenResponse,
    TokenUrl,
};
use tollgate_tests::{ClientSpec, Served, TestClient, dynamo, http};

/// oauth2 5 takes any async function from `http::Request` to `http::Response` as its client.
async fn send(req: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let (parts, body) = req.into_parts();
    let resp = http()
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut out = http::Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        out = out.header(k, v);
    }
    let body = resp.bytes().await?.to_vec();
    Ok(out
        .body(body)
        .expect("response parts come from a valid response"))
}

async fn exchange(auth: AuthType) {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let client = BasicClient::new(ClientId::new(id.clone()))
        .set_client_secret(ClientSecret::new(secret))
        .set_auth_type(auth)
        .set_token_uri(TokenUrl::new(served.token_url()).unwrap());
    let token = client
        .exchange_password(
            &ResourceOwnerUsername::new("demo".into()),
            &ResourceOwnerPassword::new("demo-password".into()),
        )
        .add_scope(Scope::new("orders:read".into()))
        .request_async(&send)
        .await
        .unwrap_or_else(|e| panic!("oauth2 password exchange failed: {e:?}"));
    assert!(!token.access_token().secret().is_empty());
    assert!(token.refresh_token().is_some());
    assert_eq!(token.expires_in().map(|d| d.as_secs()), Some(900));
    let scopes: Vec<_> = token
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["orders:read"]);
    let claims = served.verify(token.access_token().secret()).await;
    assert_eq!(claims["client_id"], id.as_str());
}

#[tokio::test]
async fn the_oauth2_crate_gets_a_token_by_password_with_basic_auth() {
    exchange(AuthType::BasicAuth).await;
}

#[tokio::test]
async fn the_oauth2_crate_gets_a_token_by_password_with_body_credentials() {
    exchange(AuthType::RequestBody).await;
}

#[tokio::test]
async fn oauth2_crate_refresh_exchange_rotates() {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let client = BasicClient::new(ClientId::new(id))
        .set_client_secret(ClientSecret::new(secret))
        .set_token_uri(TokenUrl::new(served.token_url()).unwrap());
    let first = client
        .exchange_password(
            &ResourceOwnerUsername::new("demo".into()),
            &ResourceOwnerPassword::new("demo-password".into()),
        )
        .request_async(&send)
        .await
        .unwrap();
    let old = first.refresh_token().unwrap().clone();
    let second = client
        .exchange_refresh_token(&old)
        .request_async(&send)
        .await
        .unwrap_or_else(|e| panic!("oauth2 refresh exchange failed: {e:?}"));
    let new = second.refresh_token().expect("a rotated refresh token");
    assert_ne!(new.secret(), old.secret());
    assert!(!second.access_token().secret().is_empty());
    let reuse = client
        .exchange_refresh_token(&old)
        .request_async(&send)
        .await;
    match reuse {
        Err(oauth2::RequestTokenError::ServerResponse(r)) => {
            assert_eq!(
                r.error(),
                &oauth2::basic::BasicErrorResponseType::InvalidGrant
            )
        }
        other => panic!("reusing a rotated token must be invalid_grant, got {other:?}"),
    }
}

#[tokio::test]
async fn the_oauth2_crate_gets_a_machine_token_by_client_credentials() {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::machine()
        .create(&dynamo().await, &served.clients_table)
        .await;
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(ClientId::new(id.clone()))
            .set_client_secret(ClientSecret::new(secret.clone()))
            .set_auth_type(auth.clone())
            .set_token_uri(TokenUrl::new(served.token_url()).unwrap());
        let token = client
            .exchange_client_credentials()
            .add_scope(Scope::new("orders:write".into()))
            .request_async(&send)
            .await
            .unwrap_or_else(|e| panic!("oauth2 client_credentials ({auth:?}) failed: {e:?}"));
        assert!(token.refresh_token().is_none(), "RFC 6749 §4.4.3");
        assert_eq!(token.expires_in().map(|d| d.as_secs()), Some(900));
        let scopes: Vec<_> = token
            .scopes()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(scopes, ["orders:write"]);
        let claims = served.verify(token.access_token().secret()).await;
        assert_eq!(claims["sub"], id.as_str());
        assert_eq!(claims["client_id"], id.as_str());
    }
    let wrong = BasicClient::new(ClientId::new(id))
        .set_client_secret(ClientSecret::new("not-the-secret".into()))
        .set_token_uri(TokenUrl::new(served.token_url()).unwrap());
    match wrong
        .exchange_client_credentials()
        .request_async(&send)
        .await
    {
        Err(oauth2::RequestTokenError::ServerResponse(r)) => assert_eq!(
            r.error(),
            &oauth2::basic::BasicErrorResponseType::InvalidClient
        ),
        other => panic!("a wrong secret must be invalid_client, got {other:?}"),
    }
}

/// A resource server (a client whose record grants introspection) asks about a user's access
/// token with the `oauth2` crate's `introspect`: active with its claims, then inactive once the
/// user's sessions with that app are revoked; the app itself sees its own token the same way.
#[tokio::test]
async fn oauth2_crate_introspects_and_sees_a_revoked_session_inactive() {
    let served = Served::from_env();
    let app = TestClient::new(&served).await;
    let rs = TestClient::resource_server(&served).await;
    let url = IntrospectionUrl::new(served.introspect_url()).unwrap();
    let user_client = BasicClient::new(ClientId::new(app.id.clone()))
        .set_client_secret(ClientSecret::new(app.secret.clone()))
        .set_token_uri(TokenUrl::new(served.token_url()).unwrap())
        .set_introspection_url(url.clone());
    let token = user_client
        .exchange_password(
            &ResourceOwnerUsername::new("demo".into()),
            &ResourceOwnerPassword::new("demo-password".into()),
        )
        .request_async(&send)
        .await
        .unwrap();
    let access = token.access_token();
    let resource_server = BasicClient::new(ClientId::new(rs.id.clone()))
        .set_client_secret(ClientSecret::new(rs.secret.clone()))
        .set_introspection_url(url);
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let answer = resource_server
            .clone()
            .set_auth_type(auth.clone())
            .introspect(access)
            .set_token_type_hint("access_token")
            .request_async(&send)
            .await
            .unwrap_or_else(|e| panic!("oauth2 introspect ({auth:?}) failed: {e:?}"));
        assert_active_for(&answer, &app.id, &served);
    }
    let own = user_client
        .introspect(access)
        .request_async(&send)
        .await
        .unwrap();
    assert!(own.active());

    let body = serde_json::json!({"sub": "user-0001", "client_id": app.id});
    let r = served.revoke_sessions(&body).await;
    assert_eq!(r.json["sessions_revoked"], 1, "{r:?}");
    let after = resource_server
        .introspect(access)
        .request_async(&send)
        .await
        .unwrap();
    assert!(!after.active());
    assert_eq!(
        (after.sub(), after.client_id()),
        (None, None),
        "inactive says nothing more"
    );
}

/// What an active answer about demo's access token says, as the `oauth2` crate reads it.
fn assert_active_for(
    answer: &oauth2::basic::BasicTokenIntrospectionResponse,
    client_id: &str,
    served: &Served,
) {
    assert!(answer.active());
    assert_eq!(answer.client_id().map(|c| c.as_str()), Some(client_id));
    assert_eq!(answer.sub(), Some("user-0001"));
    assert_eq!(answer.iss(), Some(served.issuer.as_str()));
    assert_eq!(answer.aud(), Some(&vec![served.audience.clone()]));
    assert_eq!(
        answer.token_type(),
        Some(&oauth2::basic::BasicTokenType::Bearer)
    );
    let scopes: Vec<String> = answer
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["profile"]);
    assert!(answer.exp().unwrap() > answer.iat().unwrap());
    assert!(answer.jti().is_some_and(|j| !j.is_empty()));
}
