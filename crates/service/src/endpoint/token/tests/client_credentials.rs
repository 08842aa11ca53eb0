//! The client-credentials grant (RFC 6749 §4.4) against the in-memory adapters.

use super::*;

fn cc(scope: Option<&str>) -> Vec<(&'static str, &str)> {
    let mut p = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        p.push(("scope", s));
    }
    p
}

/// The payload of a JWT the fixture signed (its signature is checked by the access-token tests
/// and, end to end, by the authorizer's).
fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_machine_client_gets_an_access_token_for_itself_and_no_refresh_token() {
    let f = fixture().await;
    let resp = f.service.token(&req("svc", "svc-secret", &cc(None))).await;
    let resp = resp.unwrap();
    assert!(resp.refresh_token.is_none());
    assert_eq!(resp.scope.to_string(), "read");
    assert_eq!(resp.expires_in, 900);
    let c = claims(&resp.access_token);
    assert_eq!(c["sub"], "svc");
    assert_eq!(c["client_id"], "svc");
    assert_eq!(c["scope"], "read");
    assert_eq!(c["iat"], 1_000_000);
    assert_eq!(c["exp"], 1_000_900);
    let names: Vec<&String> = c.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "aud",
            "auth_time",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "scope",
            "sub"
        ],
        "no user claims"
    );
    assert!(
        f.refresh.tokens.lock().unwrap().is_empty(),
        "nothing stored"
    );
    assert_eq!(f.verifier.calls(), 0, "no user, so no auth endpoint call");
}

#[tokio::test]
async fn machine_scopes_follow_the_same_rules_as_user_scopes() {
    let f = fixture().await;
    let get = async |scope| {
        f.service
            .token(&req("svc", "svc-secret", &cc(Some(scope))))
            .await
    };
    assert_eq!(
        get("write read").await.unwrap().scope.to_string(),
        "read write"
    );
    assert_eq!(get("write").await.unwrap().scope.to_string(), "write");
    for bad in ["admin", "read admin", "r\"ead"] {
        assert_eq!(
            get(bad).await.unwrap_err().code,
            ErrorCode::InvalidScope,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn only_clients_allowed_the_grant_may_use_it_and_only_with_their_secret() {
    let f = fixture().await;
    assert_eq!(
        code(&f, req("app", "app-secret", &cc(None))).await,
        Some(ErrorCode::UnauthorizedClient),
        "a user client may not act as itself"
    );
    assert_eq!(
        code(&f, req("svc", "wrong", &cc(None))).await,
        Some(ErrorCode::InvalidClient)
    );
    let no_creds = TokenRequest::new(
        None,
        [("grant_type".to_owned(), "client_credentials".to_owned())].into(),
    );
    assert_eq!(code(&f, no_creds).await, Some(ErrorCode::InvalidClient));
    let p = password("alice", "pw");
    assert_eq!(
        code(&f, req("svc", "svc-secret", &to_params(&p))).await,
        Some(ErrorCode::UnauthorizedClient),
        "a machine client may not sign users in"
    );
    assert_eq!(f.verifier.calls(), 0);
}

#[tokio::test]
async fn a_record_mixing_machine_and_user_grants_gets_no_machine_token() {
    // The admin CLI never writes such a record; one written by hand is still refused.
    let f = fixture().await;
    let mixed = client::Client {
        grant_types: vec![GrantType::Password, GrantType::ClientCredentials],
        allowed_scopes: Scopes::parse("read").unwrap(),
        ..client::Client::for_tests("mixed", "mixed-secret")
    };
    f.service.clients.create(&mixed).await.unwrap();
    assert_eq!(
        code(&f, req("mixed", "mixed-secret", &cc(None))).await,
        Some(ErrorCode::UnauthorizedClient)
    );
}

#[test]
fn the_grant_is_served_and_named_in_the_one_list() {
    assert!(GrantType::ALL.contains(&GrantType::ClientCredentials));
    assert_eq!(
        GrantType::parse("client_credentials"),
        Some(GrantType::ClientCredentials)
    );
    assert!(!GrantType::DEFAULT.contains(&GrantType::ClientCredentials));
}
