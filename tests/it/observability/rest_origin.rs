//! Through a REST API `aws_proxy` event (the production shape), the audit line's origin is
//! API Gateway's view of the caller.

use tollgate_tests::{ClientSpec, Served, dynamo, form, unique};

use tollgate_tests::logs::{log_len, wait_for};

#[tokio::test]
async fn through_a_rest_api_the_audit_line_has_api_gateways_source_ip_not_a_forwarded_one() {
    use tollgate_tests::transport::{invoke_rest as invoke, rest_event};
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let from = log_len(&served.log_path);
    let agent = unique("obs-rest-agent");
    let auth = tollgate_tests::basic_header(&id, &secret);
    let body = form(&[
        ("grant_type", "password"),
        ("username", "demo"),
        ("password", "demo-password"),
    ]);
    let mut event = rest_event(
        "POST",
        "/token",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &auth),
            ("User-Agent", &agent),
            ("X-Forwarded-For", "10.9.9.9"),
        ],
        Some(&body),
        false,
    );
    event["requestContext"]["identity"]["sourceIp"] = "198.51.100.23".into();
    event["requestContext"]["identity"]["userAgent"] = agent.as_str().into();
    let answer = invoke(&served, &event).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let issued = wait_for(&served.log_path, from, 1, |v| {
        v["audit"] == 1 && v["client_id"] == id.as_str()
    })
    .await;
    assert_eq!(issued[0]["event"], "token_issued");
    assert_eq!(issued[0]["source_ip"], "198.51.100.23");
    assert_eq!(issued[0]["user_agent"], agent.as_str());
}
