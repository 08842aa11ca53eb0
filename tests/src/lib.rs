//! Shared by the black-box tests: DynamoDB Local (which must be running; there is no silent
//! skip), tables with a random suffix per test, the dev auth endpoint in-process, and the
//! token function that `scripts/test.sh` serves under `cargo lambda watch`.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use aws_config::BehaviorVersion;
use tokio::net::TcpListener;
use tollgate_dev_auth::{Settings, User};
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::{Secret, random_token};
use tollgate_service::client::{
    Client, ClientStore, GrantType, PasswordGrantSunset, ResponseProfile,
};
use tollgate_service::store::dynamo::DynamoClientStore;
use tollgate_service::store::dynamo::create_table;
use tollgate_service::store::tables;

pub mod admin;
pub mod authorizer;
pub mod browser;
mod client;
pub mod code_flow;
pub mod fault;
pub mod logs;
pub mod moto;
pub mod repo;
mod service;
pub mod transport;
pub use client::{TestClient, jwt_claims, sessions_revoke_event};
pub use service::{alice_only, dynamo_service};
pub use transport::Transport;

const HOW_TO_START: &str = "DynamoDB Local is needed. Run `make test` (it starts everything), or start it with \
`make dynamodb` and export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 before `cargo test`";

/// An SDK client for DynamoDB Local; panics with instructions when it is not there.
pub async fn dynamo() -> aws_sdk_dynamodb::Client {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| panic!("{HOW_TO_START}"));
    let cfg = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .endpoint_url(&endpoint)
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&cfg);
    let probe = tokio::time::timeout(
        Duration::from_secs(10),
        client.list_tables().limit(1).send(),
    )
    .await;
    match probe {
        Ok(Ok(_)) => client,
        Ok(Err(e)) => panic!("DynamoDB Local at {endpoint} failed: {e:?}. {HOW_TO_START}"),
        Err(_) => panic!("DynamoDB Local at {endpoint} did not answer in 10 s. {HOW_TO_START}"),
    }
}

/// One test's own tables.
#[derive(Debug, Clone)]
pub struct TestTables {
    pub clients: String,
    pub tokens: String,
    pub lockouts: String,
    pub revocations: String,
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", random_token(6).replace(['-', '_'], "x"))
}

/// One test's four tables, sharing one random suffix (`clients-x`, `revocations-x`, ...), as
/// the served stack's do: [`revocations_table_of`] finds one from the other.
pub async fn create_tables(db: &aws_sdk_dynamodb::Client) -> TestTables {
    let suffix = unique("t");
    let t = TestTables {
        clients: format!("clients-{suffix}"),
        tokens: format!("tokens-{suffix}"),
        lockouts: format!("lockouts-{suffix}"),
        revocations: format!("revocations-{suffix}"),
    };
    for (spec, name) in [
        (tables::CLIENTS, &t.clients),
        (tables::TOKENS, &t.tokens),
        (tables::LOCKOUTS, &t.lockouts),
        (tables::REVOCATIONS, &t.revocations),
    ] {
        create_table(db, &spec, name)
            .await
            .unwrap_or_else(|e| panic!("creating {name}: {e:?}"));
    }
    t
}

/// What a test client looks like; adjust before `create`.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub grant_types: Vec<GrantType>,
    pub scopes: &'static str,
    pub default_scopes: &'static str,
    pub enabled: bool,
    pub refresh_token_ttl: Option<u64>,
    pub refresh_family_ttl: Option<u64>,
    pub rate_limit: Option<u32>,
    pub password_grant_sunset: Option<PasswordGrantSunset>,
    pub response_profile: ResponseProfile,
    /// May introspect every client's tokens.
    pub introspect_any: bool,
    /// The client's own refresh reuse grace window (seconds), `None` for the deployment's.
    pub refresh_reuse_grace: Option<u64>,
    /// A public client: no secret (`create` returns an empty one).
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
}

impl Default for ClientSpec {
    fn default() -> Self {
        Self {
            grant_types: vec![GrantType::Password, GrantType::RefreshToken],
            scopes: "profile orders:read orders:write",
            default_scopes: "profile",
            enabled: true,
            refresh_token_ttl: None,
            refresh_family_ttl: None,
            rate_limit: None,
            password_grant_sunset: None,
            response_profile: ResponseProfile::default(),
            introspect_any: false,
            refresh_reuse_grace: None,
            public: false,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
        }
    }
}

