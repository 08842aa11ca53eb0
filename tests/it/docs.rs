//! Docs that cannot drift: plain file reading, no services. The log messages the functions emit
//! against docs/operations.md, the template's parameters against docs/configuration.md and every
//! parameter name the docs use, and every relative link in the docs against the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml::Value;

mod attach;
mod commands;
mod drift;
mod links;
mod rust_lexer;
mod stack_outputs;
use rust_lexer::{log_messages, string_literals, tokens};
use tollgate_tests::repo::{
    backticked, doc_files, first_column_names, read, root, sections, table_rows, template,
};

/// CamelCase names the docs may use that are not Tollgate's: AWS properties, metrics, errors.
/// A name neither here nor in template.yaml fails the test, so a renamed parameter is caught.
const KNOWN_NAMES: &[&str] = &[
    "Allow",
    "Authorization",
    "BatchGetItem",
    "Bearer",
    "BuildProperties",
    "CapacityUnits", // DynamoDB Local's ConsumedCapacity, recorded by the fault proxy (testing.md)
    "CodeUri",
    "ConditionalCheckFailed",
    "ConsumedCapacity",
    "ConsumedReadCapacityUnits",
    "ConsumedWriteCapacityUnits",
    "DefinitionBody",
    "DeletionPolicy",
    "Deny",
    "DisplayName", // the Apigee app attribute import-clients reads
    // Apigee's OAuthV2 operations, element and token type (apigee-migration.md), and the HTTP
    // headers of a password-grant sunset (RFC 9745, RFC 8594).
    "BearerToken",
    "Deprecation",
    "ErrorCode",
    "GenerateAccessToken",
    "GenerateJWTAccessToken",
    "InvalidateToken",
    "RFCCompliantRequestResponse",
    "RefreshAccessToken",
    "Sunset",
    "VerifyAccessToken",
    "VerifyJWT", // the Apigee policy that accepts Tollgate's tokens during a cut-over
    // The Apigee policies of the legacy refresh proxy (apigee-migration.md).
    "AssignMessage",
    "FaultRule",
    "GetOAuthV2Info",
    "KeyValueMapOperations",
    "VerifyAPIKey",
    "RaiseFault",
    // SAM and Lambda names for a function in a VPC (deploy.md, decisions.md).
    "AWSLambdaVPCAccessExecutionRole",
    "VpcConfig",
    "Policies",
    // The sign-in page (code-flow.md): the cookie's attributes, the `Link` and `Location` headers,
    // authlib's session class, the page module's escaping type.
    "Secure",
    "HttpOnly",
    "Link",
    "Location",
    "OAuth2Session",
    "Html",
    // The log field of a request's dependency line: each call's place (operations.md).
    "Order",
    // The log fields of the token function's `Requests` document (operations.md).
    "Route",
    "Method",
    "Status",
    "Error",
    "ClientIdHash",
    "RequestId",
    "Duration",
    "EnableFunctionDefaultPermissions",
    "EnableSimpleResponses",
    "Errors",
    "GetItem",
    "GetSecretValue",
    // DynamoDB's API names and an HTTP header the revocation feed's docs cite (decisions.md,
    // operations.md, security.md).
    "AccessDeniedException",
    "BatchGetItem",
    "ConsistentRead",
    "Date",
    "Query",
    "IncomingBytes",
    "LogFormat",
    "LoggingConfig",
    "Pragma",
    "PutItem",
    "Retain",
    "ReturnConsumedCapacity", // asked for on every call by the recording proxy (make cost)
    "SSEEnabled",
    "SecretString",
    "Timestamp", // EMF's metadata member (operations.md, the authorizer's decision line)
    "Throttles",
    "TollgateStackName",
    "TransactWrite",
    "TransactWriteItems",
    "TransactionConflict",
    "Unauthorized",
    "UpdateItem",
    "DeleteItem",
    "ApiName",
    "Debug",
    "EdDSA",
    "Scan",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The source of what the functions run: the function crates and the library crates they use.
fn function_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for top in ["crates", "functions"] {
        rust_files(&root().join(top), &mut files);
    }
    files
}

