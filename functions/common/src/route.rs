//! Which scopes a route needs: the authorizer's configuration, as rules of
//! `METHOD /path/pattern=scope scope`, where `*` in a path matches any run of characters
//! (as it does in an IAM resource) and a method of `*` or `ANY` matches every method.
//! A request must satisfy *every* rule that matches it; rules have no order. That is how IAM
//! evaluates the policy the authorizer returns (a Deny overrides any Allow), so a cached policy
//! and a fresh decision always agree.

use crate::scope::Scopes;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// Upper-case method, or `*` for any.
    pub method: String,
    /// Path pattern starting with `/`.
    pub path: String,
    pub scopes: Scopes,
}

/// What a request to a route that no rule names needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlisted {
    /// Any valid token may call it.
    Allow,
    /// Nobody may call it.
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRules {
    pub rules: Vec<RouteRule>,
    pub unlisted: Unlisted,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("route rule {rule:?} is malformed: {why} (expected `METHOD /path=scope scope`)")]
pub struct RouteRuleError {
    pub rule: String,
    pub why: &'static str,
}

impl RouteRules {
    /// Parses `GET /orders/*=orders:read; POST /orders=orders:write`.
    pub fn parse(raw: &str, unlisted: Unlisted) -> Result<Self, RouteRuleError> {
        let mut rules = Vec::new();
        for rule in raw
            .split([';', '\n'])
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            let err = |why| RouteRuleError {
                rule: rule.to_owned(),
                why,
            };
            let (route, scopes) = rule.split_once('=').ok_or(err("no '='"))?;
            let (method, path) = route.trim().split_once(' ').ok_or(err("no method"))?;
            let method = method.trim().to_ascii_uppercase();
            let method = if method == "ANY" {
                "*".to_owned()
            } else {
                method
            };
            if !(method == "*" || method.bytes().all(|b| b.is_ascii_uppercase())) {
                return Err(err("bad method"));
            }
            let path = path.trim();
            if !path.starts_with('/') || path.contains(|c: char| c.is_whitespace() || c == '?') {
                return Err(err("path must start with '/' and have no spaces or '?'"));
            }
            let scopes = Scopes::parse(scopes.trim()).map_err(|_| err("bad scope"))?;
            rules.push(RouteRule {
                method,
                path: path.to_owned(),
                scopes,
            });
        }
        Ok(Self { rules, unlisted })
    }

    /// The rules that match this request.
    pub fn matching<'a>(
        &'a self,
        method: &'a str,
        path: &'a str,
    ) -> impl Iterator<Item = &'a RouteRule> + 'a {
        self.rules.iter().filter(move |r| {
            (r.method == "*" || r.method.eq_ignore_ascii_case(method)) && glob(&r.path, path)
        })
    }

    /// Whether a token with `scopes` may call `method path`: every matching rule is satisfied,
    /// and some rule matches unless unlisted routes are allowed.
    pub fn allows(&self, scopes: &Scopes, method: &str, path: &str) -> bool {
        let mut any = false;
        for rule in self.matching(method, path) {
            if !rule.scopes.is_subset_of(scopes) {
                return false;
            }
            any = true;
        }
        any || self.unlisted == Unlisted::Allow
    }
}

/// `*` matches any run of characters, `/` included; everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &str) -> Scopes {
        Scopes::parse(s).unwrap()
    }

    #[test]
    fn glob_star_matches_any_run_including_slashes() {
        assert!(glob("/orders/*", "/orders/1"));
        assert!(glob("/orders/*", "/orders/1/items"));
        assert!(glob("/orders/*/items", "/orders/42/items"));
        assert!(!glob("/orders/*", "/orders"));
        assert!(glob("/orders*", "/orders"));
        assert!(!glob("/orders", "/orders/1"));
        assert!(glob("*", ""));
    }

    #[test]
    fn rules_parse_and_decide() {
        let r = RouteRules::parse(
            "GET /orders/*=orders:read; post /orders=orders:write ;ANY /admin/*=admin",
            Unlisted::Allow,
        )
        .unwrap();
        assert_eq!(r.rules.len(), 3);
        assert_eq!(r.rules[1].method, "POST");
        assert_eq!(r.rules[2].method, "*");
        assert!(r.allows(&scopes("orders:read"), "GET", "/orders/7"));
        assert!(!r.allows(&scopes("orders:read"), "POST", "/orders"));
        assert!(!r.allows(&scopes("orders:read"), "DELETE", "/admin/users"));
        assert!(
            r.allows(&scopes(""), "GET", "/health"),
            "unlisted routes follow the default"
        );
        let strict = RouteRules {
            unlisted: Unlisted::Deny,
            ..r
        };
        assert!(!strict.allows(&scopes("orders:read admin"), "GET", "/health"));
    }

    #[test]
    fn every_matching_rule_must_be_satisfied() {
        let r = RouteRules::parse(
            "GET /orders/special=admin; GET /orders/*=orders:read",
            Unlisted::Allow,
        )
        .unwrap();
        assert!(!r.allows(&scopes("admin"), "GET", "/orders/special"));
        assert!(!r.allows(&scopes("orders:read"), "GET", "/orders/special"));
        assert!(r.allows(&scopes("admin orders:read"), "GET", "/orders/special"));
    }

    #[test]
    fn malformed_rules_are_refused_with_the_rule_named() {
        for bad in [
            "GET /orders",
            "/orders=read",
            "GET orders=read",
            "G3T /x=read",
            "GET /x=a\"b",
        ] {
            let e = RouteRules::parse(bad, Unlisted::Allow).unwrap_err();
            assert_eq!(e.rule, bad);
        }
    }
}
