//! The IAM policy an Allow returns. API Gateway caches the answer per token and applies it to
//! later calls on *other* routes, so the policy covers every route of this API and stage the
//! token may reach, and denies the ones it may not: never just the `methodArn` of the first call.

use serde_json::Value;
use tollgate_oauth::scope::Scopes;

use crate::answer::Policy;
use crate::route::{METHODS, RouteRules};

/// A parsed `methodArn`/`routeArn`:
/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteArn {
    /// Everything up to and including `{stage}/`.
    pub prefix: String,
    pub method: String,
    /// Starts with `/`.
    pub path: String,
}

impl RouteArn {
    pub fn parse(arn: &str) -> Option<Self> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "execute-api" {
            return None;
        }
        let mut segs = parts[5].splitn(4, '/');
        let (api, stage, method) = (segs.next()?, segs.next()?, segs.next()?);
        // `.../GET` without the path's `/` would not match the policy's `.../GET/`.
        let path = format!("/{}", segs.next()?);
        // The prefix and method become part of IAM patterns. A `*` stage is what API Gateway's
        // console test sends; `?` and a method API Gateway does not route never are.
        if api.is_empty()
            || stage.is_empty()
            || !METHODS.contains(&method)
            || parts[5].contains('?')
        {
            return None;
        }
        let prefix = format!("{}:{api}/{stage}/", parts[..5].join(":"));
        Some(Self {
            prefix,
            method: method.to_owned(),
            path,
        })
    }
}

/// Allow for everything the token's scopes reach in this API and stage, Deny for the rest.
/// A request must satisfy every rule that matches it, the same rule IAM applies when a Deny
/// statement overrides an Allow, so the cached policy and a fresh decision always agree. Path
/// spellings the rules refuse (dot segments, `//`, ...) are denied by a statement of their own.
pub fn policy_document(routes: &RouteRules, scopes: &Scopes, arn: &RouteArn) -> Value {
    // The answer writes the same document straight to JSON (`answer::Policy`); this `Value`
    // form is for tests and tools.
    serde_json::to_value(Policy {
        routes,
        scopes,
        arn,
    })
    .unwrap_or_default()
}

/// Decides `arn` itself the way IAM will evaluate `policy_document` for it.
pub fn allows(routes: &RouteRules, scopes: &Scopes, arn: &RouteArn) -> bool {
    routes.allows(scopes, &arn.method, &arn.path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Unlisted;
    use serde_json::json;

    fn arn(s: &str) -> RouteArn {
        RouteArn::parse(s).unwrap()
    }

    #[test]
    fn arns_split_into_prefix_method_and_path() {
        let a = arn("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42");
        assert_eq!(
            a.prefix,
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/"
        );
        assert_eq!(a.method, "GET");
        assert_eq!(a.path, "/orders/42");
        assert_eq!(
            arn("arn:aws:execute-api:us-west-2:1:ymy8tbxw7b/*/GET/").path,
            "/"
        );
        for bad in [
            "",
            "arn:aws:s3:::bucket",
            "arn:aws:execute-api:r:a:api",
            "arn:aws:execute-api:r:a:api/stage",
        ] {
            assert!(RouteArn::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn policy_allows_the_stage_and_denies_unsatisfied_routes() {
        let rules = RouteRules::parse(
            "GET /orders/*=orders:read; POST /orders=orders:write",
            Unlisted::Allow,
        )
        .unwrap();
        let scopes = Scopes::parse("orders:read").unwrap();
        let a = arn("arn:aws:execute-api:us-east-1:1:api/prod/GET/orders/1");
        let doc = policy_document(&rules, &scopes, &a);
        assert_eq!(doc["Statement"][0]["Effect"], "Allow");
        assert_eq!(
            doc["Statement"][0]["Resource"],
            json!(["arn:aws:execute-api:us-east-1:1:api/prod/*"])
        );
        assert_eq!(doc["Statement"][1]["Effect"], "Deny");
        assert_eq!(
            doc["Statement"][1]["Resource"],
            json!(["arn:aws:execute-api:us-east-1:1:api/prod/POST/orders"])
        );
        assert!(allows(&rules, &scopes, &a));
        assert!(!allows(
            &rules,
            &scopes,
            &arn("arn:aws:execute-api:us-east-1:1:api/prod/POST/orders")
        ));
    }

    #[test]
    fn deny_by_default_lists_only_reachable_routes() {
        let rules = RouteRules::parse(
            "GET /orders/*=orders:read; ANY /admin/*=admin",
            Unlisted::Deny,
        )
        .unwrap();
        let scopes = Scopes::parse("orders:read").unwrap();
        let a = arn("arn:aws:execute-api:r:1:api/s/GET/orders/1");
        let doc = policy_document(&rules, &scopes, &a);
        assert_eq!(
            doc["Statement"][0]["Resource"],
            json!(["arn:aws:execute-api:r:1:api/s/GET/orders/*"])
        );
        // ANY is every method spelled out: `api/s/*/admin/*` would cover `GET/x/admin/y` too.
        assert_eq!(
            doc["Statement"][1]["Resource"],
            json!(
                METHODS
                    .iter()
                    .map(|m| format!("arn:aws:execute-api:r:1:api/s/{m}/admin/*"))
                    .collect::<Vec<_>>()
            )
        );
        assert!(!allows(
            &rules,
            &scopes,
            &arn("arn:aws:execute-api:r:1:api/s/GET/health")
        ));
    }
}
