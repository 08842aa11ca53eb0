//! `template.yaml` grants each function only what it uses: the demo backend nothing but its
//! logs, the authorizer its logs and a Query of the revocations table and its live index, the
//! token function only named actions on named tables and secrets. The API routes what the
//! README says, open or behind the authorizer.

use serde_yaml::Value;
use tollgate_service::store::tables;
use tollgate_tests::repo::{tagged, template, yaml_text as yaml};

/// What a function's `Policies` grant, or, for a function with its own `Role` in this template,
/// that role's inline policies: inline statements (both branches of an `!If`), and any policy
/// that is not an inline statement (a managed policy or a SAM policy template), which this test
/// cannot see into (a role's managed policies are checked by
/// `no_function_takes_a_role_from_elsewhere`).
#[derive(Debug, Default)]
struct Grants {
    statements: Vec<Value>,
    opaque: Vec<Value>,
}

fn grants(function: &Value) -> Grants {
    fn statement(s: &Value, g: &mut Grants) {
        match s {
            Value::Tagged(t) if t.tag == "!If" => {
                for branch in t.value.as_sequence().unwrap().iter().skip(1) {
                    statement(branch, g);
                }
            }
            Value::Tagged(t) if t.tag == "!Ref" && t.value == "AWS::NoValue" => {}
            _ => g.statements.push(s.clone()),
        }
    }
    let mut g = Grants::default();
    let role = tagged(&function["Properties"]["Role"])
        .and_then(|(_, arn)| arn.strip_suffix(".Arn").map(str::to_owned));
    let t = template();
    let (policies, documents) = match &role {
        Some(role) => (
            &t["Resources"][role.as_str()]["Properties"]["Policies"],
            true,
        ),
        None => (&function["Properties"]["Policies"], false),
    };
    for p in policies.as_sequence().into_iter().flatten() {
        let p = if documents { &p["PolicyDocument"] } else { p };
        match p.get("Statement").and_then(Value::as_sequence) {
            Some(list) => list.iter().for_each(|s| statement(s, &mut g)),
            None => g.opaque.push(p.clone()),
        }
    }
    if let Some(single) = policies.as_str() {
        g.opaque.push(Value::String(single.into()));
    }
    g
}

fn actions(s: &Value) -> Vec<String> {
    match &s["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Sequence(l) => l
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        other => panic!("Action must be a string or a list: {other:?}"),
    }
}

fn resources(s: &Value) -> Vec<Value> {
    match &s["Resource"] {
        Value::Sequence(l) => l.clone(),
        Value::Null => panic!("every statement names its resources: {s:?}"),
        one => vec![one.clone()],
    }
}

const DYNAMODB_READS: [&str; 4] = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
];

#[test]
fn authorizer_has_no_dynamodb_write_and_no_private_key() {
    let t = template();
    let f = &t["Resources"]["AuthorizerFunction"];
    assert!(
        f["Properties"].get("Role").is_none(),
        "no hand-made role: SAM's carries only what Policies name"
    );
    let g = grants(f);
    assert!(g.opaque.is_empty(), "{:?}", g.opaque);
    for s in &g.statements {
        for a in actions(s) {
            assert!(
                a.starts_with("dynamodb:") && DYNAMODB_READS.contains(&a.as_str()),
                "the authorizer may at most read DynamoDB, not {a}"
            );
        }
    }
    // The authorizer never even learns where the private key is, nor of a table but the
    // revocations table.
    let whole = yaml(f).replace("RevocationsTable", "");
    for forbidden in [
        "SigningKeySecretArn",
        "secretsmanager",
        "SIGNING_KEY",
        "Table",
    ] {
        assert!(
            !whole.contains(forbidden),
            "authorizer mentions {forbidden}"
        );
    }
    // No other resource attaches a policy to its role.
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        let ty = r["Type"].as_str().unwrap_or_default();
        if ty.starts_with("AWS::IAM::") {
            assert!(
                !yaml(r).contains("AuthorizerFunction"),
                "{name:?} grants the authorizer something"
            );
        }
    }
}

