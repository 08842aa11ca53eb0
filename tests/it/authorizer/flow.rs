//! The whole flow under `cargo lambda watch`: a token from the token function, the authorizer
//! (through the Lambda Invoke API) deciding on it, and the demo backend reporting the same user
//! from the context the authorizer produced.

use serde_json::{Value, json};
use tollgate_tests::authorizer::{demo_access_token, whoami_behind};
use tollgate_tests::{Served, event_fixture, iam_allows};

fn body_of(lambda_http_response: &Value) -> Value {
    assert_eq!(
        lambda_http_response["statusCode"], 200,
        "{lambda_http_response}"
    );
    serde_json::from_str(lambda_http_response["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn rest_api_token_authorizer_then_backend_see_the_same_user() {
    let served = Served::from_env();
    let (access, client_id) = demo_access_token(&served, "orders:read profile").await;
    let arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42";
    let mut event = tollgate_tests::authorizer::sam_rest_token(&format!("Bearer {access}"));
    event["methodArn"] = arn.into();
    let (status, answer) = served
        .invoke("authorizer", &serde_json::to_vec(&event).unwrap())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["principalId"], "user-0001");
    assert!(iam_allows(&answer["policyDocument"], arn));
    assert!(!iam_allows(
        &answer["policyDocument"],
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/orders"
    ));

    let me = whoami_behind(&served, &answer).await;
    assert_eq!(me["sub"], "user-0001");
    assert_eq!(me["client_id"], client_id.as_str());
    assert_eq!(me["scopes"], json!(["orders:read", "profile"]));
    assert_eq!(me["details"]["email"], "demo@example.com");
    assert_eq!(me["details"]["groups"], "[\"staff\",\"beta\"]");
}

#[tokio::test]
async fn http_api_authorizer_then_backend_see_the_same_user() {
    let served = Served::from_env();
    let (access, client_id) = demo_access_token(&served, "profile").await;
    let mut event = event_fixture("http-api-v2.json");
    event["identitySource"] = json!([format!("Bearer {access}")]);
    let (status, answer) = served
        .invoke("authorizer", &serde_json::to_vec(&event).unwrap())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["isAuthorized"], true, "{answer}");

    let mut request = event_fixture("sam-http-api-proxy.json");
    request["requestContext"]["authorizer"] = json!({ "lambda": answer["context"] });
    let (_, resp) = served
        .invoke("whoami", &serde_json::to_vec(&request).unwrap())
        .await;
    let me = body_of(&resp);
    assert_eq!(me["sub"], "user-0001");
    assert_eq!(me["client_id"], client_id.as_str());
}
