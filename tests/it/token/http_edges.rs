//! The token function's edges, in every event shape (`Transport::ALL`: the function-URL path
//! and REST API proxy events): credentials sent in odd combinations, the `WWW-Authenticate`
//! challenge, discovery caching, unknown paths and wrong methods.

use tollgate_tests::{Answer, ClientSpec, Served, Transport, dynamo};

const DEMO: [(&str, &str); 3] = [
    ("grant_type", "password"),
    ("username", "demo"),
    ("password", "demo-password"),
];

fn with(extra: &[(&'static str, &str)]) -> Vec<(String, String)> {
    DEMO.iter()
        .chain(extra.iter())
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn post(
    t: Transport,
    served: &Served,
    basic: Option<(&str, &str)>,
    p: &[(String, String)],
) -> Answer {
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    t.post_form(served, "/token", basic, &p).await
}

fn assert_description(a: &Answer, text: &str) {
    let d = a.json["error_description"].as_str().unwrap_or_default();
    assert!(d.contains(text), "expected {text:?}: {a:?}");
}

const CHALLENGE: Option<&str> = Some("Basic realm=\"tollgate\"");

#[tokio::test]
async fn body_client_id_without_a_secret_is_invalid_client_without_a_challenge() {
    let served = Served::from_env();
    let (id, _) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    for t in Transport::ALL {
        let a = post(t, &served, None, &with(&[("client_id", &id)])).await;
        a.assert_error(401, "invalid_client");
        assert_description(&a, "client_secret is required");
        // RFC 6749 §5.2: the Basic challenge answers a client that used (or could use) the
        // header; one that sent its id in the body gets none.
        assert_eq!(a.header("www-authenticate"), None, "{t:?}: {a:?}");
    }
}

#[tokio::test]
async fn body_secret_without_an_id_is_invalid_request() {
    let served = Served::from_env();
    for t in Transport::ALL {
        let a = post(t, &served, None, &with(&[("client_secret", "some-secret")])).await;
        a.assert_error(400, "invalid_request");
        assert_description(&a, "client_secret was sent without client_id");
    }
}

#[tokio::test]
async fn body_id_other_than_the_basic_id_is_invalid_request() {
    let served = Served::from_env();
    let db = dynamo().await;
    let (id, secret) = ClientSpec::default()
        .create(&db, &served.clients_table)
        .await;
    let (other, _) = ClientSpec::default()
        .create(&db, &served.clients_table)
        .await;
    for t in Transport::ALL {
        let basic = Some((id.as_str(), secret.as_str()));
        let a = post(t, &served, basic, &with(&[("client_id", &other)])).await;
        a.assert_error(400, "invalid_request");
        // The control: the same request without the body id is granted.
        let a = post(t, &served, basic, &with(&[])).await;
        assert_eq!(a.status, 200, "{t:?}: {a:?}");
    }
}

#[tokio::test]
async fn non_ascii_authorization_is_invalid_client_with_a_challenge() {
    let served = Served::from_env();
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", "Basic ééé"),
    ];
    let body = tollgate_tests::form(&DEMO);
    for t in Transport::ALL {
        let a = t
            .request(&served, "POST", "/token", &headers, Some(&body))
            .await;
        a.assert_error(401, "invalid_client");
        assert_description(&a, "malformed Authorization header");
        assert_eq!(a.header("www-authenticate"), CHALLENGE, "{t:?}");
    }
}

#[tokio::test]
async fn no_credentials_at_all_get_the_basic_challenge() {
    let served = Served::from_env();
    for t in Transport::ALL {
        let a = post(t, &served, None, &with(&[])).await;
        a.assert_error(401, "invalid_client");
        assert_eq!(a.header("www-authenticate"), CHALLENGE, "{t:?}");
    }
}

#[tokio::test]
async fn discovery_documents_are_cacheable_for_five_minutes() {
    let served = Served::from_env();
    for t in Transport::ALL {
        for path in [
            "/.well-known/oauth-authorization-server",
            "/.well-known/jwks.json",
        ] {
            let a = t.get(&served, path).await;
            assert_eq!(a.status, 200, "{t:?} {path}: {a:?}");
            assert_eq!(
                a.header("cache-control"),
                Some("public, max-age=300"),
                "{t:?} {path}"
            );
            let json = Some("application/json");
            assert_eq!(a.header("content-type"), json, "{t:?} {path}");
        }
    }
}

#[tokio::test]
async fn unknown_path_is_404_not_found() {
    let served = Served::from_env();
    for t in Transport::ALL {
        for path in ["/nope", "/token/extra", "/.well-known/other"] {
            t.get(&served, path).await.assert_error(404, "not_found");
        }
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow_and_invalid_request() {
    let served = Served::from_env();
    for t in Transport::ALL {
        for (method, path, allow) in [
            ("GET", "/revoke", "POST"),
            ("PUT", "/token", "POST"),
            ("POST", "/.well-known/jwks.json", "GET"),
            ("DELETE", "/.well-known/oauth-authorization-server", "GET"),
        ] {
            let a = t.request(&served, method, path, &[], None).await;
            a.assert_error(405, "invalid_request");
            assert_eq!(a.header("allow"), Some(allow), "{t:?} {method} {path}");
        }
    }
}
