//! `template.yaml` and the code must agree on the tables: keys and TTL attributes.

use serde_yaml::Value;
use tollgate_service::store::tables;
use tollgate_tests::repo::template;

#[test]
fn template_tables_match_the_code() {
    let t = template();
    for spec in tables::ALL {
        let res = &t["Resources"][spec.logical_id];
        assert_eq!(
            res["Type"].as_str(),
            Some("AWS::DynamoDB::Table"),
            "{}",
            spec.logical_id
        );
        let p = &res["Properties"];
        assert_eq!(p["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
        let keys = p["KeySchema"].as_sequence().unwrap();
        assert_eq!(
            keys.len(),
            1,
            "{}: one hash key, no sort key",
            spec.logical_id
        );
        assert_eq!(keys[0]["AttributeName"].as_str(), Some(spec.hash_key));
        assert_eq!(keys[0]["KeyType"].as_str(), Some("HASH"));
        let attrs = p["AttributeDefinitions"].as_sequence().unwrap();
        let mut declared: Vec<&str> = attrs
            .iter()
            .map(|a| {
                assert_eq!(a["AttributeType"].as_str(), Some("S"), "{a:?}");
                a["AttributeName"].as_str().unwrap()
            })
            .collect();
        declared.sort_unstable();
        let mut wanted = vec![spec.hash_key];
        for i in spec.indexes {
            for k in [Some(i.hash_key), i.range_key].into_iter().flatten() {
                if !wanted.contains(&k) {
                    wanted.push(k);
                }
            }
        }
        wanted.sort_unstable();
        assert_eq!(declared, wanted, "{}: key attributes", spec.logical_id);
        indexes_match(spec, p);
        match spec.ttl_attribute {
            Some(ttl) => {
                assert_eq!(
                    p["TimeToLiveSpecification"]["AttributeName"].as_str(),
                    Some(ttl),
                    "{}",
                    spec.logical_id
                );
                assert_eq!(
                    p["TimeToLiveSpecification"]["Enabled"].as_bool(),
                    Some(true)
                );
            }
            None => assert!(p.get("TimeToLiveSpecification").is_none()),
        }
    }
}

/// The table's global secondary indexes are the code's, each projecting every attribute.
fn indexes_match(spec: tables::TableSpec, p: &Value) {
    let declared = p["GlobalSecondaryIndexes"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    assert_eq!(declared.len(), spec.indexes.len(), "{}", spec.logical_id);
    for (d, i) in declared.iter().zip(spec.indexes) {
        assert_eq!(d["IndexName"].as_str(), Some(i.name));
        let keys: Vec<(&str, &str)> = d["KeySchema"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["AttributeName"].as_str().unwrap(),
                    k["KeyType"].as_str().unwrap(),
                )
            })
            .collect();
        let mut want = vec![(i.hash_key, "HASH")];
        want.extend(i.range_key.map(|r| (r, "RANGE")));
        assert_eq!(keys, want, "{}", i.name);
        assert_eq!(d["Projection"]["ProjectionType"].as_str(), Some("ALL"));
    }
}

#[test]
fn token_function_gets_every_table_by_its_variable() {
    let t = template();
    let vars = &t["Resources"]["TokenFunction"]["Properties"]["Environment"]["Variables"];
    for spec in tables::ALL {
        let v = &vars[spec.env_var];
        let Value::Tagged(tagged) = v else {
            panic!("{} must be !Ref {}", spec.env_var, spec.logical_id)
        };
        assert_eq!(tagged.tag.to_string(), "!Ref");
        assert_eq!(tagged.value.as_str(), Some(spec.logical_id));
    }
}

fn yaml(rel: &str) -> Value {
    let path = format!("{}/../{rel}", env!("CARGO_MANIFEST_DIR"));
    serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A number, or the default of the parameter a `!Ref` names.
fn number(doc: &Value, v: &Value) -> i64 {
    match v {
        Value::Tagged(t) if t.tag == "!Ref" => {
            let name = t.value.as_str().unwrap();
            doc["Parameters"][name]["MaxValue"]
                .as_i64()
                .unwrap_or_else(|| panic!("{name} needs a MaxValue"))
        }
        other => other
            .as_i64()
            .or_else(|| other.as_str().and_then(|s| s.parse().ok()))
            .unwrap(),
    }
}

const EVERY_TEMPLATE: [&str; 3] = [
    "template.yaml",
    "docs/attach-rest-api.yaml",
    "docs/attach-http-api.yaml",
];

#[test]
fn no_shipped_configuration_lets_a_cached_decision_cross_routes() {
    let mut http_authorizers = 0;
    for rel in EVERY_TEMPLATE {
        let doc = yaml(rel);
        for (name, res) in doc["Resources"].as_mapping().unwrap() {
            let auth = &res["Properties"]["Auth"]["Authorizers"];
            let Some(auths) = auth.as_mapping() else {
                continue;
            };
            for (aname, a) in auths {
                let what = format!("{rel}: {name:?}.{aname:?}");
                let ttl = &a["Identity"]["ReauthorizeEvery"];
                let cached = ttl.is_null() || number(&doc, ttl) > 0;
                if res["Type"] == "AWS::Serverless::HttpApi" {
                    http_authorizers += 1;
                    // A simple yes/no is the first route's answer; cached, it serves others.
                    let simple = a["EnableSimpleResponses"].as_bool().unwrap_or(false);
                    assert!(!(simple && cached), "{what}: simple responses with a cache");
                    assert_eq!(
                        a["Identity"]["Headers"],
                        serde_yaml::from_str::<Value>("[Authorization]").unwrap(),
                        "{what}: one identity source"
                    );
                } else {
                    // REST authorizers answer with a policy; only TOKEN and REQUEST exist.
                    let kind = a["FunctionPayloadType"].as_str().unwrap_or("TOKEN");
                    assert!(["TOKEN", "REQUEST"].contains(&kind), "{what}");
                }
            }
        }
    }
    assert!(http_authorizers > 0, "the HTTP API example was checked");
    // Tollgate's own default answer for HTTP APIs is a policy.
    let t = template();
    assert_eq!(t["Parameters"]["HttpApiResponse"]["Default"], "iam");
    assert_eq!(t["Parameters"]["UnlistedRoutes"]["Default"], "deny");
    assert_eq!(t["Parameters"]["PathCase"]["Default"], "lower");
}

#[test]
fn a_cached_allow_outlives_its_token_by_at_most_the_shortest_lifetime() {
    let t = template();
    let token_min = t["Parameters"]["AccessTokenTtl"]["MinValue"]
        .as_i64()
        .unwrap();
    for rel in EVERY_TEMPLATE {
        let doc = yaml(rel);
        let cache = &doc["Parameters"]["AuthorizerCacheTtl"];
        let max = cache["MaxValue"].as_i64().unwrap();
        assert!(
            max <= token_min,
            "{rel}: cache {max} s > token {token_min} s"
        );
        assert!(cache["Default"].as_i64().unwrap() <= max);
    }
    // The template's own authorizer caches for AuthorizerCacheTtl.
    let body = &t["Resources"]["TokenApi"]["Properties"]["DefinitionBody"];
    let a = &body["securityDefinitions"]["TollgateAuthorizer"]["x-amazon-apigateway-authorizer"];
    assert!(number(&t, &a["authorizerResultTtlInSeconds"]) <= token_min);
}

#[test]
fn gateway_response_bodies_are_valid_json_with_a_quoted_message() {
    let t = template();
    let responses = t["Resources"]["TokenApi"]["Properties"]["GatewayResponses"]
        .as_mapping()
        .unwrap();
    let mut checked = 0;
    for rel in EVERY_TEMPLATE {
        let doc = yaml(rel);
        for (_, res) in doc["Resources"].as_mapping().unwrap() {
            let Some(rs) = res["Properties"]["GatewayResponses"].as_mapping() else {
                continue;
            };
            for (name, r) in rs.iter().chain(responses.iter()) {
                for (_, body) in r["ResponseTemplates"].as_mapping().unwrap() {
                    // API Gateway substitutes messageString already quoted (and escaped).
                    let filled = body.as_str().unwrap().replace(
                        "$context.error.messageString",
                        r#""Missing \"Authentication\" Token""#,
                    );
                    assert!(!filled.contains("$context"), "{rel} {name:?}: {filled}");
                    let json: serde_json::Value = serde_json::from_str(&filled)
                        .unwrap_or_else(|e| panic!("{rel} {name:?}: {e}: {filled}"));
                    assert!(json["error"].is_string() && json["error_description"].is_string());
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 7, "{checked}");
}

#[test]
fn the_authorizer_answers_only_for_its_own_api_by_default() {
    let t = template();
    let vars = &t["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"];
    let allowed = serde_yaml::to_string(&vars["ALLOWED_APIS"]).unwrap();
    assert!(
        allowed.contains("${TokenApi}/${StageName}"),
        "ALLOWED_APIS: {allowed}"
    );
    for v in [
        "UNLISTED_ROUTES",
        "PATH_CASE",
        "HTTP_API_RESPONSE",
        "ROUTE_SCOPES",
    ] {
        assert!(!vars[v].is_null(), "{v} is set");
    }
}
