//! `tollgate-admin update-client --rate-limit / --password-grant-sunset / --response-profile`
//! against DynamoDB Local: what each writes, shows and clears, and what each refuses.

use tollgate_oauth::clock::{Clock, SystemClock};
use tollgate_service::client::{ClientStore, PasswordGrantSunset, ResponseProfile};
use tollgate_service::store::dynamo::DynamoClientStore;
use tollgate_tests::{create_tables, dynamo};

use tollgate_tests::admin::{admin, stdout as ok};

#[tokio::test]
async fn the_cli_sets_shows_and_clears_a_clients_limit_sunset_and_profile() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoClientStore::new(db.clone(), &t.clients);
    let table = t.clients.as_str();
    ok(&admin(
        table,
        &["create-client", "--id", "mover", "--name", "Mover"],
    ));
    let before = SystemClock.now();
    ok(&admin(
        table,
        &[
            "update-client",
            "--id",
            "mover",
            "--rate-limit",
            "5",
            "--password-grant-sunset",
            "2027-03-31",
            "--response-profile",
            "apigee",
        ],
    ));
    let c = store.get("mover").await.unwrap().unwrap();
    assert_eq!(c.rate_limit, Some(5));
    assert_eq!(c.response_profile, ResponseProfile::Apigee);
    let s: PasswordGrantSunset = c.password_grant_sunset.unwrap();
    assert_eq!(s.sunset_at, 1_806_451_200, "2027-03-31T00:00:00Z");
    assert!(s.deprecated_at >= before && s.deprecated_at <= SystemClock.now());

    let shown = ok(&admin(table, &["show-client", "--id", "mover"]));
    assert!(shown.contains("5 requests a minute"), "{shown}");
    assert!(shown.contains("2027-03-31T00:00:00Z"), "{shown}");
    assert!(shown.contains("apigee"), "{shown}");
    let json: serde_json::Value = serde_json::from_str(&ok(&admin(
        table,
        &["show-client", "--id", "mover", "--json"],
    )))
    .unwrap();
    assert_eq!(json["rate_limit"], 5);
    assert_eq!(json["response_profile"], "apigee");
    assert_eq!(json["password_grant_sunset"]["sunset_at"], 1_806_451_200);

    // A date-time with an offset, and 0 for unlimited.
    ok(&admin(
        table,
        &[
            "update-client",
            "--id",
            "mover",
            "--password-grant-sunset",
            "2027-03-31T02:00:00+02:00",
            "--rate-limit",
            "0",
        ],
    ));
    let c = store.get("mover").await.unwrap().unwrap();
    assert_eq!(c.password_grant_sunset.unwrap().sunset_at, 1_806_451_200);
    assert_eq!(c.rate_limit, Some(0));
    assert!(ok(&admin(table, &["show-client", "--id", "mover"])).contains("unlimited"));

    ok(&admin(
        table,
        &[
            "update-client",
            "--id",
            "mover",
            "--rate-limit",
            "default",
            "--password-grant-sunset",
            "none",
            "--response-profile",
            "rfc6749",
        ],
    ));
    let c = store.get("mover").await.unwrap().unwrap();
    assert_eq!(
        (c.rate_limit, c.password_grant_sunset, c.response_profile),
        (None, None, ResponseProfile::Rfc6749)
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&admin(
        table,
        &["show-client", "--id", "mover", "--json"],
    )))
    .unwrap();
    for gone in ["rate_limit", "password_grant_sunset", "response_profile"] {
        assert!(json.get(gone).is_none(), "{gone} cleared: {json}");
    }
}

#[tokio::test]
async fn the_cli_refuses_bad_limits_dates_and_profiles() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let table = t.clients.as_str();
    for (flag, value, expected) in [
        ("--rate-limit", "-1", "(0 is unlimited), or `default`"),
        ("--rate-limit", "1000001", "up to 1000000"),
        ("--rate-limit", "ten", "`default`"),
        ("--password-grant-sunset", "tomorrow", "RFC 3339 date"),
        ("--password-grant-sunset", "2027-02-30", "RFC 3339 date"),
        ("--response-profile", "soap", "rfc6749 or apigee"),
    ] {
        let o = admin(table, &["update-client", "--id", "x", flag, value]);
        assert!(!o.status.success(), "{flag} {value}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(expected), "{flag} {value}: {e}");
    }
}
