//! Moving clients off Apigee and off the password grant, over HTTP under `cargo lambda watch`:
//! a client with a password-grant sunset sees `Deprecation` and `Sunset` before it and
//! `unauthorized_client` after it; a client on the Apigee profile gets Apigee's answer shapes.

use serde_json::Value;
use tollgate_oauth::clock::{Clock, SystemClock};
use tollgate_service::client::{ClientStore, ClientUpdate, PasswordGrantSunset, ResponseProfile};
use tollgate_service::store::dynamo::DynamoClientStore;
use tollgate_tests::{ClientSpec, Served, dynamo, post_token};

const USER: [(&str, &str); 3] = [
    ("grant_type", "password"),
    ("username", "migrant"),
    ("password", "migrant-password"),
];

async fn client(served: &Served, spec: ClientSpec) -> (String, String) {
    spec.create(&dynamo().await, &served.clients_table).await
}

#[tokio::test]
async fn a_sunset_client_is_told_before_the_date_and_refused_after_it() {
    let served = Served::from_env();
    let now = SystemClock.now();
    let sunset = PasswordGrantSunset {
        sunset_at: now + 30 * 24 * 3600,
        deprecated_at: now - 3600,
    };
    let (id, secret) = client(
        &served,
        ClientSpec {
            password_grant_sunset: Some(sunset),
            ..ClientSpec::default()
        },
    )
    .await;
    let a = post_token(&served.token_url(), Some((&id, &secret)), &USER).await;
    assert_eq!(a.status, 200, "{a:?}");
    // RFC 9745 §2.1: a Structured Field Date; RFC 8594 §3: an HTTP-date (IMF-fixdate).
    let deprecation = format!("@{}", sunset.deprecated_at);
    assert_eq!(a.header("deprecation"), Some(deprecation.as_str()));
    let expected = tollgate_service::sunset::http_date(sunset.sunset_at);
    assert_eq!(a.header("sunset"), Some(expected.as_str()));
    let sunset_header = a.header("sunset").unwrap();
    assert!(
        sunset_header.ends_with(" GMT") && sunset_header.len() == 29,
        "IMF-fixdate: {sunset_header}"
    );
    // A refresh is not the password grant: no headers.
    let refresh = a.json["refresh_token"].as_str().unwrap().to_owned();
    let r = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.header("deprecation").is_none() && r.header("sunset").is_none());

    // The date passes (set in the past rather than waited for).
    let past = PasswordGrantSunset {
        sunset_at: now - 60,
        deprecated_at: now - 3600,
    };
    DynamoClientStore::new(dynamo().await, &served.clients_table)
        .update(
            &id,
            &ClientUpdate {
                password_grant_sunset: Some(Some(past)),
                ..ClientUpdate::default()
            },
        )
        .await
        .unwrap();
    let refused = post_token(&served.token_url(), Some((&id, &secret)), &USER).await;
    refused.assert_error(400, "unauthorized_client");
    let why = refused.json["error_description"]
        .as_str()
        .unwrap_or_default();
    let date = tollgate_service::sunset::rfc3339(past.sunset_at);
    assert!(
        why.contains("password grant") && why.contains("ended") && why.contains(&date),
        "{why}"
    );
    // Its refresh tokens go on working.
    let next = r.json["refresh_token"].as_str().unwrap();
    let r = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", next)],
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
}

/// A string holding a whole number.
fn numeric_string(v: &Value, name: &str) -> u64 {
    v[name]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not a numeric string: {v}"))
}

