//! Route rules (`RouteRules::parse`, `allows`), the `*` matcher against a plain reference
//! implementation, and the authorizer's route ARN reading and policy (`policy::RouteArn::parse`,
//! `allows`, `policy_document`). Input lines: rules, method, path, scopes, method ARN.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_authorizer::policy::{RouteArn, allows, policy_document};
use tollgate_authorizer::route::{METHODS, RouteRules, Unlisted, glob};
use tollgate_oauth::scope::Scopes;

/// `*` matches any run of bytes: the textbook dynamic programme.
fn reference_glob(p: &[u8], t: &[u8]) -> bool {
    let mut row = vec![false; t.len() + 1];
    row[0] = true;
    for &pc in p {
        let mut next = vec![false; t.len() + 1];
        if pc == b'*' {
            let mut any = false;
            for j in 0..=t.len() {
                any |= row[j];
                next[j] = any;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = row[j - 1] && t[j - 1] == pc;
            }
        }
        row = next;
    }
    row[t.len()]
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let (rules, method, path, scopes, arn) = (
        lines.next().unwrap_or(""),
        lines.next().unwrap_or("GET"),
        lines.next().unwrap_or("/"),
        lines.next().unwrap_or(""),
        lines.next().unwrap_or(""),
    );
    if path.len() <= 256 && rules.len() <= 256 {
        assert_eq!(
            glob(rules, path),
            reference_glob(rules.as_bytes(), path.as_bytes()),
            "{rules:?} {path:?}"
        );
    }
    let unlisted = if data.len() % 2 == 0 {
        Unlisted::Deny
    } else {
        Unlisted::Allow
    };
    let Ok(rules) = RouteRules::parse(&rules.replace('|', "\n"), unlisted) else {
        return;
    };
    let Ok(scopes) = Scopes::parse(scopes) else {
        return;
    };
    let allowed = rules.allows(&scopes, method, path);
    // With no rules, the unlisted-route setting alone decides for a method API Gateway sends
    // and a path that is not a refused spelling; anything else is never allowed.
    if rules.rules.is_empty() {
        let decidable = METHODS.contains(&method) && rules.refusal(path).is_none();
        assert_eq!(allowed, decidable && unlisted == Unlisted::Allow);
    }
    if let Some(route) = RouteArn::parse(arn) {
        let _ = allows(&rules, &scopes, &route);
        assert!(policy_document(&rules, &scopes, &route).is_object());
    }
});
