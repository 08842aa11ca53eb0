//! What the authorizer tests send and read: recorded API Gateway authorizer events with a
//! credential and a route of the test's choosing, and whether an answer lets a request through.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use serde_json::{Value, json};

use crate::{ClientSpec, Served, dynamo, event_fixture, iam_allows, post_token};

/// The method ARNs' prefix the route tests use: API `abc123`, stage `prod`.
pub const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/";

/// A REST API TOKEN authorizer event for `method_arn`.
pub fn rest_token(credential: &str, method_arn: &str) -> Value {
    let mut e = event_fixture("rest-token.json");
    e["authorizationToken"] = credential.into();
    e["methodArn"] = method_arn.into();
    e
}

/// The REST API TOKEN event `sam local generate-event apigateway authorizer` writes, with this
/// credential.
pub fn sam_rest_token(credential: &str) -> Value {
    let mut e = event_fixture("sam-rest-token.json");
    e["authorizationToken"] = credential.into();
    e
}

/// A REST API REQUEST authorizer event, for the recorded route.
pub fn rest_request(credential: &str) -> Value {
    let mut e = event_fixture("rest-request.json");
    e["headers"]["Authorization"] = credential.into();
    e["multiValueHeaders"]["Authorization"] = json!([credential]);
    e
}

/// A REST API REQUEST authorizer event for `method path` under [`PREFIX`].
pub fn rest_request_to(credential: &str, method: &str, path: &str) -> Value {
    let mut e = rest_request(credential);
    e["methodArn"] = format!("{PREFIX}{method}{path}").into();
    e["path"] = path.into();
    e["httpMethod"] = method.into();
    e
}

/// An HTTP API (payload 2.0) authorizer event, for the recorded route.
pub fn http_api(credential: &str) -> Value {
    let mut e = event_fixture("http-api-v2.json");
    e["identitySource"] = json!([credential]);
    e["headers"]["authorization"] = credential.into();
    e
}

/// An HTTP API (payload 2.0) authorizer event for `method path` under [`PREFIX`].
pub fn http_api_to(credential: &str, method: &str, path: &str) -> Value {
    let mut e = http_api(credential);
    e["routeArn"] = format!("{PREFIX}{method}{path}").into();
    e["rawPath"] = path.into();
    e["requestContext"]["http"]["method"] = method.into();
    e["requestContext"]["http"]["path"] = path.into();
    e
}

/// Whether an answer lets the request through: an IAM policy allowing `arn`, or a simple `true`.
pub fn allowed(answer: &Value, arn: &str) -> bool {
    if answer.get("errorMessage").is_some() {
        return false;
    }
    match answer.get("isAuthorized") {
        Some(v) => v == true,
        None => iam_allows(&answer["policyDocument"], arn),
    }
}

/// An access token of the served token function for the demo user with `scope`, and the id of
/// the (new) client it was issued to.
pub async fn demo_access_token(served: &Served, scope: &str) -> (String, String) {
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let a = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "demo"),
            ("password", "demo-password"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    (a.access_token(), id)
}

/// What the served demo backend answers to a REST API request the authorizer allowed with
/// `answer`: API Gateway passes the context, plus principalId, to the backend. Asserts a `200`
/// through the Invoke API and from the backend; returns the backend's JSON body.
pub async fn whoami_behind(served: &Served, answer: &Value) -> Value {
    let mut request = event_fixture("sam-rest-proxy.json");
    let mut ctx = answer["context"].clone();
    ctx["principalId"] = answer["principalId"].clone();
    request["requestContext"]["authorizer"] = ctx;
    let (status, resp) = served
        .invoke("whoami", &serde_json::to_vec(&request).unwrap())
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["statusCode"], 200, "{resp}");
    serde_json::from_str(resp["body"].as_str().unwrap()).unwrap()
}
