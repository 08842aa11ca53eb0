//! The token function's edges over HTTP: credentials sent in odd combinations, the
//! `WWW-Authenticate` challenge, discovery caching, unknown paths and wrong methods.

use tollgate_tests::{Answer, ClientSpec, Served, dynamo, http, post_token, send};

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

async fn post(served: &Served, basic: Option<(&str, &str)>, p: &[(String, String)]) -> Answer {
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post_token(&served.token_url(), basic, &p).await
}

fn assert_description(a: &Answer, text: &str) {
    let d = a.json["error_description"].as_str().unwrap_or_default();
    assert!(d.contains(text), "expected {text:?}: {a:?}");
}

#[tokio::test]
async fn body_client_id_without_a_secret_is_invalid_client_without_a_challenge() {
    let served = Served::from_env();
    let (id, _) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let a = post(&served, None, &with(&[("client_id", &id)])).await;
    a.assert_error(401, "invalid_client");
    assert_description(&a, "client_secret is required");
    // RFC 6749 §5.2: the Basic challenge answers a client that used (or could use) the
    // header; one that sent its id in the body gets none.
    assert_eq!(a.header("www-authenticate"), None, "{a:?}");
}

#[tokio::test]
async fn body_secret_without_an_id_is_invalid_request() {
    let served = Served::from_env();
    let a = post(&served, None, &with(&[("client_secret", "some-secret")])).await;
    a.assert_error(400, "invalid_request");
    assert_description(&a, "client_secret was sent without client_id");
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
    let a = post(
        &served,
        Some((&id, &secret)),
        &with(&[("client_id", &other)]),
    )
    .await;
    a.assert_error(400, "invalid_request");
    // The control: the same request without the body id is granted.
    let a = post(&served, Some((&id, &secret)), &with(&[])).await;
    assert_eq!(a.status, 200, "{a:?}");
}

#[tokio::test]
async fn non_ascii_authorization_is_invalid_client_with_a_challenge() {
    let served = Served::from_env();
    let value = http::HeaderValue::from_bytes("Basic ééé".as_bytes()).unwrap();
    let a = send(
        http()
            .post(served.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", value)
            .body(tollgate_tests::form(&DEMO)),
    )
    .await;
    a.assert_error(401, "invalid_client");
    assert_description(&a, "malformed Authorization header");
    assert_eq!(
        a.header("www-authenticate"),
        Some("Basic realm=\"tollgate\"")
    );
}

#[tokio::test]
async fn no_credentials_at_all_get_the_basic_challenge() {
    let served = Served::from_env();
    let a = post(&served, None, &with(&[])).await;
    a.assert_error(401, "invalid_client");
    assert_eq!(
        a.header("www-authenticate"),
        Some("Basic realm=\"tollgate\"")
    );
}

#[tokio::test]
async fn discovery_documents_are_cacheable_for_five_minutes() {
    let served = Served::from_env();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        let a = send(http().get(format!("{}{path}", served.base))).await;
        assert_eq!(a.status, 200, "{path}: {a:?}");
        assert_eq!(
            a.header("cache-control"),
            Some("public, max-age=300"),
            "{path}"
        );
        assert_eq!(a.header("content-type"), Some("application/json"), "{path}");
    }
}

#[tokio::test]
async fn unknown_path_is_404_not_found() {
    let served = Served::from_env();
    for path in ["/nope", "/token/extra", "/.well-known/other"] {
        let a = send(http().get(format!("{}{path}", served.base))).await;
        a.assert_error(404, "not_found");
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow_and_invalid_request() {
    let served = Served::from_env();
    for (method, path, allow) in [
        (reqwest::Method::GET, "/revoke", "POST"),
        (reqwest::Method::PUT, "/token", "POST"),
        (reqwest::Method::POST, "/.well-known/jwks.json", "GET"),
        (
            reqwest::Method::DELETE,
            "/.well-known/oauth-authorization-server",
            "GET",
        ),
    ] {
        let a = send(http().request(method.clone(), format!("{}{path}", served.base))).await;
        a.assert_error(405, "invalid_request");
        assert_eq!(a.header("allow"), Some(allow), "{method} {path}");
    }
}
