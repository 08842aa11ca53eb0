//! Rules of the route and policy modules pinned at their edges, found unpinned by the mutation
//! check (`make mutants`, docs/testing.md).

use crate::policy::RouteArn;
use crate::route::{PathCase, glob, refusal, refused_patterns};

const REFUSED_BOTH: [&str; 13] = [
    "//x",
    "/orders//1",
    "/orders/",
    "/a/./b",
    "/a/.",
    "/a/../b",
    "/..",
    "/a%2e",
    "/a\\b",
    "/a;b",
    "/\u{17f}",
    "/\u{212a}elvin",
    "/\u{130}d",
];
const FINE_BOTH: [&str; 7] = [
    "/",
    "/orders",
    "/orders/1",
    "/a.b",
    "/..a",
    "/.well-known/jwks.json",
    "/a-b_c~d",
];

/// A cached policy must refuse exactly what a fresh decision refuses: each refused spelling
/// is matched by one of the Deny patterns, and no ordinary path is.
#[test]
fn the_deny_patterns_match_exactly_the_refused_spellings() {
    for case in [PathCase::Exact, PathCase::Lower] {
        let patterns = refused_patterns(case);
        let denied = |path: &str| {
            ["GET", "POST", "DELETE"]
                .iter()
                .all(|m| patterns.iter().any(|p| glob(p, &format!("{m}{path}"))))
        };
        let allowed = |path: &str| {
            ["GET", "POST", "DELETE"]
                .iter()
                .all(|m| !patterns.iter().any(|p| glob(p, &format!("{m}{path}"))))
        };
        for path in REFUSED_BOTH {
            assert!(refusal(path, case).is_some(), "{case:?} {path:?}");
            assert!(denied(path), "{case:?}: no Deny pattern for {path:?}");
        }
        for path in FINE_BOTH {
            assert_eq!(refusal(path, case), None, "{case:?} {path:?}");
            assert!(allowed(path), "{case:?}: {path:?} is denied");
        }
        let upper = "/Orders/1";
        assert_eq!(refusal(upper, case).is_some(), case == PathCase::Lower);
        assert_eq!(denied(upper), case == PathCase::Lower, "{case:?}");
        assert_eq!(allowed(upper), case == PathCase::Exact, "{case:?}");
    }
}

/// A method ARN with a `?` or a method API Gateway does not route is not parsed: either would
/// end up inside an IAM pattern.
#[test]
fn arns_with_a_query_or_an_unknown_method_are_refused() {
    let ok = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders";
    assert!(RouteArn::parse(ok).is_some());
    for bad in [
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders?x=1",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/G?T/orders",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/FETCH/orders",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/orders",
        "arn:aws:execute-api:us-east-1:123456789012:/prod/GET/orders",
        "arn:aws:execute-api:us-east-1:123456789012:abc123//GET/orders",
        "arx:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders",
        "arn:aws:lambda:us-east-1:123456789012:abc123/prod/GET/orders",
    ] {
        assert!(RouteArn::parse(bad).is_none(), "{bad}");
    }
}
