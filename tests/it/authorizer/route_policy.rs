//! The cache-safety property, tested against IAM's own wildcard semantics (`tollgate_tests::
//! iam_glob`, written independently of the product's glob): for random rule sets (methods
//! including ANY), tokens and pairs of routes spelled with the variants backends resolve (dot
//! segments, encoded dots and slashes, `//`, trailing `/`, case, `;`, `\`), the policy cached from
//! the first route answers the second exactly as a fresh decision does; and nothing a backend
//! would read as another route is ever allowed.

use proptest::prelude::*;
use tollgate_authorizer::policy::{RouteArn, allows, policy_document};
use tollgate_authorizer::route::{PathCase, RouteRules, Unlisted};
use tollgate_oauth::scope::Scopes;
use tollgate_tests::iam_allows;

const PREFIX: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/";
const METHODS: [&str; 5] = ["GET", "POST", "DELETE", "PUT", "OPTIONS"];
const RULE_METHODS: [&str; 4] = ["GET", "POST", "ANY", "DELETE"];
const RULE_PATHS: [&str; 12] = [
    "/orders",
    "/orders/*",
    "/orders/admin",
    "/orders/*/items",
    "/admin/*",
    "/*",
    "/",
    "/health",
    "/a*b",
    "/orders*",
    "/Orders/*",
    "/admin",
];
const SEGMENTS: [&str; 24] = [
    "orders",
    "admin",
    "ADMIN",
    "Admin",
    "items",
    "1",
    "x",
    "",
    ".",
    "..",
    "%2e%2e",
    "%2E",
    "%2f",
    "a;b",
    "..;",
    "adm\u{131}n",
    "\u{17f}x",
    "*",
    "a\\b",
    "health",
    "ab",
    "aXb",
    "OrDeRs",
    "é",
];
const SCOPES: [&str; 3] = ["a", "b", "c"];

fn scopes(mask: u8) -> String {
    SCOPES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, s)| *s)
        .collect::<Vec<_>>()
        .join(" ")
}

fn path() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(SEGMENTS.to_vec()), 0..4),
        any::<bool>(),
    )
        .prop_map(|(segs, trailing)| {
            let mut p = format!("/{}", segs.join("/"));
            if trailing {
                p.push('/');
            }
            p
        })
}

fn rules() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(RULE_METHODS.to_vec()),
            prop::sample::select(RULE_PATHS.to_vec()),
            1u8..8,
        ),
        0..5,
    )
    .prop_map(|rs| {
        rs.iter()
            .map(|(m, p, s)| format!("{m} {p}={}", scopes(*s)))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// What a lenient backend router (Express, Flask, Spring) makes of a path: percent-decoded dots
/// and slashes, `\` as `/`, `;` parameters dropped, dot segments resolved, `//` collapsed, the
/// trailing `/` dropped, and with case-insensitive routing, case (Unicode folds included) ignored.
fn backend_route(path: &str, case: PathCase) -> String {
    let mut p = path
        .replace("%2e", ".")
        .replace("%2E", ".")
        .replace("%2f", "/")
        .replace("%2F", "/")
        .replace('\\', "/");
    if case == PathCase::Lower {
        p = p
            .replace('\u{17f}', "s")
            .replace('\u{131}', "i")
            .to_ascii_lowercase();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        let seg = seg.split(';').next().unwrap_or("");
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn cached_policy_answers_every_route_as_a_fresh_decision_does(
        raw_rules in rules(),
        unlisted_allow in any::<bool>(),
        exact_case in any::<bool>(),
        token in 0u8..8,
        m1 in prop::sample::select(METHODS.to_vec()),
        p1 in path(),
        m2 in prop::sample::select(METHODS.to_vec()),
        p2 in path(),
    ) {
        let case = if exact_case { PathCase::Exact } else { PathCase::Lower };
        let unlisted = if unlisted_allow { Unlisted::Allow } else { Unlisted::Deny };
        let parsed = RouteRules::parse_with(&raw_rules, unlisted, case);
        // Upper-case rules are refused in lower-case mode: that is tested elsewhere.
        prop_assume!(parsed.is_ok());
        let routes = parsed.unwrap();
        let scopes = Scopes::parse(&scopes(token)).unwrap_or_default();
        let (arn1, arn2) = (format!("{PREFIX}{m1}{p1}"), format!("{PREFIX}{m2}{p2}"));
        let first = RouteArn::parse(&arn1).unwrap();
        let second = RouteArn::parse(&arn2).unwrap();

        let fresh = allows(&routes, &scopes, &second);
        let cached = policy_document(&routes, &scopes, &first);
        prop_assert_eq!(
            iam_allows(&cached, &arn2), fresh,
            "rules {:?}, scopes {:?}: policy from {} {} says otherwise about {} {}",
            raw_rules, scopes.to_string(), m1, p1, m2, p2
        );
        let own = policy_document(&routes, &scopes, &second);
        prop_assert_eq!(iam_allows(&own, &arn2), fresh);

        if fresh {
            // Only a path the backend serves as itself is ever allowed, so no spelling needs
            // fewer scopes than the route it reaches.
            prop_assert_eq!(backend_route(&p2, case), p2.clone(), "{} allowed", p2);
        }
    }
}

#[test]
fn the_backend_model_resolves_what_the_issue_lists() {
    for (variant, route) in [
        ("/orders/../admin/users", "/admin/users"),
        ("/orders/%2e%2e/admin/x", "/admin/x"),
        ("//admin/users", "/admin/users"),
        ("/ADMIN/users", "/admin/users"),
        ("/orders/", "/orders"),
        ("/orders/..;/admin", "/admin"),
    ] {
        assert_eq!(backend_route(variant, PathCase::Lower), route);
    }
}

#[test]
fn iam_glob_is_iams() {
    use tollgate_tests::iam_glob;
    assert!(iam_glob("a*", "a/b/c"));
    assert!(iam_glob("a?c", "abc"));
    assert!(!iam_glob("a?c", "ac"));
    assert!(!iam_glob("A*", "a"));
    assert!(iam_glob("*/../*", "GET/x/../y"));
    assert!(!iam_glob("*/*/", "GET/"));
    assert!(iam_glob("*é*", "GET/é"));
}

#[test]
fn an_any_rule_in_a_cached_policy_covers_only_its_own_path() {
    // Found by the property above: `{stage}/*/admin/*` also matched `GET/orders/admin/x`.
    let routes = RouteRules::parse(
        "ANY /admin/*=admin; GET /orders/*=orders:read",
        Unlisted::Deny,
    )
    .unwrap();
    let admin = Scopes::parse("admin").unwrap();
    let first = RouteArn::parse(&format!("{PREFIX}DELETE/admin/1")).unwrap();
    let policy = policy_document(&routes, &admin, &first);
    assert!(iam_allows(&policy, &format!("{PREFIX}DELETE/admin/1")));
    assert!(iam_allows(&policy, &format!("{PREFIX}OPTIONS/admin/1")));
    let deeper = format!("{PREFIX}GET/orders/admin/x");
    assert!(!iam_allows(&policy, &deeper));
    assert!(!allows(&routes, &admin, &RouteArn::parse(&deeper).unwrap()));
}
