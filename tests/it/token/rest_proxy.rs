//! The token function's main flows in every event shape it can get (`Transport::ALL`): through
//! `cargo lambda watch`'s function-URL path, and as REST API `aws_proxy` (payload 1.0) events
//! with the stage in `requestContext.path` through the Lambda Invoke API, the production shape,
//! with a plain and a base64-encoded body. One test body per flow, run in each shape.

use serde_json::json;
use tollgate_tests::{ClientSpec, Served, Transport, dynamo};

const DEMO: [(&str, &str); 3] = [
    ("grant_type", "password"),
    ("username", "demo"),
    ("password", "demo-password"),
];

#[tokio::test]
async fn password_refresh_and_revoke_in_every_event_shape() {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let basic = Some((id.as_str(), secret.as_str()));
    for t in Transport::ALL {
        let a = t.post_form(&served, "/token", basic, &DEMO).await;
        assert_eq!(a.status, 200, "{t:?}: {a:?}");
        a.assert_no_store();
        assert_eq!(a.header("content-type"), Some("application/json"), "{t:?}");
        assert_eq!(a.json["token_type"], "Bearer");
        assert_eq!(a.json["scope"], "profile", "{t:?}");
        let claims = served
            .verify(a.json["access_token"].as_str().unwrap())
            .await;
        assert_eq!(claims["sub"], "user-0001");
        assert_eq!(claims["client_id"], id.as_str());
        let first = a.json["refresh_token"].as_str().unwrap().to_owned();
        let b = t
            .post_form(&served, "/token", basic, &refresh(&first))
            .await;
        assert_eq!(b.status, 200, "{t:?}: {b:?}");
        b.assert_no_store();
        let second = b.json["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(first, second, "{t:?}: every use rotates the refresh token");
        let r = t
            .post_form(&served, "/revoke", basic, &[("token", &second)])
            .await;
        assert_eq!(r.status, 200, "{t:?}: {r:?}");
        r.assert_no_store();
        t.post_form(&served, "/token", basic, &refresh(&second))
            .await
            .assert_error(400, "invalid_grant");
        // The rotated token is spent too.
        t.post_form(&served, "/token", basic, &refresh(&first))
            .await
            .assert_error(400, "invalid_grant");
    }
}

fn refresh(token: &str) -> [(&'static str, &str); 2] {
    [("grant_type", "refresh_token"), ("refresh_token", token)]
}

#[tokio::test]
async fn client_errors_in_every_event_shape() {
    let served = Served::from_env();
    let challenge = Some("Basic realm=\"tollgate\"");
    for t in Transport::ALL {
        // No credentials at all, and an unknown client over Basic: 401 with the challenge.
        let a = t.post_form(&served, "/token", None, &DEMO).await;
        a.assert_error(401, "invalid_client");
        assert_eq!(a.header("www-authenticate"), challenge, "{t:?}");
        let a = t
            .post_form(&served, "/token", Some(("no-such-client", "x")), &DEMO)
            .await;
        a.assert_error(401, "invalid_client");
        assert_eq!(a.header("www-authenticate"), challenge, "{t:?}");
        // The same unknown client in the body: 401 without a challenge.
        let mut p = DEMO.to_vec();
        p.extend([("client_id", "no-such-client"), ("client_secret", "x")]);
        let a = t.post_form(&served, "/token", None, &p).await;
        a.assert_error(401, "invalid_client");
        assert_eq!(a.header("www-authenticate"), None, "{t:?}");
        // /revoke authenticates its client the same way.
        let a = t
            .post_form(&served, "/revoke", None, &[("token", "x")])
            .await;
        a.assert_error(401, "invalid_client");
        assert_eq!(a.header("www-authenticate"), challenge, "{t:?}");
    }
}

#[tokio::test]
async fn request_errors_in_every_event_shape() {
    let served = Served::from_env();
    for t in Transport::ALL {
        let a = t.get(&served, "/token").await;
        a.assert_error(405, "invalid_request");
        assert_eq!(a.header("allow"), Some("POST"), "{t:?}");
        let a = t.request(&served, "PUT", "/revoke", &[], None).await;
        a.assert_error(405, "invalid_request");
        assert_eq!(a.header("allow"), Some("POST"), "{t:?}");
        let a = t
            .request(&served, "POST", "/.well-known/jwks.json", &[], None)
            .await;
        a.assert_error(405, "invalid_request");
        assert_eq!(a.header("allow"), Some("GET"), "{t:?}");
        for path in ["/nope", "/token/extra", "/.well-known/other"] {
            t.get(&served, path).await.assert_error(404, "not_found");
        }
        let text = [("Content-Type", "text/plain")];
        let a = t.request(&served, "POST", "/token", &text, Some("x")).await;
        a.assert_error(400, "invalid_request");
    }
}

#[tokio::test]
async fn discovery_in_every_event_shape_names_the_configured_issuer() {
    let served = Served::from_env();
    for t in Transport::ALL {
        let a = t
            .get(&served, "/.well-known/oauth-authorization-server")
            .await;
        assert_eq!(a.status, 200, "{t:?}: {a:?}");
        assert_eq!(a.header("cache-control"), Some("public, max-age=300"));
        assert_eq!(a.header("content-type"), Some("application/json"));
        assert_eq!(a.json["issuer"], served.issuer.as_str());
        assert_eq!(a.json["token_endpoint"], served.token_url().as_str());
        assert_eq!(a.json["revocation_endpoint"], served.revoke_url().as_str());
        assert_eq!(
            a.json["grant_types_supported"],
            json!([
                "authorization_code",
                "password",
                "refresh_token",
                "client_credentials"
            ])
        );
        let a = t.get(&served, "/.well-known/jwks.json").await;
        assert_eq!(a.status, 200, "{t:?}: {a:?}");
        assert_eq!(a.header("cache-control"), Some("public, max-age=300"));
        let keys = a.json["keys"].as_array().unwrap();
        assert!(!keys.is_empty(), "{t:?}");
        assert!(
            keys.iter().all(|k| k.get("d").is_none()),
            "no private key material"
        );
    }
}
