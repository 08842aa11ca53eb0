//! DynamoDB failing under the served token function (issue 25), through the fault instance of
//! `make test`'s stack: the token function behind the fault proxy (`tools/ddb-proxy`), running
//! several invocations at once. A rotation whose write lands but whose answer is lost
//! (`lost_answer`; a code exchange's, `code_exchange`; a legacy refresh token's take-over,
//! `legacy`), and 400 sign-in chains through a 5 s DynamoDB stall (`soak`): a `503` that
//! says "try again" must mean it. And what each operation costs in DynamoDB capacity and log
//! bytes, from the proxy's recording (`cost`).

mod code_exchange;
mod cost;
mod ddb_proxy;
mod legacy;
mod lost_answer;
mod revocation;
mod soak;

use std::sync::LazyLock;

use serde_json::Value;
use tokio::sync::RwLock;
use tollgate_oauth::secret::Secret;
use tollgate_service::store::dynamo::family_key;
use tollgate_tests::logs::{json_lines, log_since};
use tollgate_tests::{family_id_of, stored_item};

/// The proxy is shared: a stall holds every request of the fault instance. Tests that aim a rule
/// at their own items share it (read); the soak, which stalls everything, has it alone (write).
static PROXY_USE: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));

/// What a rotation's transaction names of the token it retires: its hash (the family's
/// condition, and its record of the retired token).
fn rotation_of(refresh_token: &str) -> String {
    hash(refresh_token)
}

/// What DynamoDB holds for a session: its family item, found from one of its refresh tokens.
struct Family {
    status: String,
    /// The hash of the one refresh token the family accepts now.
    current_token: String,
}

async fn family_of(db: &aws_sdk_dynamodb::Client, table: &str, refresh_token: &str) -> Family {
    let family_id = family_id_of(db, table, refresh_token).await;
    let family = stored_item(db, table, &family_key(&family_id)).await;
    Family {
        status: family["status"].as_s().unwrap().clone(),
        current_token: family["current_token"].as_s().unwrap().clone(),
    }
}

/// When the refresh token was rotated (seconds since the epoch), as its family's record of
/// the token it retired says.
async fn rotated_at(db: &aws_sdk_dynamodb::Client, table: &str, refresh_token: &str) -> u64 {
    let family_id = family_id_of(db, table, refresh_token).await;
    let family = stored_item(db, table, &family_key(&family_id)).await;
    let retired = family.get("retired").and_then(|v| v.as_m().ok());
    let at = retired
        .filter(|r| r["token_hash"].as_s().ok() == Some(&hash(refresh_token)))
        .and_then(|r| r["rotated_at"].as_n().ok());
    at.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the token was not rotated: {family:?}"))
}

fn hash(refresh_token: &str) -> String {
    Secret::new(refresh_token).hash()
}

/// The JSON lines of the function's log.
fn log_lines(path: &str) -> Vec<Value> {
    json_lines(&log_since(path, 0))
}

/// The audit events the log holds for `client_id` so far, by name.
fn audit_events(path: &str, client_id: &str) -> Vec<String> {
    log_lines(path)
        .into_iter()
        .filter(|v| v["audit"] == 1 && v["client_id"] == client_id)
        .map(|v| v["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The `RefreshTokenReuse` metric the log's EMF lines count for `client_id`.
fn reuse_metric(path: &str, client_id: &str) -> u64 {
    log_lines(path)
        .iter()
        .filter(|v| v.get("_aws").is_some() && v["ClientId"] == client_id)
        .filter_map(|v| v["RefreshTokenReuse"].as_f64())
        .map(|n| n.round() as u64)
        .sum()
}
