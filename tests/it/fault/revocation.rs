//! The revocation state unreadable, served: the fault instance's authorizer reads the
//! revocations table through the fault proxy, which here drops the answer of every Query naming
//! that table. With the default `REVOCATION_UNAVAILABLE=allow` the authorizer goes on deciding
//! with the last state it read, saying so in its decision line (its log record and metrics),
//! until that state is `REVOCATION_UNAVAILABLE_MAX_SECONDS` old (8 s in `make test`); then it
//! refuses valid tokens as a failed invocation (API Gateway's `503`), never as `Unauthorized`; a
//! bad token is still `Unauthorized`. When the table answers again, so does the authorizer, as
//! before.

use std::time::Duration;

use serde_json::{Value, json};
use tollgate_ddb_proxy::{Action, RuleSpec};
use tollgate_tests::authorizer::{admitted as allowed, authorize_at};
use tollgate_tests::fault::FaultServed;
use tollgate_tests::logs::json_lines;
use tollgate_tests::{ClientSpec, LogTail, dynamo, http, post_token, unique};

use super::{PROXY_USE, log_lines};

/// The sum of one EMF metric over the instance's authorizer lines so far.
fn metric(path: &str, name: &str) -> f64 {
    log_lines(path)
        .iter()
        .filter(|v| v.get("_aws").is_some() && v["FunctionName"] == "authorizer")
        .filter_map(|v| v[name].as_f64())
        .sum()
}

/// The authorizer's decision line that decided `want`: its EMF document, which is also its log
/// record (`Decision`, `Reason`, `revocation_age_ms`), read from the line's first `{` past
/// `cargo lambda watch`'s decoration.
fn decision(line: &str, want: &str) -> Option<Value> {
    let line = json_lines(line).into_iter().next()?;
    (line.get("Authorizations").is_some() && line["Decision"] == want).then_some(line)
}

async fn token(f: &FaultServed) -> String {
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &f.clients_table)
        .await;
    let username = unique("unreadable-user");
    let user = json!({"password": "pw-unreadable", "claims": {"sub": unique("sub")}});
    let url = format!("{}/users/{username}", f.auth_url);
    let resp = http().put(url).json(&user).send().await.expect("dev-auth");
    assert_eq!(resp.status().as_u16(), 200, "PUT /users: {resp:?}");
    let pairs = [
        ("grant_type", "password"),
        ("username", username.as_str()),
        ("password", "pw-unreadable"),
    ];
    let a = post_token(&f.token_url(), Some((&id, &secret)), &pairs).await;
    assert_eq!(a.status, 200, "{a:?}");
    a.json["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_authorizer_that_cannot_read_the_revocation_state_decides_as_configured() {
    // Other fault tests aim rules at their own items; the soak's stall would hold these reads.
    let _shared = PROXY_USE.read().await;
    let f = FaultServed::from_env();
    let access = token(&f).await;
    let bad = format!("{access}x");
    let mut log = LogTail::at_end(&f.log_path);
    assert!(
        allowed(&authorize_at(&f.invoke, &access).await),
        "read and allowed"
    );
    let failures_before = metric(&f.log_path, "RevocationReadFailures");

    let rule = f
        .proxy
        .add_rule(&RuleSpec {
            action: Action::Drop,
            target: Some("Query".into()),
            body_contains: Some(f.revocations_table.clone()),
            count: None,
        })
        .await;
    // Past the bound (2 s), the next decision reads, the read fails: the last state decides.
    // `cargo lambda watch` starts another instance when an invocation finds the others busy
    // (under load, or while other fault tests call it); one started now has never read the state and
    // refuses, as it must. The instances that read before the fault decide with what they read.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut stale = Err(String::new());
    for _ in 0..8 {
        stale = authorize_at(&f.invoke, &access).await;
        if allowed(&stale) {
            break;
        }
        assert_eq!(
            stale,
            Err("RevocationStateUnavailable".into()),
            "never read"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        allowed(&stale),
        "allow decides with the last state read: {stale:?}"
    );
    log.next_line(|l| l.contains("revocation state read failed"))
        .await;
    let line = log
        .next_line(|l| decision(l, "allow").is_some_and(|f| f.get("revocation_age_ms").is_some()))
        .await;
    let fields = decision(&line, "allow").unwrap_or_default();
    assert!(fields["revocation_age_ms"].as_u64().is_some(), "{line}");
    assert!(metric(&f.log_path, "RevocationStaleDecisions") >= 1.0);
    assert!(metric(&f.log_path, "RevocationReadFailures") > failures_before);

    // Once the last state read is older than REVOCATION_UNAVAILABLE_MAX_SECONDS: refused as a
    // failure, not as a bad token.
    tokio::time::sleep(f.revocation_stale_for).await;
    assert_eq!(
        authorize_at(&f.invoke, &access).await,
        Err("RevocationStateUnavailable".into())
    );
    let line = log
        .next_line(|l| decision(l, "unavailable").is_some())
        .await;
    let fields = decision(&line, "unavailable").unwrap_or_default();
    assert_eq!(fields["Reason"], "revocation state unavailable", "{line}");
    assert!(metric(&f.log_path, "RevocationUnavailableDecisions") >= 1.0);
    assert_eq!(
        authorize_at(&f.invoke, &bad).await,
        Err("Unauthorized".into()),
        "a bad token is refused as one, whatever the state"
    );

    // DynamoDB answers again: a second after the last failure, a read, and decisions as before.
    // `cargo lambda watch` may have started more instances meanwhile (one per invocation that
    // found the others busy), each with failed reads of its own; the decisions are spread over
    // them, so every one must be allowed, and the first that failed before says it read again.
    f.proxy.remove_rule(rule.id).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let mut said = false;
    for _ in 0..20 {
        let back = authorize_at(&f.invoke, &access).await;
        assert!(allowed(&back), "{back:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        said = log
            .next_line_now(|l| l.contains("revocation state read again"))
            .is_some();
        if said {
            break;
        }
    }
    assert!(said, "an instance that failed to read says it read again");
}