impl ClientSpec {
    /// Creates a client with a random id and secret in `table`; returns (id, secret).
    pub async fn create(self, db: &aws_sdk_dynamodb::Client, table: &str) -> (String, String) {
        let id = unique("client");
        let secret = Secret::generate();
        let client = Client {
            client_id: id.clone(),
            name: "test".into(),
            secret_hash: if self.public {
                String::new()
            } else {
                secret.hash()
            },
            previous_secret: None,
            enabled: self.enabled,
            grant_types: self.grant_types,
            allowed_scopes: Scopes::parse(self.scopes).expect("scopes"),
            default_scopes: Scopes::parse(self.default_scopes).expect("scopes"),
            access_token_ttl: None,
            refresh_token_ttl: self.refresh_token_ttl,
            refresh_family_ttl: self.refresh_family_ttl,
            rate_limit: self.rate_limit,
            password_grant_sunset: self.password_grant_sunset,
            response_profile: self.response_profile,
            refresh_reuse_grace: self.refresh_reuse_grace,
            created_at: 0,
            introspect_any: self.introspect_any,
            public: self.public,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
        };
        DynamoClientStore::new(db.clone(), table)
            .create(&client)
            .await
            .expect("create client");
        let secret = if self.public {
            String::new()
        } else {
            secret.expose().to_owned()
        };
        (id, secret)
    }
}

/// The revocations table beside the clients table `clients` (`clients-x` → `revocations-x`): the
/// tables `create_tables` and `scripts/test.sh` make share their suffix.
pub fn revocations_table_of(clients: &str) -> String {
    let suffix = clients.strip_prefix("clients-").unwrap_or_else(|| {
        panic!("{clients}: not a clients table of create_tables or scripts/test.sh")
    });
    format!("revocations-{suffix}")
}

/// The item keyed `pk` in `table`, read consistently; panics when there is none.
pub async fn stored_item(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let read = db
        .get_item()
        .table_name(table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(pk.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await;
    read.expect("GetItem")
        .item
        .unwrap_or_else(|| panic!("no item {pk} in {table}"))
}

/// The family id of a refresh token Tollgate issued: the one it carries (the shape issued now,
/// `tollgate_service::refresh::in_family`), or its own record's (a token issued before).
pub async fn family_id_of(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    refresh_token: &str,
) -> String {
    use tollgate_oauth::secret::Secret;
    use tollgate_service::refresh::in_family::parts;
    use tollgate_service::store::dynamo::token_key;
    if let Some((family_id, _)) = parts(refresh_token) {
        return family_id.to_owned();
    }
    let pk = token_key(&Secret::new(refresh_token).hash());
    let record = stored_item(db, table, &pk).await;
    record["family_id"].as_s().expect("family_id").clone()
}

/// The users file the tests' auth endpoints serve.
pub fn test_users() -> Vec<User> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/users.json");
    tollgate_dev_auth::load_users(path).expect("tests/fixtures/users.json")
}

/// Starts the dev auth endpoint in this process on a free port; returns its URL.
pub async fn start_auth_endpoint(credential: Option<(&str, &str)>) -> String {
    start_counted_auth_endpoint(credential).await.0
}

/// Like `start_auth_endpoint`, with the counter of password checks it has received.
pub async fn start_counted_auth_endpoint(
    credential: Option<(&str, &str)>,
) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let settings = Settings {
        users: test_users(),
        credential: credential.map(|(h, v)| (h.into(), v.into())),
        ..Settings::default()
    };
    let calls = settings.calls.clone();
    tokio::spawn(tollgate_dev_auth::serve(listener, Arc::new(settings)));
    (format!("http://{addr}/"), calls)
}

