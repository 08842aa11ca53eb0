use std::time::Duration;

use super::spec::{MAX_DIMENSIONS_PER_SET, MAX_METRICS_PER_DIRECTIVE, Published, validate};
use super::*;

const TS: u64 = 1_764_000_000_000;

fn m() -> Metrics {
    Metrics::new("stack-token")
}

fn find<'a>(p: &'a [Published], name: &str, dims: &[&str]) -> &'a Published {
    p.iter()
        .find(|x| {
            x.name == name
                && x.dimensions
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    == dims
        })
        .unwrap_or_else(|| panic!("{name} by {dims:?} not published: {p:#?}"))
}

fn dim<'a>(p: &'a Published, key: &str) -> &'a str {
    &p.dimensions.iter().find(|(k, _)| k == key).unwrap().1
}

/// Every metric a line publishes is in the catalogue, under the catalogue's dimension sets and
/// unit, in Tollgate's namespace.
fn assert_catalogued(p: &[Published]) {
    for x in p {
        let spec = ALL
            .iter()
            .find(|s| s.name == x.name)
            .unwrap_or_else(|| panic!("{} is not in metrics::ALL", x.name));
        assert_eq!(x.namespace, NAMESPACE);
        assert_eq!(x.unit.as_deref(), Some(spec.unit.as_str()), "{}", x.name);
        let keys: Vec<&str> = x.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            spec.dimensions.contains(&keys.as_slice()),
            "{}: {keys:?}",
            x.name
        );
    }
}

#[test]
fn a_granted_token_request_publishes_requests_latency_and_grants_by_client() {
    let line = m().render_request(
        TS,
        false,
        Duration::from_micros(12_345),
        Some(("client-1", "password", "issued")),
        &RequestLog::default(),
    );
    let p = validate(&line).unwrap();
    assert_catalogued(&p);
    assert_eq!(find(&p, "Requests", &[FUNCTION_NAME]).values, [1.0]);
    assert_eq!(find(&p, "Unavailable", &[FUNCTION_NAME]).values, [0.0]);
    assert_eq!(find(&p, "Latency", &[FUNCTION_NAME]).values, [12.345]);
    let by_client = find(
        &p,
        "Grants",
        &[FUNCTION_NAME, "ClientId", "GrantType", "Outcome"],
    );
    assert_eq!(dim(by_client, "ClientId"), "client-1");
    assert_eq!(dim(by_client, "GrantType"), "password");
    assert_eq!(dim(by_client, "Outcome"), "issued");
    assert_eq!(dim(by_client, FUNCTION_NAME), "stack-token");
    find(&p, "Grants", &[FUNCTION_NAME, "GrantType", "Outcome"]);
}

#[test]
fn an_unavailable_revocation_counts_one_and_publishes_no_grant() {
    let line = m().render_request(
        TS,
        true,
        Duration::from_millis(3),
        None,
        &RequestLog::default(),
    );
    let p = validate(&line).unwrap();
    assert_catalogued(&p);
    assert_eq!(find(&p, "Unavailable", &[FUNCTION_NAME]).values, [1.0]);
    assert!(p.iter().all(|x| x.name != "Grants"));
}

/// The document is the request's log line too: what the request came to, as plain members
/// that publish nothing, and a client that did not authenticate only as its hash.
#[test]
fn the_requests_document_says_what_the_request_came_to_and_publishes_nothing_more() {
    let json = |line: &str| serde_json::from_str::<serde_json::Value>(line).unwrap();
    let refused = RequestLog {
        route: "token",
        method: "POST",
        status: 401,
        error: Some("invalid_client"),
        client_id: None,
        client_id_hash: Some("0123456789ab"),
        request_id: Some("req-1"),
    };
    let grant = Some(("unauthenticated", "password", "invalid_client"));
    let line = m().render_request(TS, false, Duration::from_millis(4), grant, &refused);
    let p = validate(&line).unwrap();
    assert_catalogued(&p);
    assert_eq!(
        p.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
        ["Requests", "Unavailable", "Latency", "Grants", "Grants"]
    );
    let v = json(&line);
    assert_eq!(v["Route"], "token");
    assert_eq!(v["Method"], "POST");
    assert_eq!(v["Status"], 401);
    assert_eq!(v["Error"], "invalid_client");
    assert_eq!(v["ClientIdHash"], "0123456789ab");
    assert_eq!(v["RequestId"], "req-1");
    assert_eq!(v["ClientId"], "unauthenticated", "the Grants dimension");

    // A route without a grant names its client as a member, not a dimension; an
    // authenticated client is never also hashed.
    let revoke = RequestLog {
        route: "revoke",
        method: "POST",
        status: 200,
        client_id: Some("client-1"),
        client_id_hash: Some("0123456789ab"),
        ..RequestLog::default()
    };
    let line = m().render_request(TS, false, Duration::from_millis(4), None, &revoke);
    let p = validate(&line).unwrap();
    assert_catalogued(&p);
    assert!(p.iter().all(|x| x.dimensions.len() == 1), "{p:#?}");
    let v = json(&line);
    assert_eq!(v["ClientId"], "client-1");
    assert!(v.get("GrantType").is_none(), "{line}");
    assert_eq!(v["Status"], 200);
    for absent in ["ClientIdHash", "Error", "RequestId"] {
        assert!(v.get(absent).is_none(), "{absent}: {line}");
    }
}

