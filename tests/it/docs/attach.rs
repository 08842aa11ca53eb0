//! The snippets of docs/attach.md name what template.yaml defines (issue 21): the authorizer's
//! export and function name, the identity validation expression of Tollgate's own `TOKEN`
//! authorizer, the response type that goes with `HttpApiResponse`'s default, and `AllowedApis`
//! values the parameter's pattern accepts.

use serde_yaml::Value;

use super::{read, template};

/// A string scalar, or the string under a tag such as `!Sub`.
fn text(v: &Value) -> &str {
    match v {
        Value::Tagged(t) => text(&t.value),
        v => v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}")),
    }
}

/// The lines inside the page's fenced code blocks.
fn fenced(doc: &str) -> Vec<&str> {
    let mut inside = false;
    doc.lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                inside = !inside;
                return false;
            }
            inside
        })
        .collect()
}

#[test]
fn attach_snippets_name_what_the_template_defines() {
    let doc = read("docs/attach.md");
    let code = fenced(&doc);
    let t = template();

    let export = text(&t["Outputs"]["AuthorizerFunctionArn"]["Export"]["Name"]);
    let export = export.replace("${AWS::StackName}", "<stack>");
    assert!(doc.contains(&export), "attach.md names the export {export}");
    assert!(
        doc.contains("OutputKey=='AuthorizerFunctionArn'"),
        "the CLI snippet reads the output AuthorizerFunctionArn"
    );

    let function = text(&t["Resources"]["AuthorizerFunction"]["Properties"]["FunctionName"]);
    let named = function.replace("${AWS::StackName}", "tollgate");
    let by_name: Vec<&&str> = code.iter().filter(|l| l.contains("authorizer")).collect();
    for form in [
        format!("function:{named}/invocations"),
        format!("\"{named}\""),
    ] {
        assert!(
            by_name.iter().any(|l| l.contains(&form)),
            "a snippet names the function as {form} (FunctionName {function})"
        );
    }

    let ours = &t["Resources"]["TokenApi"]["Properties"]["DefinitionBody"]["securityDefinitions"]["TollgateAuthorizer"]
        ["x-amazon-apigateway-authorizer"];
    let expression = text(&ours["identityValidationExpression"]);
    let quoted: Vec<&&str> = code
        .iter()
        .filter(|l| {
            l.contains("identityValidationExpression")
                || l.contains("identity_validation_expression")
        })
        .collect();
    assert!(
        quoted.len() >= 2,
        "the OpenAPI and Terraform snippets: {quoted:?}"
    );
    for line in quoted {
        assert!(
            line.contains(&format!("\"{expression}\"")),
            "{line:?} is not the template's {expression:?}"
        );
    }

    let default = text(&t["Parameters"]["HttpApiResponse"]["Default"]);
    let simple = (default == "simple").to_string();
    let switches: Vec<&&str> = code
        .iter()
        .filter(|l| l.contains("enableSimpleResponses") || l.contains("enable_simple_responses"))
        .collect();
    assert!(
        switches.len() >= 2,
        "the OpenAPI and Terraform snippets: {switches:?}"
    );
    for line in switches {
        assert!(
            line.trim_end().ends_with(&simple),
            "{line:?} must say {simple}, as HttpApiResponse's default {default:?} answers"
        );
    }

    let pattern =
        regex::Regex::new(text(&t["Parameters"]["AllowedApis"]["AllowedPattern"])).unwrap();
    let values: Vec<&str> = doc
        .split("AllowedApis=")
        .skip(1)
        .map(|v| v.split(['\'', '`', '\n', ' ', '\\']).next().unwrap())
        .filter(|v| !v.is_empty() && !v.starts_with('"'))
        .collect();
    assert!(values.len() >= 2, "{values:?}");
    for v in values {
        assert!(
            pattern.is_match(v),
            "AllowedApis={v} is refused by the template's pattern"
        );
    }
}