/// The token function as `scripts/test.sh` serves it under `cargo lambda watch`.
#[derive(Debug, Clone)]
pub struct Served {
    /// Base URL: `{base}/token`, `{base}/.well-known/jwks.json`.
    pub base: String,
    /// The same function configured with an auth endpoint that refuses connections.
    pub base_auth_down: String,
    pub clients_table: String,
    /// The served function's refresh-token table.
    pub tokens_table: String,
    /// The served stack's revocations table.
    pub revocations_table: String,
    /// The served authorizers' freshness bound (`REVOCATION_MAX_STALENESS_SECONDS`).
    pub revocation_bound: Duration,
    /// The served function's login-failure table.
    pub lockouts_table: String,
    pub issuer: String,
    pub audience: String,
    /// Where the function's output (its logs) is written; it logs at DEBUG.
    pub log_path: String,
    /// The log of the instance whose auth endpoint is down; it logs at TRACE.
    pub auth_down_log_path: String,
    /// The Lambda Invoke API of the instance whose auth endpoint is down.
    pub auth_down_invoke: String,
    /// `cargo lambda watch`'s Lambda Invoke API: `{invoke}/2015-03-31/functions/{name}/invocations`.
    pub invoke: String,
    /// The dev auth endpoint the served function asks (password checks and `/status`); it
    /// accepts `PUT /users/{username}`.
    pub auth_url: String,
}

impl Served {
    pub fn from_env() -> Self {
        let get = |k: &str| {
            std::env::var(k).unwrap_or_else(|_| {
                panic!("{k} is not set: these tests drive the token function under `cargo lambda watch`; run them with `make test`")
            })
        };
        Self {
            base: get("TOLLGATE_E2E_URL"),
            base_auth_down: get("TOLLGATE_E2E_AUTH_DOWN_URL"),
            clients_table: get("TOLLGATE_E2E_CLIENTS_TABLE"),
            tokens_table: get("TOLLGATE_E2E_TOKENS_TABLE"),
            revocations_table: get("TOLLGATE_E2E_REVOCATIONS_TABLE"),
            revocation_bound: Duration::from_secs(
                get("TOLLGATE_E2E_REVOCATION_BOUND")
                    .parse()
                    .expect("TOLLGATE_E2E_REVOCATION_BOUND is whole seconds"),
            ),
            lockouts_table: get("TOLLGATE_E2E_LOCKOUTS_TABLE"),
            issuer: get("TOLLGATE_E2E_ISSUER"),
            audience: get("TOLLGATE_E2E_AUDIENCE"),
            log_path: get("TOLLGATE_E2E_LOG"),
            auth_down_log_path: get("TOLLGATE_E2E_AUTH_DOWN_LOG"),
            auth_down_invoke: get("TOLLGATE_E2E_AUTH_DOWN_INVOKE_URL"),
            invoke: get("TOLLGATE_E2E_INVOKE_URL"),
            auth_url: get("TOLLGATE_E2E_AUTH_URL"),
        }
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.base)
    }

    pub fn revoke_url(&self) -> String {
        format!("{}/revoke", self.base)
    }

    /// Invokes a function through the Lambda Invoke API, as API Gateway would; returns the
    /// HTTP status and the payload (the function's answer, or its error).
    pub async fn invoke(&self, function: &str, payload: &[u8]) -> (u16, serde_json::Value) {
        invoke_at(&self.invoke, function, payload).await
    }
}

/// Invokes `function` through the Lambda Invoke API at `base`.
pub async fn invoke_at(base: &str, function: &str, payload: &[u8]) -> (u16, serde_json::Value) {
    let url = format!("{base}/2015-03-31/functions/{function}/invocations");
    let resp = http()
        .post(url)
        .body(payload.to_vec())
        .send()
        .await
        .expect("invoke");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub json: serde_json::Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn error(&self) -> Option<&str> {
        self.json.get("error").and_then(|v| v.as_str())
    }
    /// The answer's `access_token`; panics when there is none.
    pub fn access_token(&self) -> String {
        self.text("access_token")
    }
    /// The answer's `refresh_token`; panics when there is none.
    pub fn refresh_token(&self) -> String {
        self.text("refresh_token")
    }
    fn text(&self, member: &str) -> String {
        let text = self.json[member].as_str();
        text.unwrap_or_else(|| panic!("no {member}: {self:?}"))
            .to_owned()
    }
    /// RFC 6749 §5.1/§5.2: every token endpoint answer is uncacheable.
    pub fn assert_no_store(&self) {
        assert_eq!(self.header("cache-control"), Some("no-store"), "{self:?}");
        assert_eq!(self.header("pragma"), Some("no-cache"), "{self:?}");
    }
    /// Asserts an RFC 6749 §5.2 error with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error()),
            (status, Some(code)),
            "{self:?}"
        );
        assert!(
            self.json
                .get("error_description")
                .and_then(|d| d.as_str())
                .is_some_and(|d| !d.is_empty())
        );
        self.assert_no_store();
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text:?}"))
    };
    Answer {
        status,
        headers,
        json,
    }
}