#[test]
fn counts_dependencies_and_decisions_are_valid_emf() {
    let mut lines = vec![
        m().render_count(TS, &LOCKOUTS, &[]),
        m().render_count(TS, &REVOCATIONS, &[]),
        m().render_count(TS, &REFRESH_REUSE, &[("ClientId", "c")]),
        m().render_authorization(
            TS,
            ("unauthorized", "token expired"),
            Duration::from_micros(80),
            RevocationFigures::default(),
            DecisionRecord::default(),
        ),
    ];
    for dep in [
        Dependency::AuthEndpoint,
        Dependency::DynamoDb,
        Dependency::SecretsManager,
        Dependency::UserStatus,
    ] {
        lines.push(m().render_dependency(TS, dep, false, Duration::from_millis(1000)));
    }
    lines.push(m().render_count(TS, &RATE_LIMITED, &[("ClientId", "c")]));
    lines.push(m().render_count(TS, &SESSIONS_ENDED, &[]));
    let figures = RevocationFigures {
        reads: 2,
        read_failures: 1,
        stale: true,
        unavailable: false,
    };
    let record = DecisionRecord {
        shape: Some("rest_token"),
        client_id: Some("app \"1\""),
        revocation_age_ms: Some(7_000),
    };
    lines.push(m().render_authorization(
        TS,
        ("allow", "ok"),
        Duration::from_micros(5),
        figures,
        record,
    ));
    let mut seen = std::collections::BTreeSet::new();
    for line in &lines {
        let p = validate(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_catalogued(&p);
        seen.extend(p.iter().map(|x| x.name.clone()));
    }
    let failures = validate(&lines[5]).unwrap();
    let f = find(
        &failures,
        "DependencyFailures",
        &[FUNCTION_NAME, "Dependency"],
    );
    assert_eq!((dim(f, "Dependency"), f.values[0]), ("dynamodb", 1.0));
    let auth = validate(&lines[3]).unwrap();
    let a = find(
        &auth,
        "Authorizations",
        &[FUNCTION_NAME, "Decision", "Reason"],
    );
    assert_eq!(dim(a, "Reason"), "token expired");
    assert_eq!(
        find(&auth, "AuthorizerLatency", &[FUNCTION_NAME]).values,
        [80.0]
    );
    // A decision with nothing to say about the revocation state declares none of its metrics.
    assert!(auth.iter().all(|x| !x.name.starts_with("Revocation")));
    let with = validate(lines.last().unwrap()).unwrap();
    // The log record's members are plain members: kept by CloudWatch, never dimensions.
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["shape"], "rest_token");
    assert_eq!(last["client_id"], "app \"1\"");
    assert_eq!(last["revocation_age_ms"], 7_000);
    // Two directives: the decisions by their dimensions, and everything by FunctionName alone.
    let directives = last["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert_eq!(directives.len(), 2, "{last}");
    assert!(with.iter().all(|p| {
        p.dimensions
            .iter()
            .all(|(k, _)| k != "client_id" && k != "shape")
    }));
    for (name, want) in [
        ("RevocationReads", 2.0),
        ("RevocationReadFailures", 1.0),
        ("RevocationStaleDecisions", 1.0),
    ] {
        assert_eq!(find(&with, name, &[FUNCTION_NAME]).values, [want], "{name}");
    }
    // A zero figure is neither declared nor written (its readers sum, the alarm fills with 0).
    assert!(
        with.iter()
            .all(|p| p.name != "RevocationUnavailableDecisions")
    );
    assert!(
        last.get("RevocationUnavailableDecisions").is_none(),
        "{last}"
    );
    let refused = m().render_authorization(
        TS,
        ("unavailable", "revocation state unavailable"),
        Duration::from_micros(5),
        RevocationFigures {
            unavailable: true,
            ..RevocationFigures::default()
        },
        DecisionRecord::default(),
    );
    let refused = validate(&refused).unwrap();
    assert_catalogued(&refused);
    let names: Vec<&str> = refused.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Authorizations",
            "Authorizations",
            "AuthorizerLatency",
            "RevocationUnavailableDecisions"
        ]
    );
    seen.extend(names.iter().map(|n| (*n).to_owned()));
    // Together with the request line, every catalogued metric has a writer.
    seen.extend(
        validate(&m().render_request(
            TS,
            false,
            Duration::ZERO,
            Some(("c", "password", "issued")),
            &RequestLog::default(),
        ))
        .unwrap()
        .into_iter()
        .map(|x| x.name),
    );
    let all: std::collections::BTreeSet<String> = ALL.iter().map(|s| s.name.to_owned()).collect();
    assert_eq!(seen, all);
}

