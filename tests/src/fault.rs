//! The fault proxy (`tools/ddb-proxy`) as the tests drive it: its control API, and the fault
//! instance of the served stack, the token function whose DynamoDB is behind the proxy.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tollgate_ddb_proxy::{Action, Record, RecordSettings, RuleSpec, RuleState, StallState, Stats};

use crate::{Answer, http, post_token};

/// A fault proxy's control API.
#[derive(Debug, Clone)]
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub control: String,
}

impl FaultProxy {
    pub fn new(control: impl Into<String>) -> Self {
        Self {
            control: control.into().trim_end_matches('/').to_owned(),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Option<T> {
        let url = format!("{}{path}", self.control);
        let mut req = http().request(method, &url);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("fault proxy control {url}: {e}"));
        let status = resp.status();
        let text = resp.text().await.expect("control answer");
        assert!(status.is_success(), "{url}: {status} {text}");
        (!text.is_empty())
            .then(|| serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}")))
    }

    pub async fn add_rule(&self, spec: &RuleSpec) -> RuleState {
        self.call(reqwest::Method::POST, "/rules", Some(spec))
            .await
            .expect("the new rule")
    }

    /// Loses the answer of every request of `operation` whose body contains `body_contains`,
    /// after DynamoDB has applied it, until the rule is removed.
    pub async fn drop_answers(&self, operation: &str, body_contains: &str) -> RuleState {
        self.add_rule(&RuleSpec {
            action: Action::Drop,
            target: Some(operation.into()),
            body_contains: Some(body_contains.into()),
            count: None,
        })
        .await
    }

    pub async fn rule(&self, id: u64) -> RuleState {
        self.call(reqwest::Method::GET, &format!("/rules/{id}"), None::<&()>)
            .await
            .expect("the rule")
    }

    pub async fn remove_rule(&self, id: u64) {
        self.call::<()>(
            reqwest::Method::DELETE,
            &format!("/rules/{id}"),
            None::<&()>,
        )
        .await;
    }

    /// Stalls every request and answer for `ms` from now, like a frozen DynamoDB.
    pub async fn stall(&self, ms: u64) -> StallState {
        let body = serde_json::json!({ "ms": ms });
        self.call(reqwest::Method::POST, "/stall", Some(&body))
            .await
            .expect("the stall")
    }

    pub async fn end_stall(&self) -> StallState {
        self.call(reqwest::Method::DELETE, "/stall", None::<&()>)
            .await
            .expect("the stall")
    }

    pub async fn stats(&self) -> Stats {
        self.call(reqwest::Method::GET, "/stats", None::<&()>)
            .await
            .expect("stats")
    }

    pub async fn set_recording(&self, settings: RecordSettings) {
        self.call::<RecordSettings>(reqwest::Method::POST, "/record", Some(&settings))
            .await;
    }

    /// The records after `since` whose request body contains `contains`.
    pub async fn records(&self, since: u64, contains: &str) -> Vec<Record> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("since", &since.to_string())
            .append_pair("contains", contains)
            .finish();
        self.call(
            reqwest::Method::GET,
            &format!("/records?{query}"),
            None::<&()>,
        )
        .await
        .unwrap_or_default()
    }
}

/// The fault instance of the served stack (`scripts/test.sh`): the token function under
/// `cargo lambda watch`, running several invocations at once, whose DynamoDB endpoint is the
/// fault proxy, in tables of its own.
#[derive(Debug, Clone)]
pub struct FaultServed {
    /// Base URL: `{base}/token`.
    pub base: String,
    pub clients_table: String,
    pub tokens_table: String,
    /// The instance's output (at INFO, in JSON as in Lambda): its log, audit and EMF lines.
    pub log_path: String,
    /// The proxy between the instance and DynamoDB Local.
    pub proxy: FaultProxy,
    /// The instance's `LOST_ANSWER_WINDOW_SECONDS`.
    pub lost_answer_window: u64,
    /// The dev auth endpoint (it accepts `PUT /users/{username}`).
    pub auth_url: String,
    /// The instance's Lambda Invoke API (its authorizer reads revocations through the proxy).
    pub invoke: String,
    /// The instance's revocations table.
    pub revocations_table: String,
    /// How long its authorizer decides with the last state read when none can be read.
    pub revocation_stale_for: Duration,
}

impl FaultServed {
    pub fn from_env() -> Self {
        let get = |k: &str| {
            std::env::var(k).unwrap_or_else(|_| {
                panic!("{k} is not set: these tests drive the fault instance of the served stack; run them with `make test`")
            })
        };
        Self {
            base: get("TOLLGATE_E2E_FAULT_URL"),
            clients_table: get("TOLLGATE_E2E_FAULT_CLIENTS_TABLE"),
            tokens_table: get("TOLLGATE_E2E_FAULT_TOKENS_TABLE"),
            log_path: get("TOLLGATE_E2E_FAULT_LOG"),
            proxy: FaultProxy::new(get("TOLLGATE_E2E_FAULT_PROXY_URL")),
            lost_answer_window: get("TOLLGATE_E2E_FAULT_LOST_ANSWER_WINDOW")
                .parse()
                .expect("TOLLGATE_E2E_FAULT_LOST_ANSWER_WINDOW is seconds"),
            auth_url: get("TOLLGATE_E2E_AUTH_URL"),
            invoke: get("TOLLGATE_E2E_FAULT_INVOKE_URL"),
            revocations_table: get("TOLLGATE_E2E_FAULT_REVOCATIONS_TABLE"),
            revocation_stale_for: Duration::from_secs(
                get("TOLLGATE_E2E_FAULT_REVOCATION_STALE_FOR")
                    .parse()
                    .expect("TOLLGATE_E2E_FAULT_REVOCATION_STALE_FOR is seconds"),
            ),
        }
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.base)
    }
}

/// A 503's `Retry-After`, in seconds; fails when a 503 has none (every one must say when).
pub fn retry_after(answer: &Answer) -> Duration {
    assert_eq!(answer.status, 503, "{answer:?}");
    let secs: u64 = answer
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a 503 without a Retry-After in seconds: {answer:?}"));
    Duration::from_secs(secs)
}

/// Posts to the token endpoint as a well-behaved client does: a `503` is retried after its
/// `Retry-After`, up to `tries` times in all; returns the last answer and how many 503s came.
pub async fn post_as_told(
    url: &str,
    basic: (&str, &str),
    pairs: &[(&str, &str)],
    tries: u32,
) -> (Answer, u32) {
    let mut unavailable = 0;
    loop {
        let answer = post_token(url, Some(basic), pairs).await;
        if answer.status != 503 || unavailable + 1 >= tries {
            return (answer, unavailable);
        }
        unavailable += 1;
        tokio::time::sleep(retry_after(&answer)).await;
    }
}

impl FaultProxy {
    /// Forgets every record kept so far.
    pub async fn clear_records(&self) {
        self.call::<()>(reqwest::Method::DELETE, "/records", None::<&()>)
            .await;
    }
}