/// POSTs a form to the token endpoint, with Basic credentials when given.
pub async fn post_token(url: &str, basic: Option<(&str, &str)>, pairs: &[(&str, &str)]) -> Answer {
    let mut req = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some((id, secret)) = basic {
        req = req.header("authorization", basic_header(id, secret));
    }
    send(req).await
}

/// RFC 6749 §2.3.1: the id and secret are form-urlencoded before base64.
pub fn basic_header(id: &str, secret: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// Reads a recorded API Gateway event from `tests/fixtures/events/`.
pub fn event_fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// IAM's resource matching, written here independently of the product's glob: `*` matches
/// any run of characters (`/` included), `?` exactly one character, everything else itself,
/// case-sensitively.
pub fn iam_glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // m[j]: the pattern so far matches t[..j].
    let mut m = vec![false; t.len() + 1];
    m[0] = true;
    for &pc in &p {
        let mut next = vec![false; t.len() + 1];
        match pc {
            '*' => {
                let mut any = false;
                for j in 0..=t.len() {
                    any |= m[j];
                    next[j] = any;
                }
            }
            _ => {
                for j in 1..=t.len() {
                    next[j] = m[j - 1] && (pc == '?' || pc == t[j - 1]);
                }
            }
        }
        m = next;
    }
    m[t.len()]
}

/// Evaluates an authorizer's IAM policy for a method ARN the way API Gateway does: an explicit
/// Deny wins, then an Allow, else the implicit deny.
pub fn iam_allows(policy: &serde_json::Value, method_arn: &str) -> bool {
    let matches = |stmt: &serde_json::Value| {
        let resources = match &stmt["Resource"] {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => vec![],
        };
        stmt["Action"] == "execute-api:Invoke" && resources.iter().any(|r| iam_glob(r, method_arn))
    };
    let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
    if statements
        .iter()
        .any(|s| s["Effect"] == "Deny" && matches(s))
    {
        return false;
    }
    statements
        .iter()
        .any(|s| s["Effect"] == "Allow" && matches(s))
}

/// Reads a log file as it grows, from a remembered offset: tests wait for the lines their
/// requests cause by polling, never by sleeping a fixed time.
#[derive(Debug)]
pub struct LogTail {
    path: String,
    offset: usize,
    pending: std::collections::VecDeque<String>,
}

impl LogTail {
    /// Starts at the file's current end: only lines written from now on are seen.
    pub fn at_end(path: &str) -> Self {
        let len = std::fs::read(path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .len();
        Self {
            path: path.to_owned(),
            offset: len,
            pending: Default::default(),
        }
    }

    /// Lines completed since the last call (a line still being written waits for its newline).
    pub fn new_lines(&mut self) -> Vec<String> {
        let bytes = std::fs::read(&self.path).unwrap_or_else(|e| panic!("{}: {e}", self.path));
        let fresh = &bytes[self.offset.min(bytes.len())..];
        let Some(end) = fresh.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        self.offset += end + 1;
        String::from_utf8_lossy(&fresh[..end])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The next line (after the previous one this returned) for which `wanted` holds; polls
    /// the file for up to 60 s, then fails naming the file.
    pub async fn next_line(&mut self, mut wanted: impl FnMut(&str) -> bool) -> String {
        for _ in 0..1200 {
            if let Some(line) = self.next_line_now(&mut wanted) {
                return line;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no such line reached {} within 60 s", self.path)
    }

    /// Like [`Self::next_line`], without waiting: `None` when no such line has been written
    /// yet (the lines before it are passed over all the same).
    pub fn next_line_now(&mut self, mut wanted: impl FnMut(&str) -> bool) -> Option<String> {
        let lines = self.new_lines();
        self.pending.extend(lines);
        while let Some(line) = self.pending.pop_front() {
            if wanted(&line) {
                return Some(line);
            }
        }
        None
    }
}
