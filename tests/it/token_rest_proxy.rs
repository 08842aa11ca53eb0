//! The token function with the event shape it gets in production: REST API `aws_proxy`
//! (payload 1.0) events with the stage in `requestContext.path`, built from the recorded
//! `sam-rest-proxy.json` and sent through the Lambda Invoke API. (The other HTTP tests reach it
//! through `cargo lambda watch`'s function-URL path.)

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tollgate_tests::{Answer, ClientSpec, Served, basic_header, dynamo, event_fixture, form};

/// A REST proxy event for `method path` under stage `prod`, with these headers and body;
/// the body is base64-encoded as API Gateway does for binary media types when `base64` is set.
pub(crate) fn rest_event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    base64: bool,
) -> Value {
    let mut e = event_fixture("sam-rest-proxy.json");
    e["httpMethod"] = method.into();
    e["path"] = path.into();
    e["resource"] = path.into();
    e["pathParameters"] = Value::Null;
    e["queryStringParameters"] = Value::Null;
    e["multiValueQueryStringParameters"] = Value::Null;
    e["requestContext"]["path"] = format!("/prod{path}").into();
    e["requestContext"]["stage"] = "prod".into();
    e["requestContext"]["httpMethod"] = method.into();
    e["requestContext"]["resourcePath"] = path.into();
    let mut single = serde_json::Map::new();
    let mut multi = serde_json::Map::new();
    for (k, v) in headers {
        single.insert((*k).into(), (*v).into());
        multi.insert((*k).into(), json!([v]));
    }
    e["headers"] = single.into();
    e["multiValueHeaders"] = multi.into();
    match body {
        Some(b) if base64 => {
            e["body"] = STANDARD.encode(b).into();
            e["isBase64Encoded"] = true.into();
        }
        Some(b) => {
            e["body"] = b.into();
            e["isBase64Encoded"] = false.into();
        }
        None => {
            e["body"] = Value::Null;
            e["isBase64Encoded"] = false.into();
        }
    }
    e
}

/// The proxy response as an `Answer`.
pub(crate) async fn invoke(served: &Served, event: &Value) -> Answer {
    let (status, resp) = served.invoke("token", event.to_string().as_bytes()).await;
    assert_eq!(status, 200, "the function answered, not failed: {resp}");
    let mut headers = http::HeaderMap::new();
    for (k, v) in resp["headers"].as_object().into_iter().flatten() {
        headers.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
        );
    }
    for (k, vs) in resp["multiValueHeaders"].as_object().into_iter().flatten() {
        for v in vs.as_array().unwrap() {
            headers.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
            );
        }
    }
    let raw = resp["body"].as_str().unwrap_or_default();
    let text = if resp["isBase64Encoded"] == true {
        String::from_utf8(STANDARD.decode(raw).unwrap()).unwrap()
    } else {
        raw.to_owned()
    };
    Answer {
        status: resp["statusCode"].as_u64().unwrap() as u16,
        headers,
        json: if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    }
}

async fn post_form(
    served: &Served,
    path: &str,
    basic: Option<(&str, &str)>,
    pairs: &[(&str, &str)],
    base64: bool,
) -> Answer {
    let auth = basic.map(|(i, s)| basic_header(i, s));
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let body = form(pairs);
    invoke(
        served,
        &rest_event("POST", path, &headers, Some(&body), base64),
    )
    .await
}

#[tokio::test]
async fn password_refresh_and_revoke_through_rest_proxy_events() {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let demo = [
        ("grant_type", "password"),
        ("username", "demo"),
        ("password", "demo-password"),
    ];
    for base64 in [false, true] {
        let a = post_form(&served, "/token", Some((&id, &secret)), &demo, base64).await;
        assert_eq!(a.status, 200, "{a:?}");
        a.assert_no_store();
        assert_eq!(a.json["token_type"], "Bearer");
        let claims =
            crate::token_endpoint::verify(&served, a.json["access_token"].as_str().unwrap()).await;
        assert_eq!(claims["sub"], "user-0001");
        let first = a.json["refresh_token"].as_str().unwrap().to_owned();
        let b = post_form(
            &served,
            "/token",
            Some((&id, &secret)),
            &[("grant_type", "refresh_token"), ("refresh_token", &first)],
            base64,
        )
        .await;
        assert_eq!(b.status, 200, "{b:?}");
        let second = b.json["refresh_token"].as_str().unwrap().to_owned();
        let r = post_form(
            &served,
            "/revoke",
            Some((&id, &secret)),
            &[("token", &second)],
            base64,
        )
        .await;
        assert_eq!(r.status, 200, "{r:?}");
        r.assert_no_store();
        post_form(
            &served,
            "/token",
            Some((&id, &secret)),
            &[("grant_type", "refresh_token"), ("refresh_token", &second)],
            base64,
        )
        .await
        .assert_error(400, "invalid_grant");
    }
}

#[tokio::test]
async fn errors_through_rest_proxy_events() {
    let served = Served::from_env();
    let demo = [
        ("grant_type", "password"),
        ("username", "demo"),
        ("password", "demo-password"),
    ];
    let a = post_form(&served, "/token", None, &demo, false).await;
    a.assert_error(401, "invalid_client");
    assert_eq!(
        a.header("www-authenticate"),
        Some("Basic realm=\"tollgate\"")
    );
    let a = post_form(
        &served,
        "/token",
        Some(("no-such-client", "x")),
        &demo,
        true,
    )
    .await;
    a.assert_error(401, "invalid_client");
    let a = invoke(&served, &rest_event("GET", "/token", &[], None, false)).await;
    a.assert_error(405, "invalid_request");
    assert_eq!(a.header("allow"), Some("POST"));
    let a = invoke(&served, &rest_event("GET", "/nope", &[], None, false)).await;
    a.assert_error(404, "not_found");
    let a = invoke(
        &served,
        &rest_event(
            "POST",
            "/token",
            &[("Content-Type", "text/plain")],
            Some("x"),
            false,
        ),
    )
    .await;
    a.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn discovery_through_rest_proxy_events_names_the_configured_issuer() {
    let served = Served::from_env();
    let a = invoke(
        &served,
        &rest_event(
            "GET",
            "/.well-known/oauth-authorization-server",
            &[],
            None,
            false,
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(a.json["issuer"], served.issuer.as_str());
    let a = invoke(
        &served,
        &rest_event("GET", "/.well-known/jwks.json", &[], None, false),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(!a.json["keys"].as_array().unwrap().is_empty());
}
