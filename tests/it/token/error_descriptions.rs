//! RFC 6749 §5.2 over the served token function: every refusal of `/token` (the
//! authorization-code exchange of a public client among them), `/revoke`, `/introspect` and
//! `/sessions/revoke`, reached with hostile parameter names and values
//! (quotes, backslashes, newlines, bidi controls, line separators, non-ASCII, duplicates) and
//! hostile credentials and headers, has an `error_description` made only of
//! `%x20-21 / %x23-5B / %x5D-7E`, and no answer (body or header) repeats any of what was sent.
//! A property test: proptest draws the hostile texts, each case sends every request below, in
//! both event shapes the function serves.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tollgate_service::client::GrantType;
use tollgate_tests::{Answer, ClientSpec, Served, Transport, dynamo, event_fixture};

/// Put between and around the pieces of every hostile text: an answer that repeats any part
/// of one that crosses a piece's edge holds it. No description Tollgate writes does.
const MARK: &str = "Zq9";

/// A text a caller could send, made of pieces hostile to an error body.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\u{202e}".to_owned()),
        Just("\u{2067}".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("\u{200f}".to_owned()),
        Just("é§ü".to_owned()),
        Just("מרים".to_owned()),
        Just("<script>".to_owned()),
        Just("%00".to_owned()),
        Just("grant_type".to_owned()),
        Just("client_id".to_owned()),
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

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What a header value can carry over HTTP, and so in an event API Gateway sends: no control
/// characters.
fn header_text(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

fn basic_raw(id: &str, secret: &str) -> String {
    use base64::Engine;
    let raw = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The clients every case uses.
struct Clients {
    user: (String, String),
    machine: (String, String),
    limited: (String, String),
    /// A public client of the code flow (no secret).
    code: (String, String),
}

impl Clients {
    async fn new(served: &Served) -> Self {
        let db = dynamo().await;
        let table = &served.clients_table;
        let machine = ClientSpec {
            grant_types: vec![GrantType::ClientCredentials],
            scopes: "orders:read",
            default_scopes: "orders:read",
            ..ClientSpec::default()
        };
        let limited = ClientSpec {
            rate_limit: Some(1),
            ..ClientSpec::default()
        };
        let code = ClientSpec {
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            public: true,
            redirect_uris: vec!["https://app.example.com/cb".into()],
            ..ClientSpec::default()
        };
        Self {
            code: code.create(&db, table).await,
            user: ClientSpec::default().create(&db, table).await,
            machine: machine.create(&db, table).await,
            limited: limited.create(&db, table).await,
        }
    }
}

/// One request: path, headers, body, and whether it must be refused (a few are answered `200`
/// by design: revoking or introspecting an unknown token).
struct Case {
    what: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    refused: bool,
}

fn form_case(what: &'static str, path: &str, auth: Option<String>, body: String) -> Case {
    let mut headers = vec![(
        "Content-Type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    if let Some(a) = auth {
        headers.push(("Authorization".into(), a));
    }
    Case {
        what,
        path: path.into(),
        headers,
        body: Some(body),
        refused: true,
    }
}

/// Every refusal `/token`, `/revoke` and `/introspect` have, each reached with `h` (a hostile
/// value) and `n` (a hostile parameter name) wherever the request lets a caller put text.
fn cases(c: &Clients, t: Transport, h: &str, n: &str) -> Vec<Case> {
    let (eh, en) = (enc(h), enc(n));
    let user = Some(tollgate_tests::basic_header(&c.user.0, &c.user.1));
    let machine = Some(tollgate_tests::basic_header(&c.machine.0, &c.machine.1));
    let limited = Some(tollgate_tests::basic_header(&c.limited.0, &c.limited.1));
    let password = "grant_type=password&username=demo&password=demo-password";
    let mut all = vec![
        form_case(
            "a parameter named by the caller, twice",
            "/token",
            user.clone(),
            format!("{password}&{en}=1&{en}=2"),
        ),
        form_case(
            "grant_type twice",
            "/token",
            user.clone(),
            format!("grant_type={eh}&grant_type={eh}"),
        ),
        form_case(
            "a parameter without a name",
            "/token",
            user.clone(),
            format!("{password}&={eh}"),
        ),
        form_case(
            "bytes that are not UTF-8",
            "/token",
            user.clone(),
            format!("{en}=%ff{eh}"),
        ),
        form_case(
            "Basic with a hostile id and secret",
            "/token",
            Some(basic_raw(&eh, &eh)),
            password.into(),
        ),
        form_case(
            "Basic with a raw hostile id",
            "/token",
            Some(basic_raw(h, h)),
            password.into(),
        ),
        form_case(
            "an Authorization header of hostile text",
            "/token",
            Some(header_text(h)),
            password.into(),
        ),
        form_case(
            "a hostile client_id in the body",
            "/token",
            None,
            format!("{password}&client_id={eh}&client_secret={eh}"),
        ),
        form_case(
            "a known client with a hostile secret",
            "/token",
            None,
            format!("{password}&client_id={}&client_secret={eh}", c.user.0),
        ),
        form_case(
            "Basic and a body secret",
            "/token",
            user.clone(),
            format!("{password}&client_secret={eh}"),
        ),
        form_case(
            "a body client_id other than Basic's",
            "/token",
            user.clone(),
            format!("{password}&client_id={eh}"),
        ),
        form_case(
            "a secret without an id",
            "/token",
            None,
            format!("{password}&client_secret={eh}"),
        ),
        form_case(
            "an id without a secret",
            "/token",
            None,
            format!("{password}&client_id={eh}"),
        ),
        form_case(
            "no grant_type",
            "/token",
            user.clone(),
            format!("{en}={eh}"),
        ),
        form_case(
            "a hostile grant_type",
            "/token",
            user.clone(),
            format!("grant_type={eh}"),
        ),
        form_case(
            "a grant the client may not use",
            "/token",
            user.clone(),
            format!("grant_type=client_credentials&scope={eh}"),
        ),
        form_case(
            "a hostile username and password",
            "/token",
            user.clone(),
            format!("grant_type=password&username={eh}&password={eh}"),
        ),
        form_case(
            "no password",
            "/token",
            user.clone(),
            format!("grant_type=password&username={eh}&{en}={eh}"),
        ),
        form_case(
            "a hostile scope",
            "/token",
            user.clone(),
            format!("{password}&scope={eh}"),
        ),
        form_case(
            "a hostile scope among allowed ones",
            "/token",
            user.clone(),
            format!("{password}&scope=profile+{eh}"),
        ),
        form_case(
            "a hostile refresh token",
            "/token",
            user.clone(),
            format!("grant_type=refresh_token&refresh_token={eh}&scope={eh}"),
        ),
        form_case(
            "no refresh token",
            "/token",
            user.clone(),
            format!("grant_type=refresh_token&{en}={eh}"),
        ),
        form_case(
            "a machine client with a hostile scope",
            "/token",
            machine.clone(),
            format!("grant_type=client_credentials&scope={eh}"),
        ),
        form_case(
            "a client over its rate limit",
            "/token",
            limited.clone(),
            format!("grant_type=password&username={eh}&password={eh}"),
        ),
        form_case(
            "a body over 16 KiB",
            "/token",
            user.clone(),
            format!("{en}={}", eh.repeat(16 * 1024 / eh.len().max(1) + 1)),
        ),
        form_case(
            "revoke without a token",
            "/revoke",
            user.clone(),
            format!("{en}={eh}"),
        ),
        form_case(
            "revoke by a hostile client",
            "/revoke",
            None,
            format!("token={eh}&client_id={eh}&client_secret={eh}"),
        ),
        form_case(
            "revoke twice-sent token",
            "/revoke",
            user.clone(),
            format!("token={eh}&token={eh}"),
        ),
        form_case(
            "introspect without a token",
            "/introspect",
            machine.clone(),
            format!("{en}={eh}"),
        ),
        form_case(
            "introspect by a hostile client",
            "/introspect",
            Some(basic_raw(&eh, h)),
            format!("token={eh}"),
        ),
        form_case(
            "introspect with a hostile secret",
            "/introspect",
            None,
            format!("token={eh}&client_id={}&client_secret={eh}", c.machine.0),
        ),
    ];
    let code = &c.code.0;
    all.extend([
        form_case(
            "a hostile code, verifier and redirect_uri",
            "/token",
            None,
            format!("grant_type=authorization_code&client_id={code}&code={eh}&code_verifier={eh}&redirect_uri={eh}&{en}={eh}"),
        ),
        form_case(
            "a code without its verifier",
            "/token",
            None,
            format!("grant_type=authorization_code&client_id={code}&code={eh}"),
        ),
        form_case(
            "a public client at the password grant",
            "/token",
            None,
            format!("grant_type=password&client_id={code}&username={eh}&password={eh}"),
        ),
        form_case(
            "a public client with a hostile secret",
            "/token",
            None,
            format!("grant_type=authorization_code&client_id={code}&client_secret={eh}&code={eh}"),
        ),
    ]);
    for path in ["/token", "/revoke", "/introspect"] {
        all.push(Case {
            what: "a hostile Content-Type",
            path: path.into(),
            headers: vec![("Content-Type".into(), header_text(h))],
            body: Some(format!("{en}={eh}")),
            refused: true,
        });
        // The function URL and the HTTP API event carry a query; the REST event of this
        // helper has none.
        let query = match t {
            Transport::FunctionUrl | Transport::HttpApi => format!("?{en}={eh}"),
            Transport::RestProxy { .. } => String::new(),
        };
        all.push(Case {
            what: "GET with a hostile query",
            path: format!("{path}{query}"),
            headers: vec![],
            body: None,
            refused: true,
        });
    }
    all.push(Case {
        what: "a hostile path",
        path: format!("/{eh}"),
        headers: vec![],
        body: None,
        refused: true,
    });
    // Answered 200 by design (RFC 7009 §2.2, RFC 7662 §2.2): checked for echoes all the same.
    let mut unknown = form_case(
        "revoke a hostile token",
        "/revoke",
        user.clone(),
        format!("token={eh}&token_type_hint={eh}&{en}={eh}"),
    );
    unknown.refused = false;
    all.push(unknown);
    let mut inactive = form_case(
        "introspect a hostile token",
        "/introspect",
        machine,
        format!("token={eh}&token_type_hint={eh}"),
    );
    inactive.refused = false;
    all.push(inactive);
    all
}

/// `POST /sessions/revoke` with an IAM identity (the Invoke API only: the function URL has
/// none), with hostile bodies.
fn session_events(h: &str) -> Vec<(&'static str, Value, bool)> {
    let event = |body: String, content_type: &str| {
        let mut e = event_fixture("rest-proxy-iam.json");
        e["body"] = body.into();
        e["headers"]["Content-Type"] = content_type.into();
        e["multiValueHeaders"]["Content-Type"] = json!([content_type]);
        e
    };
    let json = "application/json";
    vec![
        (
            // Refused unless it happens to be a well-formed id: then nobody's sessions end.
            "a hostile sub and client_id",
            event(json!({"sub": h, "client_id": h}).to_string(), json),
            false,
        ),
        (
            "a client_id that is no client id",
            event(json!({"client_id": format!("{h}/")}).to_string(), json),
            true,
        ),
        ("a body that is not JSON", event(h.to_owned(), json), true),
        (
            "a hostile member",
            event(json!({ h: h }).to_string(), json),
            true,
        ),
        (
            "a hostile Content-Type",
            event("{}".into(), &header_text(h)),
            true,
        ),
    ]
}

/// The checks on one answer: a refusal has an RFC 6749 §5.2 body whose description is within
/// the set; no answer repeats what was sent.
fn check(what: &str, a: &Answer, refused: bool) -> Result<(), TestCaseError> {
    if refused {
        prop_assert!(a.status >= 400, "{what}: not refused: {a:?}");
    }
    if a.status >= 400 {
        let d = a.json["error_description"].as_str();
        prop_assert!(
            a.json["error"].is_string() && d.is_some(),
            "{what}: no RFC 6749 error body: {a:?}"
        );
        let d = d.unwrap_or_default();
        prop_assert!(
            d.bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
            "{what}: error_description outside RFC 6749 §5.2's set: {d:?}"
        );
    }
    let body = a.json.to_string();
    prop_assert!(
        !body.contains(MARK),
        "{what}: the answer repeats the request: {body}"
    );
    for (name, value) in &a.headers {
        let v = String::from_utf8_lossy(value.as_bytes());
        prop_assert!(
            !v.contains(MARK),
            "{what}: header {name} repeats the request: {v}"
        );
    }
    Ok(())
}

async fn run_case(
    served: &Served,
    clients: &Clients,
    t: Transport,
    h: &str,
    n: &str,
) -> Result<(), TestCaseError> {
    for case in cases(clients, t, h, n) {
        let method = if case.body.is_some() { "POST" } else { "GET" };
        let headers: Vec<(&str, &str)> = case
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let a = t
            .request(served, method, &case.path, &headers, case.body.as_deref())
            .await;
        check(case.what, &a, case.refused)?;
    }
    for (what, event, refused) in session_events(h) {
        let a = tollgate_tests::transport::invoke_rest(served, &event).await;
        check(what, &a, refused)?;
    }
    Ok(())
}

#[test]
fn no_refusal_echoes_the_request_or_leaves_rfc_6749_characters() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let served = Served::from_env();
    let clients = rt.block_on(Clients::new(&served));
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        hostile(),
        hostile(),
        proptest::sample::select(Transport::ALL.to_vec()),
    );
    runner
        .run(&strategy, |(h, n, t)| {
            rt.block_on(run_case(&served, &clients, t, &h, &n))
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