#[test]
fn only_the_token_function_can_read_the_signing_key() {
    let t = template();
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if r["Type"] == "AWS::Serverless::Function" {
            for s in grants(r).statements {
                let names_key = resources(&s)
                    .iter()
                    .any(|res| tagged(res) == Some(("!Ref".into(), "SigningKeySecretArn".into())));
                if names_key {
                    assert_eq!(name, "TokenFunction");
                    assert_eq!(actions(&s), ["secretsmanager:GetSecretValue"]);
                }
            }
        } else if r["Type"]
            .as_str()
            .unwrap_or_default()
            .starts_with("AWS::IAM::")
            || r["Type"] == "AWS::SecretsManager::ResourcePolicy"
        {
            // The token function's own role, whose statements `grants` read above, may.
            if name != "TokenFunctionRole" {
                assert!(
                    !yaml(r).contains("SigningKeySecretArn"),
                    "{name} touches the key"
                );
            }
        }
    }
    let token = grants(&t["Resources"]["TokenFunction"]);
    assert!(token.statements.iter().any(|s| {
        resources(s)
            .iter()
            .any(|res| tagged(res) == Some(("!Ref".into(), "SigningKeySecretArn".into())))
    }));
}

/// The authorizer's one grant: `dynamodb:Query` on exactly the revocations table and its live
/// index, the table and index the code reads (`tables::REVOCATIONS`).
#[test]
fn the_authorizer_may_only_query_the_revocations_table_and_its_live_index() {
    let t = template();
    let g = grants(&t["Resources"]["AuthorizerFunction"]);
    assert!(g.opaque.is_empty(), "{:?}", g.opaque);
    assert_eq!(g.statements.len(), 1, "{:?}", g.statements);
    let s = &g.statements[0];
    assert_eq!(s["Effect"], "Allow");
    assert_eq!(actions(s), ["dynamodb:Query"]);
    assert!(s.get("Condition").is_none() && s.get("NotResource").is_none());
    let live = tables::REVOCATIONS.indexes[0].name;
    assert_eq!(tables::REVOCATIONS.indexes.len(), 1);
    let got: Vec<(String, String)> = resources(s)
        .iter()
        .map(|r| tagged(r).unwrap_or_else(|| panic!("{r:?}")))
        .collect();
    assert_eq!(
        got,
        [
            ("!GetAtt".to_owned(), "RevocationsTable.Arn".to_owned()),
            (
                "!Sub".to_owned(),
                format!("${{RevocationsTable.Arn}}/index/{live}")
            ),
        ]
    );
    // It reads the table the template names, by the variable the code reads.
    let vars = &t["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        tagged(&vars[tables::REVOCATIONS.env_var]),
        Some(("!Ref".into(), tables::REVOCATIONS.logical_id.into()))
    );
}

#[test]
fn every_grant_names_its_actions_and_resources() {
    let t = template();
    // What each table's users may do to it: the token function never writes client records
    // (the admin CLI does, with the operator's own credentials) and never reads the revocation
    // feed (the authorizer does, and may do nothing else to it).
    let allowed: [(&str, &[&str]); 5] = [
        (
            "TokenFunction:RevocationsTable.Arn",
            &[
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:BatchGetItem",
            ],
        ),
        (
            "AuthorizerFunction:RevocationsTable.Arn",
            &["dynamodb:Query"],
        ),
        ("ClientsTable.Arn", &["dynamodb:GetItem"]),
        (
            "TokensTable.Arn",
            &[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:BatchGetItem",
            ],
        ),
        (
            "LockoutsTable.Arn",
            &[
                "dynamodb:GetItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
            ],
        ),
    ];
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let g = grants(r);
        assert!(g.opaque.is_empty(), "{name:?}: {:?}", g.opaque);
        for s in &g.statements {
            assert_eq!(s["Effect"], "Allow");
            let acts = actions(s);
            for a in &acts {
                assert!(!a.contains('*'), "{name:?}: wildcard action {a}");
            }
            for res in resources(s) {
                let (tag, target) = tagged(&res).unwrap_or_else(|| {
                    panic!("{name:?}: resource {res:?} is not a !Ref or !GetAtt")
                });
                if tag == "!Sub" && acts.iter().any(|a| a.starts_with("dynamodb:")) {
                    // Only the session indexes of the tokens table (the token function) and the
                    // live index of the revocations table (the authorizer), only to query them.
                    let (spec, user) = match target.split_once("/index/") {
                        Some(("${TokensTable.Arn}", _)) => (tables::TOKENS, "TokenFunction"),
                        Some(("${RevocationsTable.Arn}", _)) => {
                            (tables::REVOCATIONS, "AuthorizerFunction")
                        }
                        _ => panic!("{name:?}: DynamoDB on {target}"),
                    };
                    let index = target.rsplit('/').next().unwrap_or_default();
                    assert_eq!(name.as_str(), Some(user), "{target}");
                    assert!(
                        spec.indexes.iter().any(|i| i.name == index),
                        "{name:?}: {index}"
                    );
                    assert_eq!(acts, ["dynamodb:Query"], "{name:?}");
                } else if acts.iter().any(|a| a.starts_with("dynamodb:")) {
                    assert_eq!(tag, "!GetAtt");
                    let own = format!("{}:{target}", name.as_str().unwrap_or_default());
                    let (_, ok) = allowed
                        .iter()
                        .find(|(table, _)| *table == target || *table == own)
                        .unwrap_or_else(|| panic!("{name:?}: DynamoDB on {target}"));
                    for a in &acts {
                        assert!(ok.contains(&a.as_str()), "{name:?}: {a} on {target}");
                    }
                } else {
                    assert_eq!(acts, ["secretsmanager:GetSecretValue"], "{name:?}");
                    assert_eq!(tag, "!Ref");
                    assert!(target.ends_with("SecretArn"), "{name:?}: {target}");
                }
            }
        }
    }
    assert!(
        grants(&t["Resources"]["WhoamiFunction"])
            .statements
            .is_empty(),
        "WhoamiFunction needs no permissions"
    );
}

