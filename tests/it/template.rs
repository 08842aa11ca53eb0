//! `template.yaml` and the code must agree on the tables: keys and TTL attributes.

use serde_yaml::Value;
use tollgate_common::tables;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

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
        assert_eq!(attrs.len(), 1);
        assert_eq!(attrs[0]["AttributeName"].as_str(), Some(spec.hash_key));
        assert_eq!(attrs[0]["AttributeType"].as_str(), Some("S"));
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