/// Every member of an Apigee `GenerateAccessToken` answer (docs/apigee-migration.md), with its
/// type; `refresh` says whether the refresh-token members are there.
fn check_apigee_shape(v: &Value, id: &str, name: &str, refresh: bool) -> u64 {
    let mut members: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    members.sort_unstable();
    let mut expected = vec![
        "access_token",
        "api_product_list",
        "api_product_list_json",
        "application_name",
        "client_id",
        "expires_in",
        "issued_at",
        "scope",
        "status",
        "token_type",
    ];
    if refresh {
        expected.extend([
            "refresh_token",
            "refresh_token_expires_in",
            "refresh_token_issued_at",
            "refresh_token_status",
        ]);
        expected.sort_unstable();
    }
    assert_eq!(members, expected, "{v}");
    against_apigees_sample(v);
    assert_eq!(v["token_type"], "BearerToken");
    assert_eq!(v["status"], "approved");
    assert_eq!(v["client_id"], id);
    assert_eq!(v["application_name"], name);
    assert_eq!(v["api_product_list"], "[]");
    assert_eq!(v["api_product_list_json"], serde_json::json!([]));
    assert_eq!(v["scope"], "profile");
    assert_eq!(numeric_string(v, "expires_in"), 900);
    let issued_ms = numeric_string(v, "issued_at");
    let now_ms = SystemClock.now() * 1000;
    assert!(
        issued_ms <= now_ms + 1000 && issued_ms + 60_000 >= now_ms,
        "issued_at in ms: {issued_ms}"
    );
    assert!(
        v["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    if refresh {
        assert_eq!(v["refresh_token_status"], "approved");
        assert_eq!(v["refresh_token_issued_at"], v["issued_at"]);
        let expires = numeric_string(v, "refresh_token_expires_in");
        assert!(expires > 0 && expires <= 14 * 24 * 3600, "{expires}");
        assert!(v["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
    }
    issued_ms
}

/// The member names and JSON types of Apigee Edge's documented `GenerateAccessToken` sample
/// answer (password grant, non-RFC-compliant; our own values in
/// tests/fixtures/apigee/generate-access-token.json): each member Tollgate writes has the
/// sample's type, and each sample member Tollgate does not write is one docs/apigee-migration.md
/// lists as left out. `api_product_list_json` is Apigee X's addition, not in the Edge sample.
fn against_apigees_sample(v: &Value) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/apigee/generate-access-token.json"
    ))
    .unwrap();
    let sample: Value = serde_json::from_str(&text).unwrap();
    let sample = sample.as_object().unwrap();
    let kind = |x: &Value| std::mem::discriminant(x);
    for (name, value) in v.as_object().unwrap() {
        match sample.get(name) {
            Some(s) => assert_eq!(kind(value), kind(s), "{name}: {value} vs Apigee's {s}"),
            None => assert_eq!(name, "api_product_list_json", "not in Apigee's sample"),
        }
    }
    let left_out = [
        "developer.email",
        "organization_id",
        "organization_name",
        "refresh_count",
    ];
    let refresh_members = v.get("refresh_token").is_some();
    for name in sample.keys() {
        let written = v.get(name).is_some();
        let refresh_only = name.starts_with("refresh_token");
        assert!(
            written || left_out.contains(&name.as_str()) || (refresh_only && !refresh_members),
            "Apigee's {name} is neither written nor listed as left out"
        );
    }
}

#[tokio::test]
async fn an_apigee_profile_client_gets_apigee_shaped_answers_throughout_an_exchange() {
    let served = Served::from_env();
    let (id, secret) = client(
        &served,
        ClientSpec {
            response_profile: ResponseProfile::Apigee,
            ..ClientSpec::default()
        },
    )
    .await;
    // ClientSpec names its clients "test".
    let a = post_token(&served.token_url(), Some((&id, &secret)), &USER).await;
    assert_eq!(a.status, 200, "{a:?}");
    a.assert_no_store();
    check_apigee_shape(&a.json, &id, "test", true);
    let refresh = a.json["refresh_token"].as_str().unwrap();
    let r = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    check_apigee_shape(&r.json, &id, "test", true);

    // Errors after the client authenticated: Apigee's ErrorCode and Error, same statuses.
    let wrong = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "migrant"),
            ("password", "not-it"),
        ],
    )
    .await;
    assert_eq!(wrong.status, 400, "{wrong:?}");
    let mut members: Vec<&str> = wrong
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(members, ["Error", "ErrorCode"], "{wrong:?}");
    assert_eq!(wrong.json["ErrorCode"], "invalid_grant");
    assert!(wrong.json["Error"].as_str().is_some_and(|e| !e.is_empty()));
    let reused = post_token(
        &served.token_url(),
        Some((&id, &secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(
        (reused.status, &reused.json["ErrorCode"]),
        (400, &Value::from("invalid_grant"))
    );
    // Before authentication the client is unknown: RFC 6749's shape.
    let unknown = post_token(&served.token_url(), Some((&id, "wrong-secret")), &USER).await;
    unknown.assert_error(401, "invalid_client");
}

#[tokio::test]
async fn the_default_profile_stays_rfc_6749() {
    let served = Served::from_env();
    let (id, secret) = client(&served, ClientSpec::default()).await;
    let a = post_token(&served.token_url(), Some((&id, &secret)), &USER).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json["token_type"], "Bearer");
    assert_eq!(a.json["expires_in"], 900);
    assert!(a.json.get("issued_at").is_none() && a.json.get("status").is_none());
    assert!(a.header("deprecation").is_none() && a.header("sunset").is_none());
}
