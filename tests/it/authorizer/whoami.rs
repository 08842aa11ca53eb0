//! The demo backend reads the caller from the authorizer context of real API Gateway events.

use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use tollgate_tests::event_fixture;

fn request(event: Value) -> Request {
    let req: LambdaRequest = serde_json::from_value(event).unwrap();
    Request::from(req)
}

async fn answer(event: Value) -> (u16, Value) {
    let resp = tollgate_whoami::handle(request(event)).await.unwrap();
    let status = resp.status().as_u16();
    let body = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

fn context() -> Value {
    json!({"sub": "user-0001", "client_id": "app-1", "scope": "orders:read profile", "email": "demo@example.com", "groups": "[\"staff\"]"})
}

#[tokio::test]
async fn rest_api_context_names_the_caller() {
    for fixture in ["rest-proxy.json", "sam-rest-proxy.json"] {
        let mut e = event_fixture(fixture);
        let mut ctx = context();
        ctx["principalId"] = "user-0001".into();
        e["requestContext"]["authorizer"] = ctx;
        let (status, body) = answer(e).await;
        assert_eq!(status, 200, "{fixture}: {body}");
        assert_eq!(body["sub"], "user-0001");
        assert_eq!(body["client_id"], "app-1");
        assert_eq!(body["scopes"], json!(["orders:read", "profile"]));
        assert_eq!(
            body["details"],
            json!({"email": "demo@example.com", "groups": "[\"staff\"]"})
        );
    }
}

#[tokio::test]
async fn http_api_context_names_the_caller() {
    for fixture in ["http-api-v2-proxy.json", "sam-http-api-proxy.json"] {
        let mut e = event_fixture(fixture);
        e["requestContext"]["authorizer"] = json!({ "lambda": context() });
        let (status, body) = answer(e).await;
        assert_eq!(status, 200, "{fixture}: {body}");
        assert_eq!(body["sub"], "user-0001");
        assert_eq!(body["scopes"], json!(["orders:read", "profile"]));
    }
}

#[tokio::test]
async fn without_an_authorizer_context_the_backend_refuses() {
    let mut e = event_fixture("sam-rest-proxy.json");
    e["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let (status, body) = answer(e).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");
}
