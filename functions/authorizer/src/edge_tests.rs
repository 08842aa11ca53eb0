//! Rules of the route and policy modules pinned at their edges, found unpinned by the mutation
//! check (`make mutants`, docs/testing.md).

use crate::policy::RouteArn;
use crate::route::{PathCase, RouteRules, Unlisted, glob, refusal, refused_patterns};

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
        "arn:aws:execute-api:us-east-1:123456789012",
        "arn:aws:lambda:us-east-1:123456789012:abc123/prod/GET/orders",
    ] {
        assert!(RouteArn::parse(bad).is_none(), "{bad}");
    }
}

/// A rule's path with a `?` or whitespace in it could never match a request path, and would end
/// up inside an IAM pattern: refused when the rules are read.
#[test]
fn rule_paths_with_a_query_or_whitespace_are_refused() {
    assert!(RouteRules::parse("GET /orders/*=orders:read", Unlisted::Deny).is_ok());
    for raw in [
        "GET /orders?id=1=orders:read",
        "GET /or\u{a0}ders=orders:read",
        "GET /orders\u{2003}x=orders:read",
    ] {
        assert!(RouteRules::parse(raw, Unlisted::Deny).is_err(), "{raw:?}");
    }
}

/// A rule's path may be 400 characters (an IAM resource ARN holds 512), not one more.
#[test]
fn rule_paths_up_to_400_characters_are_accepted() {
    let at = format!("/{}", "a".repeat(399));
    assert!(RouteRules::parse(&format!("GET {at}=s"), Unlisted::Deny).is_ok());
    let over = format!("/{}", "a".repeat(400));
    assert!(RouteRules::parse(&format!("GET {over}=s"), Unlisted::Deny).is_err());
}

/// IAM's `*`, written independently: any run of characters, `/` included.
fn reference_glob(p: &[u8], t: &[u8]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some((b'*', rest)) => (0..=t.len()).any(|i| reference_glob(rest, &t[i..])),
        Some((c, rest)) => t.first() == Some(c) && reference_glob(rest, &t[1..]),
    }
}

/// Every string of up to `n` characters over `alphabet`.
fn strings(alphabet: &[u8], n: usize) -> Vec<Vec<u8>> {
    let mut all = vec![vec![]];
    let mut last = vec![vec![]];
    for _ in 0..n {
        last = last
            .iter()
            .flat_map(|s| {
                alphabet.iter().map(move |c| {
                    let mut s: Vec<u8> = s.clone();
                    s.push(*c);
                    s
                })
            })
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

/// The product's matcher agrees with the reference on every pattern and text up to 4 (5)
/// characters over a small alphabet.
#[test]
fn glob_agrees_with_a_reference_matcher_exhaustively() {
    let texts = strings(b"ab/", 5);
    for p in strings(b"ab/*", 4) {
        let ps = std::str::from_utf8(&p).unwrap();
        for t in &texts {
            let ts = std::str::from_utf8(t).unwrap();
            assert_eq!(glob(ps, ts), reference_glob(&p, t), "{ps:?} vs {ts:?}");
        }
    }
}
