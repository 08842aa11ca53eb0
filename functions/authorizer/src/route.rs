//! Which scopes a route needs: the authorizer's configuration, as rules of
//! `METHOD /path/pattern=scope scope`, where `*` in a path matches any run of characters
//! (as it does in an IAM resource) and a method of `*` or `ANY` matches every method.
//! A request must satisfy *every* rule that matches it; rules have no order. That is how IAM
//! evaluates the policy the authorizer returns (a Deny overrides any Allow), so a cached policy
//! and a fresh decision always agree.
//!
//! Paths are matched as IAM matches resources: exactly. A backend router may treat other
//! spellings as the same route (dot segments, doubled or trailing `/`, percent-encoding, case);
//! IAM cannot canonicalise, so those spellings are *refused* (never allowed), by the fresh
//! decision and by Deny patterns in the policy alike (see [`REFUSED_PATTERNS`]).

use std::sync::LazyLock;

use tollgate_oauth::scope::Scopes;

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

/// How the letter case of a path is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathCase {
    /// Paths with an upper-case ASCII letter are refused and rules must be lower-case, so a
    /// case-insensitive backend router can never reach a route by another spelling.
    Lower,
    /// Paths are matched case-sensitively, as IAM does. Safe only for backends that route
    /// case-sensitively too.
    Exact,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRules {
    pub rules: Vec<RouteRule>,
    pub unlisted: Unlisted,
    pub case: PathCase,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("route rule {rule:?} is malformed: {why} (expected `METHOD /path=scope scope`)")]
pub struct RouteRuleError {
    pub rule: String,
    pub why: &'static str,
}

impl RouteRules {
    /// Parses `GET /orders/*=orders:read; POST /orders=orders:write`, lower-case paths only.
    pub fn parse(raw: &str, unlisted: Unlisted) -> Result<Self, RouteRuleError> {
        Self::parse_with(raw, unlisted, PathCase::Lower)
    }

    /// Parses rules for paths of the given case handling.
    pub fn parse_with(
        raw: &str,
        unlisted: Unlisted,
        case: PathCase,
    ) -> Result<Self, RouteRuleError> {
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
            if !(method == "*" || METHODS.contains(&method.as_str())) {
                return Err(err(
                    "bad method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY)",
                ));
            }
            let path = path.trim();
            if !path.starts_with('/') || path.contains(|c: char| c.is_whitespace() || c == '?') {
                return Err(err("path must start with '/' and have no spaces or '?'"));
            }
            if path.len() > 400 {
                // API Gateway limits a policy's resource ARN to 512 characters.
                return Err(err("path is longer than 400 characters"));
            }
            if refusal(path, case).is_some() {
                return Err(err(
                    "path is a form requests are refused in (dot segment, '//', trailing '/', \
                     '%', '\\', ';', or an upper-case letter)",
                ));
            }
            let scopes = Scopes::parse(scopes.trim()).map_err(|_| err("bad scope"))?;
            rules.push(RouteRule {
                method,
                path: path.to_owned(),
                scopes,
            });
        }
        Ok(Self {
            rules,
            unlisted,
            case,
        })
    }

    /// The rules that match this request.
    pub fn matching<'a>(
        &'a self,
        method: &'a str,
        path: &'a str,
    ) -> impl Iterator<Item = &'a RouteRule> + 'a {
        self.rules.iter().filter(move |r| {
            // Exact, as IAM compares the method in the ARN.
            (r.method == "*" || r.method == method) && glob(&r.path, path)
        })
    }

    /// Why `path` is refused whatever the token, if it is.
    pub fn refusal(&self, path: &str) -> Option<&'static str> {
        refusal(path, self.case)
    }

    /// Whether the path the backend will see (an event's `rawPath`, `path`) is a spelling these
    /// rules refuse: the same spellings as [`RouteRules::refusal`], except that letter case is
    /// left to the route ARN (which [`RouteRules::allows`] decides) and a trailing `/` is let
    /// through (an HTTP API's rawPath for a named stage's root may end in one).
    pub fn refuses_raw_path(&self, raw: &str) -> bool {
        refusal(raw.trim_end_matches('/'), PathCase::Exact).is_some()
    }

    /// The IAM resource patterns, to follow `{api}/{stage}/`, of every spelling these rules
    /// refuse: the policy's own Deny statement, so a cached policy refuses what a fresh decision
    /// does.
    pub fn refused_patterns(&self) -> &'static [String] {
        refused_patterns(self.case)
    }

    /// Whether a token with `scopes` may call `method path`: the path is not refused, every
    /// matching rule is satisfied, and some rule matches unless unlisted routes are allowed.
    pub fn allows(&self, scopes: &Scopes, method: &str, path: &str) -> bool {
        if self.refusal(path).is_some() || !METHODS.contains(&method) {
            return false;
        }
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

/// The methods API Gateway puts in a method ARN. A rule for `ANY` becomes one IAM resource per
/// method: `{stage}/*/orders` would also match `GET/x/orders`, since IAM's `*` crosses `/`.
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl RouteRule {
    /// The method-and-path tails, to follow `{api}/{stage}/`, that this rule covers in IAM.
    pub fn resources(&self) -> Vec<String> {
        let one = [self.method.as_str()];
        let methods: &[&str] = if self.method == "*" { &METHODS } else { &one };
        methods
            .iter()
            .map(|m| format!("{m}{}", self.path))
            .collect()
    }
}

/// Characters that fold to an ASCII letter under Unicode case mapping (`ſ`→S, `K`→k, `İ`→i,
/// `ı`→I): a case-insensitive router (Java's `equalsIgnoreCase`) would read them as letters.
const FOLDS_TO_ASCII: [char; 4] = ['\u{17f}', '\u{212a}', '\u{130}', '\u{131}'];

/// Why a request path is refused outright, or `None`. Every reason is also expressible as an
/// IAM resource pattern ([`refused_patterns`]), so a cached policy refuses the same paths.
pub(crate) fn refusal(path: &str, case: PathCase) -> Option<&'static str> {
    if path.contains("//") {
        return Some("empty path segment ('//')");
    }
    if path.len() > 1 && path.ends_with('/') {
        return Some("trailing '/'");
    }
    if path.split('/').any(|s| s == "." || s == "..") {
        return Some("dot segment");
    }
    if path.contains(['%', '\\', ';']) {
        return Some("percent-encoding, '\\' or ';'");
    }
    if path.contains(FOLDS_TO_ASCII) {
        return Some("a character that case-folds to an ASCII letter");
    }
    if case == PathCase::Lower && path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some("upper-case letter");
    }
    None
}

