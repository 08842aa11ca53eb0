//! The flow as a client meets it over HTTP: the page and its headers, the redirect with the
//! code, `state` and `iss`, the exchange for the password grant's tokens and session, the
//! refresh of a public client, the metadata; and the same through REST API proxy events.

use serde_json::{Value, json};
use tollgate_tests::code_flow::{
    authorize_url, code_for, exchange, get_page, post_sign_in, query_params,
};
use tollgate_tests::transport::rest_event;
use tollgate_tests::{form, http, send};

use super::Flow;

#[tokio::test]
async fn the_sign_in_page_comes_with_headers_that_keep_it_to_itself() {
    let f = Flow::public().await;
    let page = get_page(&authorize_url(&f.served.base, &f.params())).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "style-src 'sha256-",
    ] {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    // The form posts to the authorize endpoint and the browser follows the redirect to the
    // client's origin: both, and nothing else.
    let origin = f.callback.uri.trim_end_matches("/callback");
    let base_origin = f.served.base.split("/lambda-url").next().unwrap();
    let form_action = format!("form-action {base_origin} {origin};");
    assert!(
        csp.contains(&form_action),
        "{form_action} missing from {csp}"
    );
    assert!(
        !csp.contains("script-src") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let cookie = page.header("set-cookie").unwrap_or_default();
    assert!(cookie.starts_with("__Host-tollgate-signin="), "{cookie}");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attr), "{attr} missing from {cookie}");
    }
    assert!(page.text.len() <= 10 * 1024, "{} bytes", page.text.len());
    assert!(page.text.contains("autocomplete=\"username\""));
    assert!(page.text.contains("autocomplete=\"current-password\""));
    assert!(!page.text.to_ascii_lowercase().contains("<script"));
}

#[tokio::test]
async fn a_public_client_gets_the_password_grants_tokens_for_its_code_and_refreshes() {
    let f = Flow::public().await;
    let done = tollgate_tests::code_flow::sign_in_http(
        &f.served.base,
        &f.params(),
        &f.username,
        &f.password,
    )
    .await;
    assert_eq!(done.status, 303, "{done:?}");
    let location = done.header("location").unwrap_or_default();
    assert!(
        location.starts_with(&format!("{}?code=", f.callback.uri)),
        "{location}"
    );
    let p = done.location_params();
    assert_eq!(p["state"], f.state);
    assert_eq!(p["iss"], f.served.issuer);
    let t = exchange(
        &f.served.token_url(),
        f.client(),
        &p["code"],
        &f.pkce.verifier,
        Some(&f.callback.uri),
    )
    .await;
    assert_eq!(t.status, 200, "{t:?}");
    t.assert_no_store();
    let claims = f
        .served
        .verify(t.json["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["sub"], f.sub.as_str());
    assert_eq!(claims["client_id"], f.id.as_str());
    assert_eq!(claims["email"], format!("{}@example.com", f.username));
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(t.json["scope"], "openid profile");
    // A public client refreshes with its id alone; the token rotates.
    let rt = t.json["refresh_token"].as_str().unwrap();
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", &f.id),
    ]);
    let post = || {
        http()
            .post(f.served.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
    };
    let r = send(post()).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_ne!(r.json["refresh_token"], t.json["refresh_token"]);
    send(post()).await.assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn a_confidential_client_exchanges_with_its_secret_and_only_with_it() {
    let f = Flow::new(false, "Web App").await;
    let code = code_for(&f.served.base, &f.params(), &f.username, &f.password).await;
    let bare = exchange(
        &f.served.token_url(),
        (&f.id, ""),
        &code,
        &f.pkce.verifier,
        None,
    )
    .await;
    bare.assert_error(401, "invalid_client");
    assert_eq!(bare.json["error_description"], "client_secret is required");
    let t = exchange(
        &f.served.token_url(),
        f.client(),
        &code,
        &f.pkce.verifier,
        Some(&f.callback.uri),
    )
    .await;
    assert_eq!(t.status, 200, "{t:?}");
}

#[tokio::test]
async fn the_metadata_names_the_flow() {
    let served = tollgate_tests::Served::from_env();
    let m = send(http().get(format!(
        "{}/.well-known/oauth-authorization-server",
        served.base
    )))
    .await;
    assert_eq!(
        m.json["authorization_endpoint"],
        format!("{}/authorize", served.base)
    );
    assert_eq!(m.json["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        m.json["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(m.json["response_types_supported"], json!(["code"]));
    let grants = m.json["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&Value::from("authorization_code")));
    let methods = m.json["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&Value::from("none")));
    let introspection = &m.json["introspection_endpoint_auth_methods_supported"];
    assert!(
        !introspection
            .as_array()
            .unwrap()
            .contains(&Value::from("none"))
    );
}

/// The same sign-in through REST API proxy events (what API Gateway sends): the query from
/// `multiValueQueryStringParameters`, the cookie and the `Location` through the proxy response.
#[tokio::test]
async fn the_sign_in_works_through_rest_api_events() {
    let f = Flow::public().await;
    let mut get = rest_event("GET", "/authorize", &[], None, false);
    let mut multi = serde_json::Map::new();
    for (k, v) in f.params() {
        multi.insert(k.into(), json!([v]));
    }
    get["multiValueQueryStringParameters"] = multi.into();
    let (status, page) = f.served.invoke("token", get.to_string().as_bytes()).await;
    assert_eq!(
        (status, page["statusCode"].as_u64()),
        (200, Some(200)),
        "{page}"
    );
    let cookie_header = header(&page, "set-cookie").expect("the sign-in cookie");
    let cookie = cookie_header.split(';').next().unwrap().to_owned();
    let body = page["body"].as_str().unwrap();
    let start = body.find("name=\"request\" value=\"").unwrap() + 22;
    let field = &body[start..start + body[start..].find('"').unwrap()];
    let fields = form(&[
        ("request", field),
        ("username", &f.username),
        ("password", &f.password),
    ]);
    let post = rest_event(
        "POST",
        "/authorize",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie),
        ],
        Some(&fields),
        true,
    );
    let (_, done) = f.served.invoke("token", post.to_string().as_bytes()).await;
    assert_eq!(done["statusCode"], 303, "{done}");
    let location = header(&done, "location").expect("a redirect");
    let p = query_params(location.split_once('?').unwrap().1);
    let t = exchange(
        &f.served.token_url(),
        f.client(),
        &p["code"],
        &f.pkce.verifier,
        Some(&f.callback.uri),
    )
    .await;
    assert_eq!(t.status, 200, "{t:?}");
}

/// A header of a proxy response, from `headers` or `multiValueHeaders`.
fn header(resp: &Value, name: &str) -> Option<String> {
    let find = |map: &Value| {
        map.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    match find(&resp["multiValueHeaders"]) {
        Some(Value::Array(vs)) => vs.first().and_then(|v| v.as_str()).map(str::to_owned),
        _ => find(&resp["headers"]).and_then(|v| v.as_str().map(str::to_owned)),
    }
}

/// Posting without a form: an error page, not a crash.
#[tokio::test]
async fn a_post_that_is_not_a_form_gets_the_error_page() {
    let served = tollgate_tests::Served::from_env();
    let p = post_sign_in(&served.base, None, &[]).await;
    assert!(matches!(p.status, 400 | 403), "{p:?}");
    let json = http()
        .post(format!("{}/authorize", served.base))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status().as_u16(), 400);
    assert!(json.text().await.unwrap().contains("malformed"));
}
