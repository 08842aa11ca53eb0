//! The ways the tests reach the served token function, so that one test body covers every
//! event shape: `cargo lambda watch`'s function-URL path (plain HTTP); REST API `aws_proxy`
//! (payload 1.0) events with the stage in `requestContext.path`, built from the recorded
//! `sam-rest-proxy.json`; and HTTP API payload 2.0 events of the `$default` stage
//! (`OAuthHttpApi=on`), built from the recorded `sam-http-api-proxy.json`. The events go
//! through the Lambda Invoke API: what API Gateway sends the function in production.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::{Answer, Served, basic_header, event_fixture, form, http, send};

/// How a test request reaches the token function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plain HTTP to `cargo lambda watch`'s function-URL path (what a local client uses).
    FunctionUrl,
    /// A REST API proxy event under stage `prod`, through the Lambda Invoke API; with `base64`,
    /// the body is base64-encoded as API Gateway does for binary media types.
    RestProxy { base64: bool },
    /// An HTTP API payload 2.0 event of the `$default` stage, through the Lambda Invoke API;
    /// its header names in lower case and its body base64-encoded, as API Gateway sends a form.
    HttpApi,
}

impl Transport {
    /// Every shape: the tests of the main flows loop over these.
    pub const ALL: [Transport; 4] = [
        Transport::FunctionUrl,
        Transport::RestProxy { base64: false },
        Transport::RestProxy { base64: true },
        Transport::HttpApi,
    ];

    /// Sends `method path` with these headers and body; `path` is the function's own path
    /// (`/token`, `/.well-known/jwks.json`), without the base URL or the stage.
    pub async fn request(
        self,
        served: &Served,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        match self {
            Transport::FunctionUrl => {
                let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
                let mut req = http().request(method, format!("{}{path}", served.base));
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                if let Some(b) = body {
                    req = req.body(b.to_owned());
                }
                send(req).await
            }
            Transport::RestProxy { base64 } => {
                invoke_rest(served, &rest_event(method, path, headers, body, base64)).await
            }
            Transport::HttpApi => {
                invoke_rest(served, &http_api_event(method, path, headers, body)).await
            }
        }
    }

    /// POSTs a form to `path`, with Basic credentials when given.
    pub async fn post_form(
        self,
        served: &Served,
        path: &str,
        basic: Option<(&str, &str)>,
        pairs: &[(&str, &str)],
    ) -> Answer {
        let auth = basic.map(|(i, s)| basic_header(i, s));
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        let body = form(pairs);
        self.request(served, "POST", path, &headers, Some(&body))
            .await
    }

    /// GETs `path`.
    pub async fn get(self, served: &Served, path: &str) -> Answer {
        self.request(served, "GET", path, &[], None).await
    }
}

/// A REST proxy event for `method path` under stage `prod`, with these headers and body;
/// the body is base64-encoded as API Gateway does for binary media types when `base64` is set.
pub fn rest_event(
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
    let (body, encoded) = match body {
        Some(b) if base64 => (Value::from(STANDARD.encode(b)), true),
        Some(b) => (Value::from(b), false),
        None => (Value::Null, false),
    };
    e["body"] = body;
    e["isBase64Encoded"] = encoded.into();
    e
}

/// An HTTP API (payload 2.0) event for `method path` under the `$default` stage, as API Gateway
/// sends one of `OAuthHttpApi`'s routes: the route key names the method and path, header names
/// are in lower case (repeated ones joined with commas), the body is base64-encoded, and
/// there is no authorizer (the routes have none).
pub fn http_api_event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Value {
    let mut e = event_fixture("sam-http-api-proxy.json");
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let route = format!("{method} {path}");
    let o = e.as_object_mut().expect("an event");
    for absent in [
        "cookies",
        "queryStringParameters",
        "pathParameters",
        "stageVariables",
    ] {
        o.remove(absent);
    }
    e["routeKey"] = route.clone().into();
    e["rawPath"] = path.into();
    e["rawQueryString"] = query.into();
    let c = &mut e["requestContext"];
    c.as_object_mut().expect("a context").remove("authorizer");
    c.as_object_mut()
        .expect("a context")
        .remove("authentication");
    c["routeKey"] = route.into();
    c["stage"] = "$default".into();
    c["http"]["method"] = method.into();
    c["http"]["path"] = path.into();
    c["http"]["sourceIp"] = "192.0.2.10".into();
    let mut joined = serde_json::Map::new();
    for (k, v) in headers {
        let k = k.to_ascii_lowercase();
        let value = match joined.get(&k).and_then(Value::as_str) {
            Some(before) => format!("{before},{v}"),
            None => (*v).to_owned(),
        };
        joined.insert(k, value.into());
    }
    e["headers"] = joined.into();
    match body {
        Some(b) => {
            e["body"] = STANDARD.encode(b).into();
            e["isBase64Encoded"] = true.into();
        }
        None => {
            e.as_object_mut().expect("an event").remove("body");
            e["isBase64Encoded"] = false.into();
        }
    }
    e
}

/// Invokes the token function with an API Gateway event (REST or HTTP API); its proxy response
/// as an `Answer`. A header in both `headers` and `multiValueHeaders` counts once, with the
/// multi values; a payload 2.0 response's `cookies` are its `Set-Cookie` headers.
pub async fn invoke_rest(served: &Served, event: &Value) -> Answer {
    let (status, resp) = served.invoke("token", event.to_string().as_bytes()).await;
    assert_eq!(status, 200, "the function answered, not failed: {resp}");
    let name = |k: &str| http::HeaderName::from_bytes(k.as_bytes()).expect("header name");
    let value = |v: &Value| http::HeaderValue::from_str(v.as_str().expect("text")).expect("value");
    let mut headers = http::HeaderMap::new();
    for (k, v) in resp["headers"].as_object().into_iter().flatten() {
        headers.insert(name(k), value(v));
    }
    for (k, vs) in resp["multiValueHeaders"].as_object().into_iter().flatten() {
        headers.remove(name(k));
        for v in vs.as_array().expect("a list of values") {
            headers.append(name(k), value(v));
        }
    }
    for cookie in resp["cookies"].as_array().into_iter().flatten() {
        headers.append(http::header::SET_COOKIE, value(cookie));
    }
    let raw = resp["body"].as_str().unwrap_or_default();
    let text = if resp["isBase64Encoded"] == true {
        String::from_utf8(STANDARD.decode(raw).expect("base64")).expect("UTF-8")
    } else {
        raw.to_owned()
    };
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"))
    };
    Answer {
        status: resp["statusCode"].as_u64().expect("statusCode") as u16,
        headers,
        json,
    }
}
