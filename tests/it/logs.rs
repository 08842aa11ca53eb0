//! The token function's logs, captured from `cargo lambda watch`, never hold a password, a
//! client secret, an access token or a refresh token.

use std::time::Duration;

use tollgate_tests::{ClientSpec, Served, dynamo, post_token};

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
            ("username", "alice"),
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
