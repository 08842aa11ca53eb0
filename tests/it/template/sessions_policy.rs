//! `POST /sessions/revoke` is reachable only by the principals named in
//! `SessionsRevokePrincipals`: the API's resource policy (`x-amazon-apigateway-policy` in
//! `template.yaml`), resolved for a parameter value and evaluated here the way API Gateway
//! evaluates it together with the caller's IAM policy (same account: an explicit Deny in either
//! wins; otherwise an Allow in either lets an IAM-signed caller in; an unauthenticated route
//! needs the resource policy's Allow). The evaluator is written in this test, with IAM's `*`
//! matching from `tollgate_tests::iam_glob`.

use serde_yaml::Value;
use tollgate_tests::iam_glob;
use tollgate_tests::repo::template;

const ACCOUNT: &str = "123456789012";

/// The template's parameters with `SessionsRevokePrincipals` set to `principals`.
struct Stack {
    template: Value,
    principals: String,
}

impl Stack {
    fn new(principals: &str) -> Self {
        Self {
            template: template(),
            principals: principals.into(),
        }
    }

    fn param(&self, name: &str) -> Value {
        match name {
            "SessionsRevokePrincipals" => Value::String(self.principals.clone()),
            other => panic!("the policy reads a parameter this test does not set: {other}"),
        }
    }

    /// A condition of the template's `Conditions`, evaluated.
    fn condition(&self, name: &str) -> bool {
        let c = self.template["Conditions"][name].clone();
        self.truth(&c)
    }

    fn truth(&self, v: &Value) -> bool {
        let Value::Tagged(t) = v else {
            panic!("not a condition: {v:?}")
        };
        let args = t.value.as_sequence();
        match t.tag.to_string().as_str() {
            "!Not" => !self.truth(&args.unwrap()[0]),
            "!Equals" => {
                let a = args.unwrap();
                self.resolve(&a[0]) == self.resolve(&a[1])
            }
            "!Condition" => self.condition(t.value.as_str().unwrap()),
            other => panic!("condition function {other} not read by this test"),
        }
    }

    /// `v` with `!Ref`, `!If` and `!Split` resolved.
    fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::Tagged(t) => match t.tag.to_string().as_str() {
                "!Ref" => self.param(t.value.as_str().unwrap()),
                "!If" => {
                    let a = t.value.as_sequence().unwrap();
                    let chosen = if self.condition(a[0].as_str().unwrap()) {
                        &a[1]
                    } else {
                        &a[2]
                    };
                    self.resolve(chosen)
                }
                "!Split" => {
                    let a = t.value.as_sequence().unwrap();
                    let sep = a[0].as_str().unwrap();
                    let text = self.resolve(&a[1]);
                    Value::Sequence(
                        text.as_str()
                            .unwrap()
                            .split(sep)
                            .map(|s| Value::String(s.into()))
                            .collect(),
                    )
                }
                other => panic!("{other} in the resource policy is not read by this test"),
            },
            Value::Sequence(s) => Value::Sequence(s.iter().map(|x| self.resolve(x)).collect()),
            Value::Mapping(m) => Value::Mapping(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.resolve(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn statements(&self) -> Vec<Value> {
        let body = &self.template["Resources"]["TokenApi"]["Properties"]["DefinitionBody"];
        let policy = self.resolve(&body["x-amazon-apigateway-policy"]);
        assert_eq!(policy["Version"].as_str(), Some("2012-10-17"));
        policy["Statement"].as_sequence().unwrap().clone()
    }
}

/// A caller: an IAM principal ARN (None: unsigned), and whether its own IAM policy allows
/// `execute-api:Invoke` on everything (the broad grant the issue worries about).
#[derive(Clone, Copy)]
struct Caller<'a> {
    arn: Option<&'a str>,
    iam_allows_invoke: bool,
}

fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(s) => s.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
        other => panic!("not a string or list: {other:?}"),
    }
}

/// Whether statement `s` applies to `caller` invoking `method path` on any stage.
fn applies(s: &Value, caller: Caller<'_>, method: &str, path: &str) -> bool {
    assert_eq!(s["Principal"].as_str(), Some("*"), "{s:?}");
    assert_eq!(s["Action"].as_str(), Some("execute-api:Invoke"), "{s:?}");
    let resource = format!("execute-api:/v1/{method}{path}");
    if !as_list(&s["Resource"])
        .iter()
        .any(|r| iam_glob(r, &resource))
    {
        return false;
    }
    let Some(condition) = s.get("Condition") else {
        return true;
    };
    let condition = condition.as_mapping().unwrap();
    assert_eq!(condition.len(), 1, "one condition operator: {s:?}");
    let (op, keys) = condition.iter().next().unwrap();
    assert_eq!(op.as_str(), Some("ArnNotEquals"), "{s:?}");
    let listed = as_list(&keys["aws:PrincipalArn"]);
    // A negated operator holds when the key is absent (an unsigned call has no principal).
    caller
        .arn
        .is_none_or(|arn| !listed.iter().any(|l| l == arn))
}

