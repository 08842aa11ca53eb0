//! template.yaml's alarms, dashboard and capacity parameters against the metric catalogue.

use std::collections::BTreeSet;

use serde_yaml::Value;
use tollgate_telemetry::metrics::{self, Dependency, FUNCTION_NAME, NAMESPACE};
use tollgate_tests::repo::template;

fn tagged<'a>(v: &'a Value, tag: &str) -> Option<&'a Value> {
    match v {
        Value::Tagged(t) if t.tag == tag => Some(&t.value),
        _ => None,
    }
}

fn resources_of(t: &Value, kind: &str) -> Vec<(String, Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(k, r)| (k.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// The stack's function a `!Sub "${AWS::StackName}-x"` names: `token` or `authorizer`.
fn function_of(v: &Value) -> String {
    let sub = tagged(v, "Sub").and_then(Value::as_str).unwrap_or_default();
    let f = sub
        .strip_prefix("${AWS::StackName}-")
        .unwrap_or_else(|| panic!("FunctionName must be ${{AWS::StackName}}-<fn>: {v:?}"));
    assert!(["token", "authorizer"].contains(&f), "{f}");
    f.to_owned()
}

/// One metric an alarm reads: (namespace, name, [(dimension, value)]).
type Watched = (String, String, Vec<(String, Value)>);

fn watched(alarm: &Value) -> Vec<Watched> {
    let one = |m: &Value| -> Watched {
        let dims = m["Dimensions"]
            .as_sequence()
            .map(|ds| {
                ds.iter()
                    .map(|d| (d["Name"].as_str().unwrap().to_owned(), d["Value"].clone()))
                    .collect()
            })
            .unwrap_or_default();
        (
            m["Namespace"].as_str().unwrap().to_owned(),
            m["MetricName"].as_str().unwrap().to_owned(),
            dims,
        )
    };
    let p = &alarm["Properties"];
    match p["Metrics"].as_sequence() {
        Some(ms) => ms
            .iter()
            .filter(|m| !m["MetricStat"].is_null())
            .map(|m| one(&m["MetricStat"]["Metric"]))
            .collect(),
        None => vec![one(p)],
    }
}

/// A Tollgate metric under one of its catalogued dimension sets, with values the code writes.
fn assert_emitted(what: &str, name: &str, dims: &[(String, String)]) {
    let spec = metrics::ALL
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{what}: {name} is not a metric the functions write"));
    let keys: BTreeSet<&str> = dims.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        spec.dimensions
            .iter()
            .any(|set| set.iter().copied().collect::<BTreeSet<_>>() == keys),
        "{what}: {name} is not published by {keys:?} (only {:?})",
        spec.dimensions
    );
    // A SEARCH names dimensions without values.
    for (k, v) in dims.iter().filter(|(_, v)| !v.is_empty()) {
        match k.as_str() {
            "Dependency" => assert!(
                [
                    Dependency::AuthEndpoint,
                    Dependency::DynamoDb,
                    Dependency::SecretsManager
                ]
                .iter()
                .any(|d| d.as_str() == v),
                "{what}: Dependency {v}"
            ),
            "Decision" => assert!(["allow", "deny", "unauthorized"].contains(&v.as_str())),
            _ => {}
        }
    }
}

#[test]
fn every_alarm_watches_a_metric_the_code_writes_and_notifies_the_optional_topic() {
    let t = template();
    let topic = serde_yaml::from_str::<Value>(
        "!If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]",
    )
    .unwrap();
    assert_eq!(
        t["Conditions"]["HasAlarmTopic"],
        serde_yaml::from_str::<Value>(r#"!Not [!Equals [!Ref AlarmTopicArn, ""]]"#).unwrap()
    );
    assert_eq!(t["Parameters"]["AlarmTopicArn"]["Default"], "");
    let alarms = resources_of(&t, "AWS::CloudWatch::Alarm");
    let mut covered = BTreeSet::new();
    for (name, alarm) in &alarms {
        let p = &alarm["Properties"];
        assert_eq!(p["AlarmActions"], topic, "{name}: AlarmActions");
        assert_eq!(p["OKActions"], topic, "{name}: OKActions");
        assert_eq!(p["TreatMissingData"], "notBreaching", "{name}");
        for (ns, metric, dims) in watched(alarm) {
            let fun = dims
                .iter()
                .find(|(k, _)| k == FUNCTION_NAME)
                .map(|(_, v)| function_of(v));
            let plain: Vec<(String, String)> = dims
                .iter()
                .map(|(k, v)| {
                    let v = match v.as_str() {
                        Some(s) => s.to_owned(),
                        None => format!("{v:?}"),
                    };
                    (k.clone(), v)
                })
                .collect();
            match ns.as_str() {
                NAMESPACE => assert_emitted(name, &metric, &plain),
                "AWS/Lambda" => {
                    assert!(fun.is_some(), "{name}: a Lambda metric of which function?")
                }
                // A REST API's metrics are by `ApiName`, an HTTP API's (`5xx`, lower case) by
                // `ApiId` and `Stage`.
                "AWS/ApiGateway" => assert!(
                    dims.iter().any(|(k, _)| k == "ApiName")
                        || (metric == "5xx"
                            && dims.iter().any(|(k, _)| k == "ApiId")
                            && dims.iter().any(|(k, _)| k == "Stage")),
                    "{name}: {metric} {dims:?}"
                ),
                other => panic!("{name}: unexpected namespace {other}"),
            }
            let dep = plain
                .iter()
                .find(|(k, _)| k == "Dependency")
                .map(|(_, v)| v.clone());
            covered.insert((metric, fun.unwrap_or_default(), dep.unwrap_or_default()));
        }
    }
    // The alarms the operations page promises.
    for (metric, fun, dep) in [
        ("Unavailable", "token", ""),
        ("5XXError", "", ""),
        // OAuthHttpApi=on's HTTP API (its alarm exists only with it).
        ("5xx", "", ""),
        ("DependencyFailures", "token", "auth_endpoint"),
        ("RefreshTokenReuse", "token", ""),
        ("Lockouts", "token", ""),
        ("Authorizations", "authorizer", ""),
        ("Errors", "authorizer", ""),
        ("Throttles", "token", ""),
        ("Throttles", "authorizer", ""),
    ] {
        assert!(
            covered.contains(&(metric.to_owned(), fun.to_owned(), dep.to_owned())),
            "no alarm on {metric} of {fun} {dep}: {covered:?}"
        );
    }
}

/// The dashboard body with `${...}` filled in, parsed.
fn dashboard(t: &Value) -> serde_json::Value {
    let body = tagged(
        &t["Resources"]["Dashboard"]["Properties"]["DashboardBody"],
        "Sub",
    )
    .and_then(Value::as_str)
    .expect("DashboardBody is a !Sub string");
    let mut filled = String::new();
    let mut rest = body;
    while let Some(i) = rest.find("${") {
        filled.push_str(&rest[..i]);
        let end = rest[i..].find('}').unwrap() + i;
        let var = &rest[i + 2..end];
        filled.push_str(match var {
            "AWS::StackName" => "stack",
            "AWS::Region" => "eu-west-1",
            v if v.ends_with(".Arn") => {
                let res = &v[..v.len() - 4];
                assert!(
                    t["Resources"][res]["Type"] == "AWS::CloudWatch::Alarm",
                    "{v}: not an alarm of this template"
                );
                res
            }
            other => panic!("dashboard refers to ${{{other}}}"),
        });
        rest = &rest[end + 1..];
    }
    filled.push_str(rest);
    serde_json::from_str(&filled).unwrap_or_else(|e| panic!("dashboard body: {e}\n{filled}"))
}

/// `SEARCH('{Namespace,Dim,...} MetricName="M" ...', ...)`: the namespace, the metric name and
/// the dimension names.
fn search_terms(expr: &str) -> (String, String, Vec<String>) {
    let schema = &expr[expr.find('{').unwrap() + 1..expr.find('}').unwrap()];
    let mut parts = schema.split(',').map(str::to_owned);
    let ns = parts.next().unwrap();
    let name = expr
        .split("MetricName=\"")
        .nth(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .unwrap_or_else(|| panic!("SEARCH without MetricName: {expr}"));
    (ns, name, parts.collect())
}

#[test]
fn the_dashboard_shows_every_metric_the_code_writes_and_only_those() {
    let t = template();
    let d = dashboard(&t);
    let mut shown = BTreeSet::new();
    let mut alarms_listed = BTreeSet::new();
    for w in d["widgets"].as_array().unwrap() {
        if w["type"] == "alarm" {
            for a in w["properties"]["alarms"].as_array().unwrap() {
                alarms_listed.insert(a.as_str().unwrap().to_owned());
            }
            continue;
        }
        for row in w["properties"]["metrics"].as_array().unwrap() {
            let row = row.as_array().unwrap();
            if let Some(expr) = row[0]["expression"].as_str() {
                let (ns, name, dims) = search_terms(expr);
                assert_eq!(ns, NAMESPACE, "{expr}");
                let dims: Vec<(String, String)> =
                    dims.into_iter().map(|k| (k, String::new())).collect();
                assert_emitted("dashboard", &name, &dims);
                shown.insert(name);
                continue;
            }
            let ns = row[0].as_str().unwrap();
            let name = row[1].as_str().unwrap().to_owned();
            let dims: Vec<(String, String)> = row[2..]
                .chunks(2)
                .filter(|c| c.len() == 2 && c[0].is_string())
                .map(|c| {
                    (
                        c[0].as_str().unwrap().to_owned(),
                        c[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            if ns == NAMESPACE {
                assert_emitted("dashboard", &name, &dims);
                shown.insert(name);
            } else {
                assert!(["AWS/Lambda", "AWS/ApiGateway"].contains(&ns), "{ns}");
            }
            for (k, v) in &dims {
                if k == FUNCTION_NAME {
                    assert!(
                        ["stack-token", "stack-authorizer"].contains(&v.as_str()),
                        "{v}"
                    );
                }
            }
        }
    }
    let all: BTreeSet<String> = metrics::ALL.iter().map(|s| s.name.to_owned()).collect();
    let missing: Vec<_> = all.difference(&shown).collect();
    assert!(missing.is_empty(), "not on the dashboard: {missing:?}");
    // An alarm that exists only under a condition (`OAuthHttpApi5xxAlarm`) cannot be named in
    // the dashboard's `!Sub` body, which must resolve in every stack; it is still an alarm with
    // its own state and notifications.
    let alarms: BTreeSet<String> = resources_of(&t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, a)| a.get("Condition").is_none())
        .map(|(n, _)| n)
        .collect();
    assert!(alarms.contains("Api5xxAlarm"), "{alarms:?}");
    assert_eq!(alarms_listed, alarms, "the alarm widget lists every alarm");
}

#[test]
fn the_functions_are_named_as_the_metrics_dimension_expects() {
    let t = template();
    for (res, f) in [
        ("TokenFunction", "token"),
        ("AuthorizerFunction", "authorizer"),
    ] {
        let name = &t["Resources"][res]["Properties"]["FunctionName"];
        assert_eq!(function_of(name), f, "{res}");
    }
}

#[test]
fn capacity_limits_are_off_unless_set() {
    let t = template();
    for (param, res, cond) in [
        (
            "TokenReservedConcurrency",
            "TokenFunction",
            "HasTokenReservedConcurrency",
        ),
        (
            "AuthorizerReservedConcurrency",
            "AuthorizerFunction",
            "HasAuthorizerReservedConcurrency",
        ),
    ] {
        assert_eq!(t["Parameters"][param]["Default"], 0, "{param}");
        let expected: Value =
            serde_yaml::from_str(&format!("!If [{cond}, !Ref {param}, !Ref AWS::NoValue]"))
                .unwrap();
        assert_eq!(
            t["Resources"][res]["Properties"]["ReservedConcurrentExecutions"], expected,
            "{res}"
        );
        assert_eq!(
            t["Conditions"][cond],
            serde_yaml::from_str::<Value>(&format!("!Not [!Equals [!Ref {param}, 0]]")).unwrap()
        );
    }
    let settings = &t["Resources"]["TokenApi"]["Properties"]["MethodSettings"];
    let branches = tagged(settings, "If").and_then(Value::as_sequence).unwrap();
    assert_eq!(branches[0], "HasApiThrottling");
    let s = &branches[1][0];
    assert_eq!(
        (s["ResourcePath"].as_str(), s["HttpMethod"].as_str()),
        (Some("/*"), Some("*"))
    );
    for (prop, param) in [
        ("ThrottlingRateLimit", "ApiThrottlingRateLimit"),
        ("ThrottlingBurstLimit", "ApiThrottlingBurstLimit"),
    ] {
        assert_eq!(t["Parameters"][param]["Default"], 0, "{param}");
        let v = tagged(&s[prop], "If").and_then(Value::as_sequence).unwrap();
        assert_eq!(tagged(&v[1], "Ref").and_then(Value::as_str), Some(param));
    }
}