/// Every log message under crates/ and functions/, with where it is logged.
fn code_messages() -> BTreeMap<String, Vec<String>> {
    let files = function_sources();
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for file in files {
        let rel = file.strip_prefix(root()).unwrap().display().to_string();
        let src = std::fs::read_to_string(&file).unwrap();
        for m in log_messages(&tokens(&src)) {
            match m.message {
                Some(msg) => found
                    .entry(msg)
                    .or_default()
                    .push(format!("{rel}:{}", m.line)),
                None => problems.push(format!(
                    "{rel}:{}: {}! without a literal message",
                    m.line, m.level
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        found.len() >= 10,
        "found only {found:?}: is the extractor broken?"
    );
    found
}

fn all_code_literals() -> BTreeSet<String> {
    function_sources()
        .iter()
        .flat_map(|f| string_literals(&tokens(&std::fs::read_to_string(f).unwrap())))
        .collect()
}

#[test]
fn every_log_message_is_documented_and_every_documented_one_is_logged() {
    let code = code_messages();
    let ops = read("docs/operations.md");
    let mut documented = BTreeSet::new();
    for s in sections(&ops, "log messages") {
        for row in table_rows(s) {
            let names = backticked(&row[0]);
            assert!(
                !names.is_empty(),
                "operations.md row without a message: {row:?}"
            );
            documented.extend(names);
        }
    }
    let undocumented: Vec<_> = code
        .iter()
        .filter(|(m, _)| !documented.contains(*m))
        .collect();
    assert!(
        undocumented.is_empty(),
        "logged but not in docs/operations.md: {undocumented:#?}"
    );
    let mut named = documented.clone();
    for s in sections(&ops, "alarms") {
        for row in table_rows(s)
            .iter()
            .filter(|r| r[1].contains("log message"))
        {
            named.extend(backticked(&row[0]));
        }
    }
    named.extend(
        ops.split("$.fields.message = \"")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].to_owned()),
    );
    let stale: Vec<_> = named.iter().filter(|m| !code.contains_key(*m)).collect();
    assert!(
        stale.is_empty(),
        "docs/operations.md names messages no code logs: {stale:?}"
    );
}

/// The authorizer's decision line (its EMF document and log record) with every optional member
/// written has exactly the members operations.md documents for it.
#[test]
fn the_decision_line_is_documented_member_by_member() {
    use tollgate_telemetry::metrics::{DecisionRecord, Metrics, RevocationFigures};
    // Every figure not zero, so each is written (a line never has both: the sum of members).
    let figures = RevocationFigures {
        reads: 1,
        read_failures: 1,
        stale: true,
        unavailable: true,
    };
    let record = DecisionRecord {
        shape: Some("rest_token"),
        client_id: Some("app"),
        revocation_age_ms: Some(6_000),
    };
    let line = Metrics::new("stack-authorizer").render_authorization(
        1,
        ("allow", "ok"),
        std::time::Duration::from_micros(100),
        figures,
        record,
    );
    // And a batch of allows' line (`ALLOW_LINES=batched`).
    let batch = Metrics::new("stack-authorizer").render_allows(1, &[100, 200]);
    let documented = first_column_names(&read("docs/operations.md"), "decision line");
    assert_eq!(
        documented,
        members(&[line, batch]),
        "operations.md, the decision line"
    );
}

/// The token function's `Requests` document (its metrics and a counted request's log line),
/// with every optional member written, has exactly the members operations.md documents for it.
#[test]
fn the_request_document_is_documented_member_by_member() {
    use tollgate_telemetry::metrics::{Metrics, RequestLog};
    let m = Metrics::new("stack-token");
    let log = RequestLog {
        route: "token",
        method: "POST",
        status: 400,
        error: Some("invalid_grant"),
        client_id: None,
        client_id_hash: Some("0123456789ab"),
        request_id: Some("r"),
    };
    let ms = std::time::Duration::from_millis(5);
    let token = m.render_request(1, false, ms, Some(("c", "password", "invalid_grant")), &log);
    // A route without a grant: its client as a member.
    let other = RequestLog {
        route: "revoke",
        client_id: Some("c"),
        ..log
    };
    let revoke = m.render_request(1, false, ms, None, &other);
    let documented = first_column_names(&read("docs/operations.md"), "request document");
    assert_eq!(
        documented,
        members(&[token, revoke]),
        "operations.md, the request's document"
    );
}

/// Every top-level member of these JSON lines.
fn members(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .flat_map(|l| {
            let line: serde_json::Map<String, serde_json::Value> = serde_json::from_str(l).unwrap();
            line.into_iter().map(|(k, _)| k)
        })
        .collect()
}

#[test]
fn documented_refusal_reasons_exist_in_the_code() {
    let literals = all_code_literals();
    let reasons = first_column_names(&read("docs/operations.md"), "reasons");
    assert!(reasons.len() >= 10, "{reasons:?}");
    let stale: Vec<_> = reasons.iter().filter(|r| !literals.contains(*r)).collect();
    assert!(
        stale.is_empty(),
        "operations.md documents reasons the code never gives: {stale:?}"
    );
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// The parameters a template value refers to: `!Ref P`, `${P}` in `!Sub`, anywhere inside it.
fn referenced(v: &Value, params: &BTreeSet<String>, out: &mut BTreeSet<String>) {
    match v {
        Value::Tagged(t) if t.tag == "Ref" => out.extend(
            t.value
                .as_str()
                .filter(|p| params.contains(*p))
                .map(str::to_owned),
        ),
        Value::Tagged(t) if t.tag == "Sub" => {
            let s = t.value.as_str().unwrap_or_default();
            out.extend(
                s.split("${")
                    .skip(1)
                    .map(|r| r[..r.find('}').unwrap()].to_owned())
                    .filter(|p| params.contains(p)),
            );
        }
        Value::Tagged(t) => referenced(&t.value, params, out),
        Value::Sequence(s) => s.iter().for_each(|x| referenced(x, params, out)),
        Value::Mapping(m) => m.values().for_each(|x| referenced(x, params, out)),
        _ => {}
    }
}

#[test]
fn configuration_doc_maps_every_variable_and_parameter_of_the_template() {
    let t = template();
    let params = keys(&t["Parameters"]);
    let doc = read("docs/configuration.md");
    let mut mentioned = BTreeSet::new();
    for function in ["TokenFunction", "AuthorizerFunction"] {
        let vars = &t["Resources"][function]["Properties"]["Environment"]["Variables"];
        let mut rows: BTreeMap<String, Option<String>> = BTreeMap::new();
        for s in sections(&doc, &format!("variables {function}")) {
            for row in table_rows(s) {
                let var = backticked(&row[0])
                    .pop()
                    .unwrap_or_else(|| panic!("{row:?}"));
                let param = backticked(&row[1]).pop();
                if let Some(p) = &param {
                    assert!(
                        params.contains(p),
                        "configuration.md: {var} -> `{p}`, not a template parameter"
                    );
                    assert!(
                        vars.get(var.as_str()).is_some(),
                        "configuration.md: {var} -> `{p}`, but the template does not set {var} for {function}"
                    );
                    mentioned.insert(p.clone());
                }
                rows.insert(var, param);
            }
        }
        for var in keys(vars) {
            let mut refs = BTreeSet::new();
            referenced(&vars[var.as_str()], &params, &mut refs);
            match rows.get(&var) {
                None => panic!("{function} sets {var}; docs/configuration.md does not list it"),
                Some(None) => assert!(
                    refs.is_empty(),
                    "configuration.md: {var} has no parameter, but the template sets it from {refs:?}"
                ),
                Some(Some(p)) => assert!(
                    refs.contains(p),
                    "configuration.md: {var} -> {p}, but the template sets it from {refs:?}"
                ),
            }
        }
    }
    for s in sections(&doc, "parameters") {
        mentioned.extend(table_rows(s).iter().flat_map(|r| backticked(&r[0])));
    }
    let missing: Vec<_> = params.difference(&mentioned).collect();
    assert!(
        missing.is_empty(),
        "template parameters missing from docs/configuration.md: {missing:?}"
    );
    let unknown: Vec<_> = mentioned.difference(&params).collect();
    assert!(
        unknown.is_empty(),
        "configuration.md lists parameters the template lacks: {unknown:?}"
    );
}

fn is_camel(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_uppercase())
        && word.chars().all(|c| c.is_ascii_alphanumeric())
        && word.chars().any(|c| c.is_ascii_lowercase())
}

#[test]
fn parameter_names_in_the_docs_exist_in_the_template() {
    let t = template();
    let params = keys(&t["Parameters"]);
    let mut known: BTreeSet<String> = params.clone();
    known.extend(keys(&t["Outputs"]));
    known.extend(keys(&t["Resources"]));
    known.extend(keys(&t["Conditions"]));
    known.extend(KNOWN_NAMES.iter().map(|s| (*s).to_owned()));
    // The metrics the functions write: namespace, names, dimensions (operations.md#metrics).
    known.insert(tollgate_telemetry::metrics::NAMESPACE.to_owned());
    for m in tollgate_telemetry::metrics::ALL {
        known.insert(m.name.to_owned());
        known.extend(
            m.dimensions
                .iter()
                .flat_map(|s| s.iter().map(|d| (*d).to_owned())),
        );
    }
    let mut problems = Vec::new();
    for file in doc_files() {
        let text = read(&file);
        for word in backticked(&text).iter().filter(|w| is_camel(w)) {
            if !known.contains(word) {
                problems.push(format!("{file}: `{word}` is no template parameter, output, resource or condition (an AWS name? add it to KNOWN_NAMES)"));
            }
        }
        for after in text.split("--parameter-overrides").skip(1) {
            let line = after.lines().next().unwrap_or_default();
            for word in line.split(|c: char| !c.is_ascii_alphanumeric() && c != '=') {
                let Some(name) = word
                    .split('=')
                    .next()
                    .filter(|n| word.contains('=') && is_camel(n))
                else {
                    continue;
                };
                if !params.contains(name) {
                    problems.push(format!(
                        "{file}: --parameter-overrides names `{name}`, not a template parameter"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
