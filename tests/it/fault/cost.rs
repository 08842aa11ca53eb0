//! What each operation costs (issue 23), measured on the fault instance, whose DynamoDB calls go
//! through the recording proxy: it asks DynamoDB Local for `ConsumedCapacity` (`INDEXES`) on
//! every call, so each operation's read and write units, by table and index, are DynamoDB's own
//! count. The log bytes are what the function wrote at INFO (the deployed level) for the request.
//! A change that adds a read or a write to an operation fails here, and so does one that adds a
//! log line or takes its log bytes past their ceiling (`LOGS`); `make cost` prices the
//! figures this test writes to `TOLLGATE_E2E_COST_REPORT` (measure/cost.py, docs/performance.md).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tollgate_ddb_proxy::{Record, RecordSettings};
use tollgate_service::client::GrantType;
use tollgate_tests::fault::FaultServed;
use tollgate_tests::{
    Answer, ClientSpec, dynamo, event_fixture, http, invoke_at, post_token, unique,
};

use super::PROXY_USE;

/// One operation's measured cost.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct Cost {
    operation: String,
    /// Read and write units, by table (`tokens`) and index (`tokens.sessions`).
    read: BTreeMap<String, f64>,
    write: BTreeMap<String, f64>,
    /// The DynamoDB calls, in order (a refused one with its status).
    calls: Vec<String>,
    /// Conditional writes whose condition did not hold (billed as one write unit each).
    failed_conditions: usize,
    /// Each call's `ConsumedCapacity` as DynamoDB Local reported it (for the check by hand).
    capacity: Vec<Value>,
    /// Bytes of the JSON lines the function wrote for the request (what CloudWatch Logs
    /// ingests), and how many lines.
    log_bytes: usize,
    log_lines: usize,
    /// The function's own measure of the request (`latency_ms`, or the authorizer's
    /// `latency_us`), in milliseconds.
    latency_ms: f64,
    /// Measured on an instance that did not know the client's rate limit yet (its first
    /// request for the client, or the first after `known::TTL_SECS`): one count more.
    first_for_client: bool,
}

impl Cost {
    fn units(map: &BTreeMap<String, f64>) -> f64 {
        map.values().sum()
    }

    /// (read units, write units), tables and indexes together: what on-demand bills.
    fn totals(&self) -> (f64, f64) {
        (Self::units(&self.read), Self::units(&self.write))
    }
}

const READS: &[&str] = &[
    "GetItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "TransactGetItems",
];

/// The writes of one item that may carry a condition.
const SINGLE_WRITES: &[&str] = &["PutItem", "UpdateItem", "DeleteItem"];

/// The table's name without the run's suffix (`tokens-fault-123` → `tokens`).
fn logical(table: &str) -> String {
    table.split('-').next().unwrap_or(table).to_owned()
}

/// Adds one call's `ConsumedCapacity` (an object, or an array for transactions) to `into`.
fn add_capacity(record: &Record, into: &mut BTreeMap<String, f64>) {
    let cc = record
        .consumed_capacity
        .clone()
        .unwrap_or_else(|| panic!("no ConsumedCapacity: {record:?}"));
    let entries = if let Value::Array(a) = cc {
        a
    } else {
        vec![cc]
    };
    for e in entries {
        let table = logical(e["TableName"].as_str().expect("TableName"));
        let on_table = e["Table"]["CapacityUnits"]
            .as_f64()
            .or_else(|| e["CapacityUnits"].as_f64())
            .expect("CapacityUnits");
        *into.entry(table.clone()).or_default() += on_table;
        for kind in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
            for (index, v) in e[kind].as_object().into_iter().flatten() {
                let units = v["CapacityUnits"].as_f64().expect("index CapacityUnits");
                *into.entry(format!("{table}.{index}")).or_default() += units;
            }
        }
    }
}

/// The line an operation ends with: the token function's `Requests` document, or the
/// authorizer's decision line (each an EMF document which is also the request's log record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Request,
    Decision,
}

impl End {
    fn is(self, line: &Value) -> bool {
        match self {
            Self::Request => line.get("Requests").is_some(),
            Self::Decision => line.get("Authorizations").is_some(),
        }
    }

