//! The token function's logs, captured from `cargo lambda watch`, never hold a password, a
//! client secret, an access token or a refresh token, nor an unauthenticated client_id: at DEBUG
//! (the first instance) and at TRACE (the instance whose auth endpoint is down), where the
//! Lambda runtime would log every raw event if the log filter let it.

use std::time::Duration;

use tollgate_tests::{ClientSpec, Served, dynamo, event_fixture, invoke_at, post_token};

#[tokio::test]
async fn logs_of_successful_and_failed_requests_hold_no_secrets() {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let ok = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "demo"),
            ("password", "demo-password"),
        ],
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let wrong_password = "Wr0ng-passw0rd-for-the-log-test";
    let failed = post_token(
        &served.token_url(),
        None,
        &[
            ("grant_type", "password"),
            ("username", "logwrong"),
            ("password", wrong_password),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(failed.status, 400, "{failed:?}");
    let bad_client_secret = "not-the-secret-but-still-secret-xyz";
    let refused = post_token(
        &served.token_url(),
        Some((&id, bad_client_secret)),
        &[("grant_type", "password")],
    )
    .await;
    assert_eq!(refused.status, 401);

    // A client that swapped its id and secret: the "id" it sends is its secret.
    let swapped = post_token(
        &served.token_url(),
        None,
        &[
            ("grant_type", "password"),
            ("client_id", &secret),
            ("client_secret", &id),
        ],
    )
    .await;
    assert_eq!(swapped.status, 401);

    // The function logs each request as it ends; give the log a moment to reach the file.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let logs = std::fs::read_to_string(&served.log_path).unwrap();
    assert!(
        logs.contains(&id),
        "the log must show these requests (client_id is logged): {}",
        served.log_path
    );
    for (what, value) in [
        ("password", "demo-password"),
        ("wrong password", wrong_password),
        ("client secret", secret.as_str()),
        ("wrong client secret", bad_client_secret),
        ("access token", ok.json["access_token"].as_str().unwrap()),
        ("refresh token", ok.json["refresh_token"].as_str().unwrap()),
    ] {
        assert!(
            !logs.contains(value),
            "the {what} appears in the function's log"
        );
    }
}

#[tokio::test]
async fn logs_at_trace_hold_no_secrets_nor_raw_events() {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let down_token_url = format!("{}/token", served.base_auth_down);
    // A login on the first instance, for tokens to present to the second.
    let ok = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "demo"),
            ("password", "demo-password"),
        ],
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let access = ok.json["access_token"].as_str().unwrap().to_owned();
    let refresh = ok.json["refresh_token"].as_str().unwrap().to_owned();

    let password = "Trace-level-passw0rd-canary";
    let down = post_token(
        &down_token_url,
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "demo"),
            ("password", password),
        ],
    )
    .await;
    assert_eq!(down.status, 503, "{down:?}");
    // The refresh grant needs no auth endpoint: it succeeds, and its new tokens pass the log.
    let refreshed = post_token(
        &down_token_url,
        Some((&id, &secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    // An unauthenticated request that fails before client authentication would matter.
    let stranger = "unauthenticated-client-id-canary";
    let no_grant = post_token(
        &down_token_url,
        None,
        &[
            ("client_id", stranger),
            ("client_secret", "whatever-secret"),
        ],
    )
    .await;
    assert_eq!(no_grant.status, 401, "{no_grant:?}");
    // The authorizer of the same instance, with a bearer token in a real REST TOKEN event.
    let mut event = event_fixture("sam-rest-token.json");
    event["authorizationToken"] = format!("Bearer {access}").into();
    // This instance has another issuer, so the authorizer refuses the token; it still had the
    // raw event with the bearer token in hand.
    let (_, answer) = invoke_at(
        &served.auth_down_invoke,
        "authorizer",
        event.to_string().as_bytes(),
    )
    .await;
    assert_eq!(answer["errorMessage"], "Unauthorized", "{answer}");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let logs = std::fs::read_to_string(&served.auth_down_log_path).unwrap();
    assert!(
        logs.contains("TRACE"),
        "the instance must log at TRACE for this test to mean anything: {}",
        served.auth_down_log_path
    );
    assert!(logs.contains(&id), "the log must show these requests");
    for (what, value) in [
        ("password", password),
        ("client secret", secret.as_str()),
        ("refresh token", refresh.as_str()),
        ("bearer token", access.as_str()),
        (
            "new access token",
            refreshed.json["access_token"].as_str().unwrap(),
        ),
        (
            "new refresh token",
            refreshed.json["refresh_token"].as_str().unwrap(),
        ),
        ("unauthenticated client_id", stranger),
        ("raw HTTP event", "\"rawPath\":"),
        ("raw authorizer event", "\"methodArn\":"),
    ] {
        assert!(
            !logs.contains(value),
            "the {what} appears in the TRACE log {}",
            served.auth_down_log_path
        );
    }
}
