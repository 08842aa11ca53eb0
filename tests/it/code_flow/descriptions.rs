//! RFC 6749 §5.2 at `/authorize`: every refusal reached with hostile parameter names and
//! values, sent back to the client (its `error_description` within `%x20-21 / %x23-5B /
//! %x5D-7E`, the redirect repeating nothing the caller sent but its own `state`) or shown on an
//! error page (repeating nothing at all). A property test, as `error_descriptions` is for
//! `/token`: proptest draws the hostile texts, each case sends every request below.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tollgate_tests::code_flow::{Page, authorize_url, get_page, post_sign_in, query_params};
use tollgate_tests::form;

use super::Flow;

/// Between and around the pieces of every hostile text (as in `error_descriptions`).
const MARK: &str = "Zq9";

fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\u{202e}".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("é§".to_owned()),
        Just("<script>".to_owned()),
        Just("%00".to_owned()),
        Just("&state=".to_owned()),
        Just("#".to_owned()),
        "[ -~]{1,6}",
        "\\PC{1,4}",
    ];
    proptest::collection::vec(piece, 1..5).prop_map(|pieces| {
        let mut s = MARK.to_owned();
        for p in pieces {
            s.push_str(&p);
            s.push_str(MARK);
        }
        s
    })
}

/// What a refusal may show: a redirect whose every parameter but `state` is Tollgate's, with a
/// description in RFC 6749's set, or a page that repeats nothing.
fn check(what: &str, p: &Page) -> Result<(), TestCaseError> {
    prop_assert!(p.status >= 300, "{what}: not refused: {p:?}");
    for (name, value) in &p.headers {
        if name == "location" {
            continue;
        }
        let v = String::from_utf8_lossy(value.as_bytes());
        prop_assert!(
            !v.contains(MARK),
            "{what}: header {name} repeats the request: {v}"
        );
    }
    prop_assert!(
        !p.text.contains(MARK),
        "{what}: the page repeats the request"
    );
    if let Some(location) = p.header("location") {
        let q = query_params(location.split_once('?').map_or("", |(_, q)| q));
        let d = q.get("error_description").map(String::as_str).unwrap_or("");
        prop_assert!(
            q.contains_key("error"),
            "{what}: a redirect without an error: {location}"
        );
        prop_assert!(
            d.bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
            "{what}: error_description outside RFC 6749 §5.2's set: {d:?}"
        );
        for (k, v) in &q {
            prop_assert!(
                k == "state" || !v.contains(MARK),
                "{what}: {k} repeats the request: {v}"
            );
        }
    }
    Ok(())
}

async fn run_case(f: &Flow, h: &str, n: &str) -> Result<(), TestCaseError> {
    let prompt = format!("none {h}");
    let changes = [
        ("a hostile response_type", "response_type", h),
        ("a hostile scope", "scope", h),
        ("a hostile challenge method", "code_challenge_method", h),
        ("a hostile challenge", "code_challenge", h),
        ("a hostile prompt", "prompt", prompt.as_str()),
        ("a hostile response_mode", "response_mode", h),
        ("a hostile client_id", "client_id", h),
        ("a hostile redirect_uri", "redirect_uri", h),
    ];
    for (what, name, value) in changes {
        let params = f.with(&[(name, Some(value))]);
        check(
            what,
            &get_page(&authorize_url(&f.served.base, &params)).await,
        )?;
    }
    let long = format!("{h}{}", "x".repeat(2000));
    let mut named = f.params();
    named.extend([(n, "1"), (n, "2")]);
    check(
        "a hostile name twice",
        &get_page(&authorize_url(&f.served.base, &named)).await,
    )?;
    let mut oversized = f.params();
    oversized.push((n, &long));
    check(
        "a hostile name too long",
        &get_page(&authorize_url(&f.served.base, &oversized)).await,
    )?;
    let fields = [("request", h), ("username", h), ("password", h), (n, h)];
    check(
        "a hostile form",
        &post_sign_in(&f.served.base, None, &fields).await,
    )?;
    let cookie = format!("__Host-tollgate-signin={}", form(&[("v", h)]));
    check(
        "a hostile cookie",
        &post_sign_in(&f.served.base, Some(&cookie), &fields).await,
    )?;
    Ok(())
}

#[test]
fn no_authorize_refusal_echoes_the_request_or_leaves_rfc_6749_characters() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = rt.block_on(Flow::public());
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(hostile(), hostile()), |(h, n)| {
            rt.block_on(run_case(&f, &h, &n))
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