#[test]
fn the_catalogue_stays_within_the_spec_limits() {
    let mut names = std::collections::BTreeSet::new();
    for s in ALL {
        assert!(!s.name.is_empty() && s.name.len() <= 255);
        assert!(names.insert(s.name), "{} twice", s.name);
        assert!(!s.dimensions.is_empty(), "{}", s.name);
        for set in s.dimensions {
            assert!(set.len() <= MAX_DIMENSIONS_PER_SET);
            assert_eq!(set.first(), Some(&FUNCTION_NAME), "{}: per stack", s.name);
        }
    }
    assert!(ALL.len() <= MAX_METRICS_PER_DIRECTIVE);
}

#[test]
fn dimension_values_are_escaped_bounded_and_never_empty() {
    let nasty = "a\"b\\c\nd\u{1}e\u{2028}";
    let line = m().render_request(
        TS,
        false,
        Duration::ZERO,
        Some((nasty, "", "issued")),
        &RequestLog::default(),
    );
    assert!(!line.contains('\n'), "one line: {line}");
    let p = validate(&line).unwrap();
    let g = find(
        &p,
        "Grants",
        &[FUNCTION_NAME, "ClientId", "GrantType", "Outcome"],
    );
    assert_eq!(dim(g, "ClientId"), nasty);
    assert_eq!(dim(g, "GrantType"), "none");
    let long = "é".repeat(700); // 1400 bytes
    let line = m().render_count(TS, &REFRESH_REUSE, &[("ClientId", &long)]);
    let p = validate(&line).unwrap();
    let v = dim(
        find(&p, "RefreshTokenReuse", &[FUNCTION_NAME, "ClientId"]),
        "ClientId",
    );
    assert!(v.len() <= 1024 && long.starts_with(v), "{}", v.len());
}

#[test]
fn the_checker_refuses_what_the_spec_forbids() {
    let ok = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"D":"x","M":1}"#;
    assert_eq!(validate(ok).unwrap().len(), 1);
    let bad = [
        ("not an object", "[1]".to_owned()),
        ("trailing data", format!("{ok} x")),
        ("no timestamp", ok.replace(r#""Timestamp":1,"#, "")),
        (
            "string timestamp",
            ok.replace(r#""Timestamp":1"#, r#""Timestamp":"1""#),
        ),
        (
            "no directives",
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"M":1}"#.to_owned(),
        ),
        ("value a string", ok.replace(r#""M":1"#, r#""M":"1""#)),
        ("value missing", ok.replace(r#","M":1"#, "")),
        ("dimension a number", ok.replace(r#""D":"x""#, r#""D":3"#)),
        ("dimension missing", ok.replace(r#""D":"x","#, "")),
        ("dimension empty", ok.replace(r#""D":"x""#, r#""D":"""#)),
        (
            "unknown unit",
            ok.replace(r#""Unit":"Count""#, r#""Unit":"Things""#),
        ),
        ("empty name", ok.replace(r#""Name":"M""#, r#""Name":"""#)),
        (
            "extra member",
            ok.replace(r#""Unit":"Count""#, r#""Unit":"Count","X":1"#),
        ),
        (
            "AWS namespace",
            ok.replace(r#""Namespace":"N""#, r#""Namespace":"AWS/Lambda""#),
        ),
        (
            "bad resolution",
            ok.replace(
                r#""Unit":"Count""#,
                r#""Unit":"Count","StorageResolution":5"#,
            ),
        ),
    ];
    for (what, line) in bad {
        assert!(validate(&line).is_err(), "{what}: {line}");
    }
    let dims: Vec<String> = (0..=MAX_DIMENSIONS_PER_SET)
        .map(|i| format!("\"D{i}\""))
        .collect();
    let values: String = (0..=MAX_DIMENSIONS_PER_SET)
        .map(|i| format!(",\"D{i}\":\"v\""))
        .collect();
    let wide = format!(
        r#"{{"_aws":{{"Timestamp":1,"CloudWatchMetrics":[{{"Namespace":"N","Dimensions":[[{}]],"Metrics":[{{"Name":"M"}}]}}]}},"M":1{values}}}"#,
        dims.join(",")
    );
    assert!(
        validate(&wide).unwrap_err().contains("31 keys"),
        "31 dimensions"
    );
    let defs: Vec<String> = (0..=MAX_METRICS_PER_DIRECTIVE)
        .map(|i| format!(r#"{{"Name":"M{i}"}}"#))
        .collect();
    let vals: String = (0..=MAX_METRICS_PER_DIRECTIVE)
        .map(|i| format!(",\"M{i}\":1"))
        .collect();
    let many = format!(
        r#"{{"_aws":{{"Timestamp":1,"CloudWatchMetrics":[{{"Namespace":"N","Dimensions":[],"Metrics":[{}]}}]}}{vals}}}"#,
        defs.join(",")
    );
    assert!(
        validate(&many)
            .unwrap_err()
            .contains("101 MetricDefinitions")
    );
}