    /// The function's own measure of the operation, in milliseconds.
    fn latency_ms(self, line: &Value) -> f64 {
        match self {
            Self::Request => line["Latency"].as_f64(),
            Self::Decision => line["AuthorizerLatency"].as_f64().map(|us| us / 1000.0),
        }
        .unwrap_or(0.0)
    }
}

/// Whether a JSON line belongs to an invocation: a log line in its span, an audit line or an
/// EMF line. A new instance's start-up lines (`cargo lambda watch` may start one for any
/// invocation) are billed once per cold start, not per request.
fn of_a_request(line: &Value) -> bool {
    ["spans", "span", "audit", "_aws"]
        .iter()
        .any(|k| line.get(k).is_some())
}

/// The JSON lines the function wrote from `offset` on (`cargo lambda watch` may prefix them),
/// once the line that ends the operation has come and nothing more for 300 ms.
async fn lines_after(path: &str, offset: usize, end: End) -> Vec<Value> {
    let started = Instant::now();
    let (mut seen, mut quiet_since, mut len) = (false, Instant::now(), offset);
    loop {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        if bytes.len() != len {
            (len, quiet_since) = (bytes.len(), Instant::now());
        }
        let text = String::from_utf8_lossy(&bytes[offset.min(bytes.len())..]).into_owned();
        let lines: Vec<Value> = text
            .lines()
            .filter_map(|l| l.find('{').map(|i| &l[i..]))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(of_a_request)
            .collect();
        seen = seen || lines.iter().any(|l| end.is(l));
        if seen && quiet_since.elapsed() > Duration::from_millis(300) {
            return lines;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no {end:?} line reached {path} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Meter {
    f: FaultServed,
}

impl Meter {
    /// Runs `op` alone (the caller holds the proxy) and measures what it cost.
    async fn measure<T>(
        &self,
        operation: &'static str,
        end: End,
        op: impl std::future::Future<Output = T>,
    ) -> (T, Cost) {
        self.f.proxy.clear_records().await;
        let offset = std::fs::metadata(&self.f.log_path).map_or(0, |m| m.len() as usize);
        let out = op.await;
        let lines = lines_after(&self.f.log_path, offset, end).await;
        let records = self.f.proxy.records(0, "").await;
        let (mut read, mut write) = (BTreeMap::new(), BTreeMap::new());
        let mut failed_conditions = 0;
        for r in &records {
            assert_eq!(r.outcome, "answered", "{r:?}");
            if r.status == 400 && SINGLE_WRITES.contains(&r.operation.as_str()) {
                // A condition that did not hold: DynamoDB Local reports no capacity, DynamoDB
                // bills the write anyway (the existing item's size, at least 1 unit; these
                // items are well under 1 KB).
                failed_conditions += 1;
                for t in &r.tables {
                    *write.entry(logical(t)).or_default() += 1.0;
                }
                continue;
            }
            assert_eq!(r.status, 200, "{r:?}");
            let into = if READS.contains(&r.operation.as_str()) {
                &mut read
            } else {
                &mut write
            };
            add_capacity(r, into);
        }
        let last = lines.iter().find(|l| end.is(l)).unwrap();
        if end == End::Request {
            // The document is the request's log line: no `request` line besides it.
            assert!(
                last["Route"].is_string() && last["Status"].is_u64(),
                "{last}"
            );
            assert!(
                !lines.iter().any(|l| l["fields"]["message"] == "request"),
                "{lines:#?}"
            );
        }
        let latency_ms = end.latency_ms(last);
        let cost = Cost {
            operation: operation.to_owned(),
            read,
            write,
            calls: records
                .iter()
                .map(|r| match r.status {
                    200 => r.operation.clone(),
                    status => format!("{} ({status})", r.operation),
                })
                .collect(),
            failed_conditions,
            capacity: records
                .iter()
                .filter_map(|r| r.consumed_capacity.clone())
                .collect(),
            log_bytes: lines.iter().map(|l| l.to_string().len() + 1).sum(),
            log_lines: lines.len(),
            latency_ms,
            first_for_client: false,
        };
        (out, cost)
    }

    /// Measures a `/token` operation until it runs on an instance that knows its client's
    /// limit: `cargo lambda watch` runs several processes and any may take a request, so the
    /// first may reach one that has not seen the client. Each such run must cost exactly one
    /// count (an `UpdateItem` of one write unit on the lockouts table) more than the warm run
    /// `warm` says, and then that process knows the client: with at most `ATTEMPTS - 1`
    /// processes, the warm figure comes. Returns the warm run and the first cold one, if any.
    async fn settled<F, Fut>(
        &self,
        operation: &'static str,
        mut op: F,
        mut after: impl FnMut(&Answer),
    ) -> (Answer, Cost, Option<Cost>)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Answer>,
    {
        const ATTEMPTS: usize = 32;
        let warm = expected(operation);
        let mut first = None::<Cost>;
        for _ in 0..ATTEMPTS {
            let (answer, mut cost) = self.measure(operation, End::Request, op()).await;
            after(&answer);
            if cost.totals() == warm {
                if let Some(cold) = &first {
                    one_count_more(cold, &cost);
                }
                return (answer, cost, first);
            }
            cost.operation = format!("{operation}, the instance's first for its client");
            cost.first_for_client = true;
            first.get_or_insert(cost);
        }
        panic!("{operation}: never measured on an instance that knew its client: {first:#?}");
    }

    async fn token(&self, basic: (&str, &str), pairs: &[(&str, &str)]) -> Answer {
        post_token(&self.f.token_url(), Some(basic), pairs).await
    }

    async fn form(&self, path: &str, basic: (&str, &str), pairs: &[(&str, &str)]) -> Answer {
        let url = format!("{}/{path}", self.f.base);
        post_token(&url, Some(basic), pairs).await
    }

    /// The authorizer of the same instance, through the Lambda Invoke API.
    async fn authorize(&self, access_token: &str) -> Value {
        let mut e = event_fixture("sam-rest-token.json");
        e["authorizationToken"] = format!("Bearer {access_token}").into();
        e["methodArn"] =
            "arn:aws:execute-api:us-east-1:123456789012:example/prod/GET/orders/1".into();
        let invoke = self.f.base.split("/lambda-url/").next().unwrap().to_owned();
        let (status, out) = invoke_at(&invoke, "authorizer", e.to_string().as_bytes()).await;
        assert_eq!(status, 200, "{out}");
        out
    }
}

fn token_of(answer: &Answer, member: &str) -> String {
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json[member].as_str().expect(member).to_owned()
}

/// A user of the dev auth endpoint with the claims a real directory sends (the family item
/// keeps them: their size is part of the write).
async fn user(f: &FaultServed) -> String {
    let username = unique("cost-user");
    let user = json!({
        "password": "cost-password",
        "claims": {
            "sub": unique("sub"),
            "email": format!("{username}@example.com"),
            "name": "Cost Measure",
            "groups": ["staff", "orders"],
        }
    });
    let url = format!("{}/users/{username}", f.auth_url);
    let resp = http().put(url).json(&user).send().await.expect("dev-auth");
    assert_eq!(resp.status().as_u16(), 200, "PUT /users: {resp:?}");
    username
}

/// Every operation of the bill, one at a time, with nothing else on the proxy.
async fn measure_all() -> Vec<Cost> {
    let m = Meter {
        f: FaultServed::from_env(),
    };
    let db = dynamo().await;
    let table = &m.f.clients_table;
    let (id, secret) = ClientSpec::default().create(&db, table).await;
    let (machine_id, machine_secret) = ClientSpec {
        grant_types: vec![GrantType::ClientCredentials],
        ..ClientSpec::default()
    }
    .create(&db, table)
    .await;
    let (limited_id, limited_secret) = ClientSpec {
        rate_limit: Some(1000),
        ..ClientSpec::default()
    }
    .create(&db, table)
    .await;
    let username = user(&m.f).await;
    let basic = (id.as_str(), secret.as_str());
    let password = [
        ("grant_type", "password"),
        ("username", username.as_str()),
        ("password", "cost-password"),
        ("scope", "profile orders:read"),
    ];
    m.f.proxy
        .set_recording(RecordSettings {
            on: true,
            inject_capacity: true,
        })
        .await;
    let mut costs = Vec::new();
    // A first grant warms the instance (its cold start reads no table): not measured.
    let (granted, _) = m
        .measure("warm-up", End::Request, m.token(basic, &password))
        .await;
    token_of(&granted, "access_token");
    let latest = std::cell::RefCell::new(String::new());
    let keep = |a: &Answer| *latest.borrow_mut() = token_of(a, "refresh_token");
    let (_, c, first) = m
        .settled("password grant", || m.token(basic, &password), keep)
        .await;
    costs.extend([c].into_iter().chain(first));
    let meter = &m;
    let refresh = || {
        let token = latest.borrow().clone();
        async move {
            let pairs = [("grant_type", "refresh_token"), ("refresh_token", &token)];
            meter.token(basic, &pairs).await
        }
    };
    let (refreshed, c, first) = m.settled("refresh", refresh, keep).await;
    costs.extend([c].into_iter().chain(first));
    let access = token_of(&refreshed, "access_token");
    let current = token_of(&refreshed, "refresh_token");
    let machine = (machine_id.as_str(), machine_secret.as_str());
    let cc = || m.token(machine, &[("grant_type", "client_credentials")]);
    let (cc, c, first) = m.settled("client credentials", cc, |_| ()).await;
    token_of(&cc, "access_token");
    costs.extend([c].into_iter().chain(first));
    let (looked, c) = m
        .measure(
            "introspect",
            End::Request,
            m.form("introspect", basic, &[("token", &access)]),
        )
        .await;
    assert_eq!(looked.status, 200, "{looked:?}");
    costs.push(c);
    // The authorizer's first decision starts its instance: not measured either.
    m.authorize(&token_of(&cc, "access_token")).await;
    let (decided, c) = m
        .measure("authorizer, fresh", End::Decision, m.authorize(&access))
        .await;
    assert_eq!(
        decided["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{decided}"
    );
    costs.push(c);
    let (again, c) = m
        .measure("authorizer, cached", End::Decision, m.authorize(&access))
        .await;
    assert_eq!(again, decided);
    costs.push(c);
    let (revoked, c) = m
        .measure(
            "revoke",
            End::Request,
            m.form("revoke", basic, &[("token", &current)]),
        )
        .await;
    assert_eq!(revoked.status, 200, "{revoked:?}");
    costs.push(c);
    let limited = (limited_id.as_str(), limited_secret.as_str());
    let (granted, c) = m
        .measure(
            "password grant, rate-limited client",
            End::Request,
            m.token(limited, &password),
        )
        .await;
    token_of(&granted, "access_token");
    costs.push(c);
    m.f.proxy.set_recording(RecordSettings::default()).await;
    costs
}

/// Each operation's DynamoDB capacity as the pricing rules give it (docs/performance.md, "The
/// capacity, checked by hand"): `(read units, write units)`, tables and indexes together.
const EXPECTED: &[(&str, (f64, f64))] = &[
    // The client read; the lockout's reservation and reset, and the session's three items
    // (the family and its two companions, each with its index entry) put on their own: 7
    // write units, where the same items in one transaction were 10 by the pricing rules.
    ("password grant", (1.0, 7.0)),
    // The client and the family read (the token names its family), and the family's
    // compare-and-swap: one single-item write where a three-item transaction was 6 (8 by the
    // pricing rules) and the successor's record and the family's update were 2. The family
    // carries no index keys (its companions do), so it writes no index entry.
    ("refresh", (2.0, 1.0)),
    ("client credentials", (1.0, 0.0)),
    ("introspect", (2.0, 0.0)),
    ("authorizer, fresh", (0.0, 0.0)),
    ("authorizer, cached", (0.0, 0.0)),
    // The client and the family read (once: the read that finds whose the token is serves
    // the session's end), the family revoked (no index entry: its companions carry the
    // keys), and the session's end recorded for the authorizers (the revocations table's feed
    // and key items: issue 19).
    ("revoke", (2.0, 3.0)),
    ("password grant, rate-limited client", (1.0, 8.0)),
];

/// A sign-in's writes, by table and index: the lockout's reservation and reset, the family
/// and its two companions (single puts, no transaction), and the companions' index entries.
const SIGN_IN_WRITES: &[(&str, f64)] =
    &[("lockouts", 2.0), ("tokens", 3.0), ("tokens.sessions", 2.0)];

/// Each operation's log lines, and the most log bytes they may take: `make cost`'s figure on
/// 2026-12-08 (issue 23, docs/performance.md) and about 4 % for ids and latencies of other
/// lengths. A line added to an operation (the authorizer's second line back, an EMF or audit
/// line more on a grant) fails here, and so does a line grown past the margin. A request's
/// dependency calls are one line per dependency (a value per call), not one per call: a
/// password grant's five calls are two lines, a refresh's four one.
const LOGS: &[(&str, (usize, usize))] = &[
    // A `/token` request's lines: its `Requests` document (also its log record), its audit
    // line(s), and one line per dependency it called.
    ("password grant", (4, 1_880)),
    ("refresh", (4, 1_680)),
    ("client credentials", (2, 1_160)),
    ("introspect", (2, 970)),
    // One line per decision: its EMF document is its log record. 492 bytes, and 554 when a
    // revocation read came since the previous decision (its `RevocationReads`): either may be
    // measured here, so the ceiling is the larger.
    ("authorizer, fresh", (1, 580)),
    ("authorizer, cached", (1, 580)),
    ("revoke", (5, 1_740)),
    ("password grant, rate-limited client", (4, 1_900)),
];

/// A run on an instance that did not know the client's limit costs the warm run's calls and
/// one count more: an `UpdateItem` of one write unit on the lockouts table.
fn one_count_more(cold: &Cost, warm: &Cost) {
    let mut calls = warm.calls.clone();
    calls.push("UpdateItem".into());
    let mut cold_calls = cold.calls.clone();
    calls.sort();
    cold_calls.sort();
    assert_eq!(cold_calls, calls, "{cold:#?}\n{warm:#?}");
    let mut write = warm.write.clone();
    *write.entry("lockouts".into()).or_default() += 1.0;
    assert_eq!((&cold.read, &cold.write), (&warm.read, &write), "{cold:#?}");
}

/// An operation's expected `(read units, write units)` on an instance that knows its client.
fn expected(operation: &str) -> (f64, f64) {
    EXPECTED
        .iter()
        .find(|(o, _)| *o == operation)
        .unwrap_or_else(|| panic!("no expected cost for {operation}"))
        .1
}

#[tokio::test]
async fn each_operation_costs_the_capacity_the_pricing_rules_give_it() {
    let _alone = PROXY_USE.write().await;
    let costs = measure_all().await;
    if let Ok(path) = std::env::var("TOLLGATE_E2E_COST_REPORT") {
        let report = serde_json::to_string_pretty(&costs).unwrap();
        std::fs::write(&path, report).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let got: Vec<(&str, (f64, f64))> = costs
        .iter()
        .filter(|c| !c.first_for_client)
        .map(|c| (c.operation.as_str(), c.totals()))
        .collect();
    assert_eq!(got, EXPECTED, "{costs:#?}");
    let grant = costs
        .iter()
        .find(|c| c.operation == "password grant" && !c.first_for_client)
        .expect("a warm password grant");
    let writes: Vec<(&str, f64)> = grant.write.iter().map(|(t, u)| (t.as_str(), *u)).collect();
    assert_eq!(writes, SIGN_IN_WRITES, "{grant:#?}");
    assert!(
        !grant
            .calls
            .iter()
            .any(|c| c.starts_with("TransactWriteItems")),
        "a sign-in writes no transaction: {grant:#?}"
    );
    let logged: Vec<(&str, (usize, usize))> = costs
        .iter()
        .filter(|c| !c.first_for_client)
        .map(|c| (c.operation.as_str(), (c.log_lines, c.log_bytes)))
        .collect();
    assert_eq!(logged.len(), LOGS.len(), "{logged:?}");
    for ((operation, (lines, bytes)), (want, (want_lines, ceiling))) in logged.iter().zip(LOGS) {
        assert_eq!(operation, want);
        assert_eq!(lines, want_lines, "{operation}: log lines {logged:?}");
        assert!(
            bytes <= ceiling,
            "{operation}: {bytes} log bytes, over its ceiling of {ceiling}: {logged:?}"
        );
    }
}
