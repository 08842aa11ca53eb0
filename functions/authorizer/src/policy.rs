//! The IAM policy an Allow returns. API Gateway caches the answer per token and applies it to
//! later calls on *other* routes, so the policy covers every route of this API and stage the
//! token may reach, and denies the ones it may not: never just the `methodArn` of the first call.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use tollgate_oauth::scope::Scopes;

use crate::route::{METHODS, RouteRule, RouteRules, Unlisted};

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
    // The answer writes the same document straight to JSON ([`Policy`]); this `Value` form is
    // for tests and tools.
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

/// The IAM policy of an Allow, written straight to JSON: see [`policy_document`] for what it
/// says. Every resource ARN is written as its parts (the stage prefix, the method, the path
/// pattern) without being built as a string.
#[derive(Debug)]
pub struct Policy<'a> {
    pub routes: &'a RouteRules,
    pub scopes: &'a Scopes,
    pub arn: &'a RouteArn,
}

impl Serialize for Policy<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("Version", "2012-10-17")?;
        m.serialize_entry("Statement", &Statements(self))?;
        m.end()
    }
}

struct Statements<'p, 'a>(&'p Policy<'a>);

impl Serialize for Statements<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let satisfied = |r: &RouteRule| r.scopes.is_subset_of(p.scopes);
        let prefix = p.arn.prefix.as_str();
        let mut seq = s.serialize_seq(None)?;
        let reachable =
            p.routes.unlisted == Unlisted::Allow || p.routes.rules.iter().any(satisfied);
        if !reachable {
            // Nothing is reachable: an explicit Deny of the whole stage.
            seq.serialize_element(&Statement("Deny", Resources::Stage(prefix)))?;
            return seq.end();
        }
        let allow = match p.routes.unlisted {
            Unlisted::Allow => Resources::Stage(prefix),
            Unlisted::Deny => Resources::Rules(prefix, p, true),
        };
        seq.serialize_element(&Statement("Allow", allow))?;
        if !p.routes.rules.iter().all(satisfied) {
            seq.serialize_element(&Statement("Deny", Resources::Rules(prefix, p, false)))?;
        }
        seq.serialize_element(&Statement("Deny", Resources::Refused(prefix, p.routes)))?;
        seq.end()
    }
}

struct Statement<'p, 'a>(&'static str, Resources<'p, 'a>);

impl Serialize for Statement<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("Action", "execute-api:Invoke")?;
        m.serialize_entry("Effect", self.0)?;
        m.serialize_entry("Resource", &self.1)?;
        m.end()
    }
}

/// The resource ARNs of a statement, each `{prefix}{tail}`.
enum Resources<'p, 'a> {
    /// `{prefix}*`: the whole stage.
    Stage(&'a str),
    /// Every method-and-path of the rules whose scopes are (`true`) or are not satisfied.
    Rules(&'a str, &'p Policy<'a>, bool),
    /// The refused spellings' patterns.
    Refused(&'a str, &'a RouteRules),
}

impl Serialize for Resources<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        match self {
            Self::Stage(prefix) => seq.serialize_element(&Arn(prefix, "*", ""))?,
            Self::Rules(prefix, p, want) => {
                for rule in &p.routes.rules {
                    if rule.scopes.is_subset_of(p.scopes) != *want {
                        continue;
                    }
                    // ANY is every method spelled out: IAM's `*` would cross `/`.
                    let one = [rule.method.as_str()];
                    let methods: &[&str] = if rule.method == "*" { &METHODS } else { &one };
                    for m in methods {
                        seq.serialize_element(&Arn(prefix, m, &rule.path))?;
                    }
                }
            }
            Self::Refused(prefix, routes) => {
                for pattern in routes.refused_patterns() {
                    seq.serialize_element(&Arn(prefix, pattern, ""))?;
                }
            }
        }
        seq.end()
    }
}

/// One resource ARN, written from its three parts.
struct Arn<'a>(&'a str, &'a str, &'a str);

impl Serialize for Arn<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}{}{}", self.0, self.1, self.2))
    }
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
