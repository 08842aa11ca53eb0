//! `OAuthHttpApi=on` puts the token function's public routes behind an HTTP API as well as the
//! REST API: exactly the routes the REST API serves openly, each a payload 2.0 proxy to the
//! token function, and nothing else. `POST /sessions/revoke` is not on it (its IAM method and
//! the resource policy that names who may call it are the REST API's; HTTP APIs have no
//! resource policy), nor `/whoami`. Off by default; every part of it exists only when it is on.

use std::collections::BTreeSet;

use serde_yaml::Value;
use tollgate_tests::repo::{tagged, template, yaml_text as yaml};

/// `(path, method)` of every operation of an OpenAPI or Swagger body.
fn operations(body: &Value) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for (path, methods) in body["paths"].as_mapping().expect("paths") {
        for method in methods.as_mapping().expect("methods").keys() {
            all.insert((
                path.as_str().unwrap().to_owned(),
                method.as_str().unwrap().to_owned(),
            ));
        }
    }
    all
}

#[test]
fn the_http_api_is_off_unless_asked_for_and_all_of_it_hangs_on_that() {
    let t = template();
    let p = &t["Parameters"]["OAuthHttpApi"];
    assert_eq!(p["Default"], "off");
    assert_eq!(
        yaml(&p["AllowedValues"]),
        yaml(&serde_yaml::from_str("[off, 'on']").unwrap())
    );
    assert_eq!(
        yaml(&t["Conditions"]["HasOAuthHttpApi"]),
        yaml(&serde_yaml::from_str("!Equals [!Ref OAuthHttpApi, 'on']").unwrap())
    );
    // Every resource and output that names the HTTP API, and the API itself, exists only with it.
    let mut named = Vec::new();
    for section in ["Resources", "Outputs"] {
        for (name, r) in t[section].as_mapping().unwrap() {
            let name = name.as_str().unwrap();
            if name == "OAuthHttpApiGateway" || yaml(r).contains("OAuthHttpApiGateway") {
                assert_eq!(r["Condition"], "HasOAuthHttpApi", "{section}.{name}");
                named.push(name.to_owned());
            }
        }
    }
    named.sort();
    assert_eq!(
        named,
        [
            "OAuthHttpApi5xxAlarm",
            "OAuthHttpApiGateway",
            "OAuthHttpApiStage",
            "OAuthHttpApiUrl",
            "TokenFunctionHttpApiPermission",
        ]
    );
    // Nothing else is conditional on it: the REST API and its routes stay as they are.
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        if r["Condition"] == "HasOAuthHttpApi" {
            assert!(
                named.contains(&name.as_str().unwrap().to_owned()),
                "{name:?}"
            );
        }
    }
}

#[test]
fn the_http_api_routes_exactly_the_rest_apis_open_token_routes() {
    let t = template();
    let rest = &t["Resources"]["TokenApi"]["Properties"]["DefinitionBody"];
    let open_token_routes: BTreeSet<(String, String)> = operations(rest)
        .into_iter()
        .filter(|(path, method)| {
            let op = &rest["paths"][path.as_str()][method.as_str()];
            let (_, uri) = tagged(&op["x-amazon-apigateway-integration"]["uri"]).unwrap();
            op.get("security").is_none() && uri.ends_with("-token/invocations")
        })
        .collect();
    // The REST API does have the routes the HTTP API must leave out, so leaving them out means
    // something.
    let rest_routes = operations(rest);
    for kept_off in [("/sessions/revoke", "post"), ("/whoami", "get")] {
        let route = (kept_off.0.to_owned(), kept_off.1.to_owned());
        assert!(rest_routes.contains(&route), "{kept_off:?}");
        assert!(!open_token_routes.contains(&route), "{kept_off:?}");
    }
    assert!(open_token_routes.contains(&("/token".into(), "post".into())));

    let api = &t["Resources"]["OAuthHttpApiGateway"];
    assert_eq!(api["Type"], "AWS::ApiGatewayV2::Api");
    let body = &api["Properties"]["Body"];
    assert!(body["openapi"].as_str().unwrap().starts_with("3."));
    let http_routes = operations(body);
    assert_eq!(http_routes, open_token_routes);
    for (path, method) in &http_routes {
        assert!(
            !path.contains('{')
                && !path.contains('$')
                && method != "x-amazon-apigateway-any-method",
            "{method} {path}: only named routes, no catch-all"
        );
        let op = &body["paths"][path.as_str()][method.as_str()];
        assert!(op.get("security").is_none(), "{method} {path}");
        let i = &op["x-amazon-apigateway-integration"];
        assert_eq!(i["type"], "aws_proxy", "{method} {path}");
        assert_eq!(i["payloadFormatVersion"], "2.0", "{method} {path}");
        assert_eq!(
            tagged(&i["uri"]),
            Some(("!GetAtt".into(), "TokenFunction.Arn".into())),
            "{method} {path}"
        );
    }
    // No default route or authorizer at the API level either.
    assert!(body.get("x-amazon-apigateway-gateway-responses").is_none());
    assert!(body.get("security").is_none());
    assert_eq!(
        yaml(&body["x-amazon-apigateway-cors"]["allowOrigins"]),
        yaml(&serde_yaml::from_str("[!Ref CorsAllowOrigin]").unwrap())
    );
}

#[test]
fn the_http_api_stage_is_its_default_stage_with_the_rest_stages_limits() {
    let t = template();
    let stage = &t["Resources"]["OAuthHttpApiStage"];
    assert_eq!(stage["Type"], "AWS::ApiGatewayV2::Stage");
    let p = &stage["Properties"];
    assert_eq!(
        tagged(&p["ApiId"]),
        Some(("!Ref".into(), "OAuthHttpApiGateway".into()))
    );
    assert_eq!(p["StageName"], "$default");
    assert_eq!(p["AutoDeploy"], true);
    // An HTTP API's limit of 0 would refuse every request: a limit is set only when the REST
    // stage's is, from the same parameters.
    let settings = yaml(&p["DefaultRouteSettings"]);
    for needed in [
        "HasApiThrottling",
        "HasApiRateLimit",
        "ApiThrottlingRateLimit",
        "HasApiBurstLimit",
        "ApiThrottlingBurstLimit",
        "AWS::NoValue",
    ] {
        assert!(settings.contains(needed), "{needed}: {settings}");
    }
}