/// IAM resource patterns, to follow `{api}/{stage}/`, that match exactly the method-and-path
/// tails ([`refusal`]) refuses. The method never contains `/`, so each pattern's first `/`
/// lies in the path; a path always starts with `/`.
pub(crate) fn refused_patterns(case: PathCase) -> &'static [String] {
    // Built once per process, not per decision: the list depends only on the case mode.
    static EXACT: LazyLock<Vec<String>> = LazyLock::new(|| build_refused_patterns(PathCase::Exact));
    static LOWER: LazyLock<Vec<String>> = LazyLock::new(|| build_refused_patterns(PathCase::Lower));
    match case {
        PathCase::Exact => &EXACT,
        PathCase::Lower => &LOWER,
    }
}

fn build_refused_patterns(case: PathCase) -> Vec<String> {
    let mut p: Vec<String> = [
        "*//*", "*/*/", "*/./*", "*/.", "*/../*", "*/..", "*%*", "*\\*", "*;*",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    p.extend(FOLDS_TO_ASCII.iter().map(|c| format!("*{c}*")));
    if case == PathCase::Lower {
        p.extend((b'A'..=b'Z').map(|c| format!("*/*{}*", c as char)));
    }
    p
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

    #[test]
    fn path_variants_are_refused_whatever_the_scopes() {
        let r = RouteRules::parse(
            "GET /orders/*=orders:read; ANY /admin/*=admin",
            Unlisted::Allow,
        )
        .unwrap();
        let all = scopes("orders:read admin");
        for bad in [
            "/orders/../admin/users",
            "/orders/%2e%2e/admin/x",
            "/orders/%2E%2E/admin/x",
            "//admin/users",
            "/ADMIN/users",
            "/orders/",
            "/orders/./1",
            "/orders/..",
            "/orders/1%2fadmin",
            "/orders\\..\\admin",
            "/orders/..;/admin",
            "/admın/users",
            "/orders/\u{17f}pecial",
        ] {
            assert!(r.refusal(bad).is_some(), "{bad}");
            assert!(!r.allows(&all, "GET", bad), "{bad}");
        }
        assert!(r.allows(&all, "GET", "/orders/1"));
        assert!(r.refusal("/").is_none());
        let exact =
            RouteRules::parse_with("GET /Orders/*=orders:read", Unlisted::Deny, PathCase::Exact)
                .unwrap();
        assert!(exact.allows(&all, "GET", "/Orders/A1"));
        assert!(!exact.allows(&all, "GET", "/orders/A1"));
    }

    #[test]
    fn rules_must_be_written_in_the_canonical_form() {
        let long = format!("GET /{}=a", "x".repeat(400));
        assert!(RouteRules::parse(&long, Unlisted::Deny).is_err());
        for bad in [
            "GET /Orders=a",
            "GET /orders/=a",
            "GET //x=a",
            "GET /a/../b=a",
            "GET /a%2fb=a",
        ] {
            assert!(RouteRules::parse(bad, Unlisted::Deny).is_err(), "{bad}");
        }
        assert!(RouteRules::parse_with("GET /Orders=a", Unlisted::Deny, PathCase::Exact).is_ok());
    }

    #[test]
    fn methods_match_exactly_as_iam_compares_them() {
        let r = RouteRules::parse("GET /x=a; ANY /y=a", Unlisted::Deny).unwrap();
        assert!(r.allows(&scopes("a"), "GET", "/x"));
        assert!(!r.allows(&scopes("a"), "get", "/x"));
        assert!(r.allows(&scopes("a"), "PATCH", "/y"));
        // A method API Gateway never sends matches nothing, not even ANY: IAM could not say so.
        assert!(!r.allows(&scopes("a"), "get", "/y"));
        assert!(!r.allows(&scopes("a"), "TRACE", "/y"));
        assert!(RouteRules::parse("FOO /x=a", Unlisted::Deny).is_err());
        assert_eq!(
            r.rules[1].resources(),
            METHODS.iter().map(|m| format!("{m}/y")).collect::<Vec<_>>()
        );
    }
}
