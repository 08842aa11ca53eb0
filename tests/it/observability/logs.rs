//! The token function's logs, captured from `cargo lambda watch`, never hold a password, a
//! client secret, an access token or a refresh token, nor an unauthenticated client_id: at DEBUG
//! (the first instance) and at TRACE (the instance whose auth endpoint is down), where the
//! Lambda runtime would log every raw event if the log filter let it.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tollgate_tests::logs::json_lines;
use tollgate_tests::{ClientSpec, LogTail, Served, basic_header, dynamo, invoke_at, post_token};

/// Every form in which a secret could reach a log: as sent, form-urlencoded (a logged body), and
/// base64 (standard and URL-safe: a logged Authorization header or a JWT segment).
fn forms_of(value: &str) -> Vec<String> {
    vec![
        value.to_owned(),
        form_urlencoded::byte_serialize(value.as_bytes()).collect(),
        STANDARD.encode(value),
        URL_SAFE_NO_PAD.encode(value),
    ]
}

fn assert_absent(logs: &str, path: &str, what: &str, value: &str) {
    for form in forms_of(value) {
        assert!(
            !logs.contains(&form),
            "the {what} appears in {path} (as {form:?})"
        );
    }
}

/// Password grants (right and wrong, Basic and body credentials), a refused client, swapped id
/// and secret, a refresh and a revocation: none of their secrets reaches the DEBUG log, in any
/// encoding, and the log shows DEBUG lines and every one of these requests.
#[tokio::test]
async fn logs_of_successful_and_failed_requests_hold_no_secrets() {
    let served = Served::from_env();
    let mut tail = LogTail::at_end(&served.log_path);
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let basic = |id: &str, secret: &str| Some((id.to_owned(), secret.to_owned()));
    let post = |url: String, creds: Option<(String, String)>, p: Vec<(&'static str, String)>| async move {
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post_token(
            &url,
            creds.as_ref().map(|(i, s)| (i.as_str(), s.as_str())),
            &p,
        )
        .await
    };
    let ok = post(
        served.token_url(),
        basic(&id, &secret),
        vec![
            ("grant_type", "password".into()),
            ("username", "demo".into()),
            ("password", "demo-password".into()),
        ],
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    // Characters that form-urlencoding changes, so the encoded form is a different string.
    let wrong_password = "Wr0ng pass/w+rd&=%-for-the-log-test";
    let failed = post(
        served.token_url(),
        None,
        vec![
            ("grant_type", "password".into()),
            ("username", "logwrong".into()),
            ("password", wrong_password.into()),
            ("client_id", id.clone()),
            ("client_secret", secret.clone()),
        ],
    )
    .await;
    assert_eq!(failed.status, 400, "{failed:?}");
    let bad_client_secret = "not the secret/but+still&secret=xyz";
    let refused = post(
        served.token_url(),
        basic(&id, bad_client_secret),
        vec![("grant_type", "password".into())],
    )
    .await;
    assert_eq!(refused.status, 401);
    // A client that swapped its id and secret: the "id" it sends is its secret.
    let swapped = post(
        served.token_url(),
        None,
        vec![
            ("grant_type", "password".into()),
            ("client_id", secret.clone()),
            ("client_secret", id.clone()),
        ],
    )
    .await;
    assert_eq!(swapped.status, 401);
    let first_refresh = ok.json["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = post(
        served.token_url(),
        basic(&id, &secret),
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", first_refresh.clone()),
        ],
    )
    .await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let second_refresh = refreshed.json["refresh_token"].as_str().unwrap().to_owned();
    let revoked = post(
        served.revoke_url(),
        basic(&id, &secret),
        vec![("token", second_refresh.clone())],
    )
    .await;
    assert_eq!(revoked.status, 200, "{revoked:?}");

    // The function logs each request as it ends, in its `Requests` document: wait for the
    // revocation's.
    let ended = |l: &str, route: &str, grant_type: &str| {
        json_lines(l).first().is_some_and(|v| {
            v["Requests"] == 1
                && v["Route"] == route
                && v["Method"] == "POST"
                && v["Status"] == 200
                && v["ClientId"] == id.as_str()
                && (grant_type.is_empty() || v["GrantType"] == grant_type)
                && v["RequestId"].as_str().is_some_and(|r| !r.is_empty())
        })
    };
    let mut seen = Vec::new();
    tail.next_line(|l| {
        seen.push(l.to_owned());
        ended(l, "revoke", "")
    })
    .await;
    assert!(
        seen.iter().any(|l| ended(l, "token", "refresh_token")),
        "the refresh is logged: {}",
        served.log_path
    );
    assert!(
        seen.iter()
            .any(|l| l.starts_with("DEBUG") || l.contains(" DEBUG ")),
        "the instance must emit DEBUG lines for this test to mean anything: {}",
        served.log_path
    );
    let logs = String::from_utf8_lossy(&std::fs::read(&served.log_path).unwrap()).into_owned();
    let path = served.log_path.as_str();
    for (what, value) in [
        ("password", "demo-password"),
        ("wrong password", wrong_password),
        ("client secret", secret.as_str()),
        ("wrong client secret", bad_client_secret),
        ("access token", ok.json["access_token"].as_str().unwrap()),
        ("refresh token", first_refresh.as_str()),
        (
            "refreshed access token",
            refreshed.json["access_token"].as_str().unwrap(),
        ),
        ("rotated refresh token", second_refresh.as_str()),
    ] {
        assert_absent(&logs, path, what, value);
    }
    // The Authorization header values, whole and as the id:secret pair inside them.
    for (i, s) in [
        (id.as_str(), secret.as_str()),
        (id.as_str(), bad_client_secret),
    ] {
        let header = basic_header(i, s);
        assert!(
            !logs.contains(&header),
            "an Authorization header is in {path}"
        );
        let pair = header.trim_start_matches("Basic ");
        assert!(!logs.contains(pair), "a Basic credential is in {path}");
        assert_absent(&logs, path, "id:secret pair", &format!("{i}:{s}"));
    }
}

#[tokio::test]
async fn logs_at_trace_hold_no_secrets_nor_raw_events() {
    let served = Served::from_env();
    let mut tail = LogTail::at_end(&served.auth_down_log_path);
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
    let event = tollgate_tests::authorizer::sam_rest_token(&format!("Bearer {access}"));
    // This instance has another issuer, so the authorizer refuses the token; it still had the
    // raw event with the bearer token in hand.
    let (_, answer) = invoke_at(
        &served.auth_down_invoke,
        "authorizer",
        event.to_string().as_bytes(),
    )
    .await;
    assert_eq!(answer["errorMessage"], "Unauthorized", "{answer}");

    // The authorizer's refusal is the last of these requests: wait for its decision line.
    tail.next_line(|l| {
        json_lines(l)
            .first()
            .is_some_and(|v| v["Decision"] == "unauthorized" && v["shape"] == "rest_token")
    })
    .await;
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
        assert_absent(&logs, &served.auth_down_log_path, what, value);
    }
}