/// Who may reach a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    Open,
    Authorizer,
    /// `AuthorizationType: AWS_IAM`.
    Iam,
}
use Guard::{Authorizer, Iam, Open};

#[test]
fn api_routes_are_open_or_behind_the_authorizer_as_documented() {
    let t = template();
    let body = &t["Resources"]["TokenApi"]["Properties"]["DefinitionBody"];
    let function_names: Vec<String> = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|r| tagged(&r["Properties"]["FunctionName"]).map(|(_, v)| v))
        .collect();
    let expect = [
        ("/token", "post", "token", Open),
        ("/revoke", "post", "token", Open),
        ("/introspect", "post", "token", Open),
        ("/sessions/revoke", "post", "token", Iam),
        ("/.well-known/jwks.json", "get", "token", Open),
        (
            "/.well-known/oauth-authorization-server",
            "get",
            "token",
            Open,
        ),
        ("/authorize", "get", "token", Open),
        ("/authorize", "post", "token", Open),
        ("/userinfo", "get", "token", Open),
        ("/userinfo", "post", "token", Open),
        ("/end_session", "get", "token", Open),
        ("/end_session", "post", "token", Open),
        ("/.well-known/openid-configuration", "get", "token", Open),
        ("/whoami", "get", "whoami", Authorizer),
    ];
    let paths = body["paths"].as_mapping().unwrap();
    let routes: usize = paths.values().map(|m| m.as_mapping().unwrap().len()).sum();
    assert_eq!(
        routes,
        expect.len(),
        "every route (path and method) is listed here"
    );
    for (path, method, function, protected) in expect {
        let op = &body["paths"][path][method];
        let (_, uri) = tagged(&op["x-amazon-apigateway-integration"]["uri"]).unwrap();
        let target = format!("${{AWS::StackName}}-{function}");
        assert!(
            uri.ends_with(&format!(":function:{target}/invocations")),
            "{path}: {uri}"
        );
        assert!(
            function_names.contains(&target),
            "{path}: no function named {target}"
        );
        let security = yaml(&op["security"]);
        assert_eq!(
            security.contains("TollgateAuthorizer"),
            protected == Authorizer,
            "{path}"
        );
        assert_eq!(security.contains("sigv4"), protected == Iam, "{path}");
        if protected == Open {
            assert!(op.get("security").is_none(), "{path}: {security}");
        }
    }
    // `sigv4` is API Gateway's AWS_IAM authorization: SigV4-signed callers only.
    let sigv4 = &body["securityDefinitions"]["sigv4"];
    assert_eq!(
        sigv4["x-amazon-apigateway-authtype"], "awsSigv4",
        "{sigv4:?}"
    );
    assert_eq!(
        (
            sigv4["type"].as_str(),
            sigv4["name"].as_str(),
            sigv4["in"].as_str()
        ),
        (Some("apiKey"), Some("Authorization"), Some("header"))
    );
    // No stage-wide or method-wide default security that could stand in for it.
    assert!(body.get("security").is_none());
    let (_, authorizer_uri) = tagged(
        &body["securityDefinitions"]["TollgateAuthorizer"]["x-amazon-apigateway-authorizer"]["authorizerUri"],
    )
    .unwrap();
    assert!(authorizer_uri.ends_with(":function:${AWS::StackName}-authorizer/invocations"));
    // RFC 6750 §3: a Bearer challenge on the authorizer's 401 and 403.
    let responses = &t["Resources"]["TokenApi"]["Properties"]["GatewayResponses"];
    for (kind, status, error) in [
        ("UNAUTHORIZED", 401, "invalid_token"),
        ("ACCESS_DENIED", 403, "insufficient_scope"),
    ] {
        let r = &responses[kind];
        assert_eq!(r["StatusCode"].as_u64(), Some(status));
        let challenge = r["ResponseParameters"]["Headers"]["WWW-Authenticate"]
            .as_str()
            .unwrap();
        assert!(
            challenge.starts_with("'Bearer realm=") && challenge.contains(error),
            "{challenge}"
        );
        assert!(
            r["ResponseParameters"]["Headers"]
                .get("Access-Control-Allow-Origin")
                .is_some()
        );
        let json: serde_json::Value =
            serde_json::from_str(r["ResponseTemplates"]["application/json"].as_str().unwrap())
                .unwrap();
        assert_eq!(json["error"], error);
    }
}