#[derive(Debug, PartialEq, Eq)]
enum Auth {
    /// No authorization: the resource policy must allow.
    Open,
    /// `AWS_IAM`: the caller's IAM policy or the resource policy must allow.
    Iam,
}

fn reaches(stack: &Stack, caller: Caller<'_>, method: &str, path: &str, auth: Auth) -> bool {
    let statements = stack.statements();
    let effect = |e: &str| {
        statements
            .iter()
            .any(|s| s["Effect"].as_str() == Some(e) && applies(s, caller, method, path))
    };
    if effect("Deny") {
        return false;
    }
    match auth {
        Auth::Open => effect("Allow"),
        Auth::Iam => caller.arn.is_some() && (effect("Allow") || caller.iam_allows_invoke),
    }
}

fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

#[test]
fn only_named_principals_reach_the_session_route_and_by_default_nobody_does() {
    let sync = role("identity-sync");
    let ops = format!("arn:aws:iam::{ACCOUNT}:user/ops");
    let broad = role("deploy-everything");
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    let elsewhere = "arn:aws:iam::999999999999:role/identity-sync";
    fn caller(arn: &str) -> Caller<'_> {
        Caller {
            arn: Some(arn),
            iam_allows_invoke: true,
        }
    }
    let revoke =
        |stack: &Stack, c: Caller<'_>| reaches(stack, c, "POST", "/sessions/revoke", Auth::Iam);

    // The default: nobody, whatever their IAM policy says (the admin CLI remains).
    let default = Stack::new("");
    for arn in [&sync, &ops, &broad, &root, elsewhere] {
        assert!(!revoke(&default, caller(arn)), "{arn}");
    }

    let named = Stack::new(&format!("{sync},{ops}"));
    for arn in [&sync, &ops] {
        assert!(revoke(&named, caller(arn)), "{arn} is named");
        let without_iam = Caller {
            arn: Some(arn),
            iam_allows_invoke: false,
        };
        assert!(
            revoke(&named, without_iam),
            "{arn}: the resource policy names it"
        );
    }
    for arn in [&broad, &root, elsewhere] {
        assert!(!revoke(&named, caller(arn)), "{arn} is not named");
    }
    let unsigned = Caller {
        arn: None,
        iam_allows_invoke: false,
    };
    assert!(!revoke(&named, unsigned));

    // Every other route is as open as its own authorization: the OAuth endpoints and the
    // discovery documents for anyone, CORS preflights too; /whoami (the authorizer) is not
    // denied by the resource policy.
    for stack in [&default, &named] {
        for (method, path) in [
            ("POST", "/token"),
            ("POST", "/revoke"),
            ("POST", "/introspect"),
            ("GET", "/.well-known/jwks.json"),
            ("GET", "/.well-known/oauth-authorization-server"),
            ("OPTIONS", "/token"),
            ("OPTIONS", "/sessions/revoke"),
            ("GET", "/whoami"),
        ] {
            assert!(
                reaches(stack, unsigned, method, path, Auth::Open),
                "{method} {path}"
            );
        }
    }
}

/// The policy's Deny names the route the API serves, and the parameter accepts role and user
/// ARNs only: no wildcard (`ArnNotEquals` compares exactly; a `*` would name nobody), no account
/// root (it would read as "the account" and match only its root user).
#[test]
fn the_session_route_policy_names_the_served_route_and_exact_principals() {
    let t = template();
    let body = &t["Resources"]["TokenApi"]["Properties"]["DefinitionBody"];
    assert!(body["paths"]["/sessions/revoke"]["post"].is_mapping());
    for principals in ["", "arn:aws:iam::123456789012:role/x"] {
        let denies: Vec<Value> = Stack::new(principals)
            .statements()
            .into_iter()
            .filter(|s| s["Effect"].as_str() == Some("Deny"))
            .collect();
        assert_eq!(denies.len(), 1, "{denies:?}");
        assert_eq!(
            denies[0]["Resource"].as_str(),
            Some("execute-api:/*/POST/sessions/revoke")
        );
    }
    let p = &t["Parameters"]["SessionsRevokePrincipals"];
    assert_eq!(p["Default"].as_str(), Some(""));
    let pattern = regex::Regex::new(p["AllowedPattern"].as_str().unwrap()).unwrap();
    for ok in [
        "",
        "arn:aws:iam::123456789012:role/identity-sync",
        "arn:aws:iam::123456789012:role/path/to/role,arn:aws:iam::123456789012:user/ops",
        "arn:aws-us-gov:iam::123456789012:role/sync",
    ] {
        assert!(pattern.is_match(ok), "{ok}");
    }
    for bad in [
        "*",
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::123456789012:role/*",
        "123456789012",
        "arn:aws:iam::123456789012:role/x,",
        "arn:aws:iam::123456789012:role/x, arn:aws:iam::123456789012:role/y",
        "arn:aws:sts::123456789012:assumed-role/x/session",
    ] {
        assert!(!pattern.is_match(bad), "{bad}");
    }
}