/// A function with `Role:` runs with that role instead of its `Policies`: only the token
/// function has one, its own `TokenFunctionRole` in this template (SAM would give the role it
/// makes the VPC access policy whenever `VpcConfig` is written, even under a false condition),
/// whose managed policies are Lambda's logging policy and, only in a VPC, Lambda's VPC access
/// policy. The Globals give none.
#[test]
fn no_function_takes_a_role_from_elsewhere() {
    let t = template();
    assert!(
        t["Globals"]["Function"].get("Role").is_none(),
        "Globals.Function.Role"
    );
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"] != "AWS::Serverless::Function" && r["Type"] != "AWS::Lambda::Function" {
            continue;
        }
        match r["Properties"].get("Role") {
            None => {}
            Some(role) if name == "TokenFunction" => {
                let role = tagged(role).expect("Role: !GetAtt TokenFunctionRole.Arn");
                assert_eq!(role, ("!GetAtt".into(), "TokenFunctionRole.Arn".into()));
            }
            Some(_) => panic!("{name:?} has a Role: its permissions are not its Policies"),
        }
    }
    let role = &t["Resources"]["TokenFunctionRole"];
    assert_eq!(role["Type"], "AWS::IAM::Role");
    let trust = yaml(&role["Properties"]["AssumeRolePolicyDocument"]);
    assert!(
        trust.contains("lambda.amazonaws.com") && trust.contains("sts:AssumeRole"),
        "{trust}"
    );
    let managed = yaml(&role["Properties"]["ManagedPolicyArns"]);
    let basic = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
    let vpc = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole";
    let expected: Value = serde_yaml::from_str(&format!(
        "- !Sub \"{basic}\"\n- !If\n  - InVpc\n  - !Sub \"{vpc}\"\n  - !Ref AWS::NoValue\n"
    ))
    .unwrap();
    assert_eq!(
        managed,
        yaml(&expected),
        "TokenFunctionRole's managed policies"
    );
}

/// The token function runs in a VPC exactly when `VpcSubnetIds` is given: the `InVpc`
/// condition decides both its `VpcConfig` and its role's VPC access policy (above), and an
/// empty parameter (the default) means no VPC.
#[test]
fn the_token_function_joins_a_vpc_only_when_subnets_are_given() {
    let t = template();
    for p in ["VpcSubnetIds", "VpcSecurityGroupIds"] {
        let param = &t["Parameters"][p];
        assert_eq!(param["Type"], "CommaDelimitedList", "{p}");
        assert_eq!(param["Default"], "", "{p}");
    }
    let condition = yaml(&t["Conditions"]["InVpc"]);
    assert!(
        condition.contains("!Equals") && condition.contains("VpcSubnetIds"),
        "{condition}"
    );
    let vpc = &t["Resources"]["TokenFunction"]["Properties"]["VpcConfig"];
    let expected: Value = serde_yaml::from_str(
        "!If\n- InVpc\n- SubnetIds: !Ref VpcSubnetIds\n  SecurityGroupIds: !Ref VpcSecurityGroupIds\n- !Ref AWS::NoValue\n",
    )
    .unwrap();
    assert_eq!(yaml(vpc), yaml(&expected));
    for other in ["AuthorizerFunction", "WhoamiFunction"] {
        let props = &t["Resources"][other]["Properties"];
        assert!(props.get("VpcConfig").is_none(), "{other} needs no VPC");
    }
}

/// Any IAM resource the template declares (roles, policies) names its actions and resources:
/// no `*` in either, in any statement.
#[test]
fn iam_resources_have_no_wildcards() {
    fn walk(v: &Value, name: &str) {
        match v {
            Value::Mapping(m) => {
                for (k, child) in m {
                    if k == "Action" || k == "Resource" || k == "NotAction" || k == "NotResource" {
                        let all = match child {
                            Value::Sequence(s) => s.clone(),
                            other => vec![other.clone()],
                        };
                        for item in all {
                            if let Some(s) = item.as_str() {
                                assert!(!s.contains('*'), "{name}: {k:?} {s}");
                            }
                        }
                    }
                    walk(child, name);
                }
            }
            Value::Sequence(s) => s.iter().for_each(|c| walk(c, name)),
            Value::Tagged(t) => walk(&t.value, name),
            _ => {}
        }
    }
    let t = template();
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        let ty = r["Type"].as_str().unwrap_or_default();
        if ty.starts_with("AWS::IAM::") {
            walk(&r["Properties"], &format!("{name:?} ({ty})"));
        }
    }
    // The functions' inline statements pass the same check.
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"] == "AWS::Serverless::Function" {
            walk(&r["Properties"]["Policies"], &format!("{name:?}"));
        }
    }
}

/// Each function may be invoked by API Gateway for this API only, and only as far as it is
/// used: the expected SourceArn of each permission, written out.
#[test]
fn lambda_permissions_are_scoped_to_this_api() {
    let api = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${TokenApi}";
    let http_api =
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${OAuthHttpApiGateway}";
    // Each permission by its name: the function it lets API Gateway invoke, and from where.
    let expected = [
        (
            "TokenFunctionApiPermission",
            "TokenFunction",
            format!("{api}/*"),
        ),
        (
            "WhoamiFunctionApiPermission",
            "WhoamiFunction",
            format!("{api}/*/GET/whoami"),
        ),
        (
            "AuthorizerFunctionApiPermission",
            "AuthorizerFunction",
            format!("{api}/authorizers/*"),
        ),
        (
            "TokenFunctionHttpApiPermission",
            "TokenFunction",
            format!("{http_api}/*"),
        ),
    ];
    let t = template();
    let mut seen = Vec::new();
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"] != "AWS::Lambda::Permission" {
            continue;
        }
        let name = name.as_str().unwrap();
        let p = &r["Properties"];
        assert_eq!(p["Action"], "lambda:InvokeFunction", "{name}");
        assert_eq!(p["Principal"], "apigateway.amazonaws.com", "{name}");
        let (_, function) = tagged(&p["FunctionName"]).expect("FunctionName is a !Ref");
        let (tag, arn) = tagged(&p["SourceArn"])
            .unwrap_or_else(|| panic!("{name}: a permission without a SourceArn"));
        assert_eq!(tag, "!Sub", "{name}");
        let (_, want_function, want_arn) = expected
            .iter()
            .find(|(n, _, _)| *n == name)
            .unwrap_or_else(|| panic!("{name}: a permission this test does not know"));
        assert_eq!(&function, want_function, "{name}");
        assert_eq!(&arn, want_arn, "{name}");
        seen.push(name.to_owned());
    }
    seen.sort();
    let mut all: Vec<&str> = expected.iter().map(|(n, _, _)| *n).collect();
    all.sort();
    assert_eq!(seen, all);
}

/// Every secret the token function is told about (an `*_SECRET_ARN` variable) is one it may
/// read, and only through the parameter that names it: a pepper rotation's previous pepper
/// (`ClientSecretPreviousPepperSecretArn`) included, or peppered clients would fail at the deploy.
#[test]
fn every_secret_the_token_function_is_given_is_one_it_may_read() {
    let t = template();
    let f = &t["Resources"]["TokenFunction"];
    let env = f["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .expect("the token function's environment");
    let readable: Vec<String> = grants(f)
        .statements
        .iter()
        .filter(|s| actions(s) == ["secretsmanager:GetSecretValue"])
        .flat_map(resources)
        .filter_map(|r| tagged(&r).map(|(_, target)| target))
        .collect();
    let mut given = Vec::new();
    for (name, value) in env {
        let name = name.as_str().unwrap_or_default();
        if !name.ends_with("_SECRET_ARN") {
            continue;
        }
        let (tag, parameter) = tagged(value).unwrap_or_else(|| panic!("{name}: {value:?}"));
        assert_eq!(tag, "!Ref", "{name}");
        assert!(
            t["Parameters"].get(parameter.as_str()).is_some(),
            "{name}: {parameter} is no parameter"
        );
        assert!(
            readable.contains(&parameter),
            "{name}: no GetSecretValue on {parameter}"
        );
        given.push(name.to_owned());
    }
    for expected in [
        "SIGNING_KEY_SECRET_ARN",
        "CLIENT_SECRET_PEPPER_SECRET_ARN",
        "CLIENT_SECRET_PREVIOUS_PEPPER_SECRET_ARN",
        "AUTH_ENDPOINT_CREDENTIAL_SECRET_ARN",
        "LEGACY_REFRESH_CREDENTIAL_SECRET_ARN",
    ] {
        assert!(
            given.iter().any(|g| g == expected),
            "{expected} is not given"
        );
    }
}

/// The legacy refresh endpoint's credential is readable only in a stack that accepts legacy
/// refresh tokens (`LegacyRefreshUrl` and its secret set, together or not at all), and that URL
/// is `https` or nothing: legacy refresh tokens travel to it.
#[test]
fn the_legacy_credential_is_readable_only_when_legacy_refresh_is_on() {
    let t = template();
    let role = &t["Resources"]["TokenFunctionRole"]["Properties"]["Policies"][0];
    let statements = role["PolicyDocument"]["Statement"].as_sequence().unwrap();
    let guarded: Vec<&Value> = statements
        .iter()
        .filter_map(|s| match s {
            Value::Tagged(t) if t.tag == "!If" => t.value.as_sequence(),
            _ => None,
        })
        .filter(|branches| {
            branches
                .iter()
                .any(|b| b["Sid"] == "ReadLegacyRefreshCredential")
        })
        .map(|branches| &branches[0])
        .collect();
    assert_eq!(guarded.len(), 1, "one conditional grant");
    assert_eq!(guarded[0].as_str(), Some("HasLegacyRefresh"));
    let unguarded = statements
        .iter()
        .any(|s| s["Sid"] == "ReadLegacyRefreshCredential");
    assert!(!unguarded, "never granted unconditionally");
    // The condition is on the secret's parameter (what cfn-lint resolves the grant's resource
    // with), and the rules make the secret and the URL go together.
    let condition = yaml(&t["Conditions"]["HasLegacyRefresh"]);
    assert!(
        condition.contains("LegacyRefreshSecretArn") && condition.contains("!Not"),
        "{condition}"
    );
    for rule in ["LegacyRefreshNeedsSecret", "LegacySecretNeedsUrl"] {
        let r = yaml(&t["Rules"][rule]);
        assert!(
            r.contains("LegacyRefreshUrl") && r.contains("LegacyRefreshSecretArn"),
            "{rule}: {r}"
        );
    }
    let p = &t["Parameters"]["LegacyRefreshUrl"];
    assert_eq!(p["Default"], "", "off unless asked for");
    let pattern = regex::Regex::new(p["AllowedPattern"].as_str().unwrap()).unwrap();
    for ok in [
        "",
        "https://legacy.example.com/refresh",
        "https://10.0.0.7:8443/r?x=1",
    ] {
        assert!(pattern.is_match(ok), "{ok}");
    }
    for refused in [
        "http://legacy.example.com/refresh",
        "legacy.example.com",
        "https://",
        "https://a b",
        " https://legacy.example.com",
    ] {
        assert!(!pattern.is_match(refused), "{refused}");
    }
    let env = &t["Resources"]["TokenFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        tagged(&env["LEGACY_REFRESH_URL"]),
        Some(("!Ref".into(), "LegacyRefreshUrl".into()))
    );
}
