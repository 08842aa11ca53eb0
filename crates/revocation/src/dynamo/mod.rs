//! The authorizer's reader of the revocations table, without the AWS SDK: one SigV4-signed
//! `DynamoDB_20120810.Query` POST per page, with Lambda's own credentials from its environment.
//! A warm read asks the feed partition for what was written after a cursor (strongly
//! consistent); a cold read asks the live index for every entry still in force (eventually
//! consistent) and the feed for its last minute (strongly consistent), which covers what the
//! index may not show yet.

pub mod sigv4;
pub mod transport;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::entry::{Entry, FEED, LIVE_INDEX, attr, feed_cursor, live_until};
use crate::feed::{Read, Since, Source};
use sigv4::{AmzDate, Credentials, Request, Scope};
use transport::{HttpClient, HttpError};

/// How long one page's request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
/// Items one Query page holds at most: a page of about 100 KB to parse, whatever the feed holds.
pub const PAGE_ITEMS: usize = 1_000;
const TARGET: &str = "DynamoDB_20120810.Query";
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Where the table is and whose credentials read it.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    pub table: String,
    pub region: String,
    /// `https://dynamodb.<region>.amazonaws.com`, or `AWS_ENDPOINT_URL_DYNAMODB`.
    pub endpoint: Endpoint,
    pub credentials: Credentials,
}

/// A DynamoDB endpoint: its URL and the `host` header it is signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub host: String,
}

impl Endpoint {
    /// `http(s)://host[:port]` with nothing after it but an optional `/`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL"))?;
        let host = rest.strip_suffix('/').unwrap_or(rest);
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!("{url:?} must be a scheme and a host, nothing else"));
        }
        let scheme_len = url.len() - rest.len();
        Ok(Self {
            url: format!("{}{host}/", &url[..scheme_len]),
            host: host.to_owned(),
        })
    }

    /// DynamoDB's public endpoint in `region`.
    pub fn for_region(region: &str) -> Self {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        let host = format!("dynamodb.{region}.{suffix}");
        Self {
            url: format!("https://{host}/"),
            host,
        }
    }
}

/// Why the configuration cannot be read; names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ReaderConfig {
    /// The reader of `table`, from the variables Lambda sets: `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, and
    /// `AWS_ENDPOINT_URL_DYNAMODB` (or `AWS_ENDPOINT_URL`) when set.
    pub fn from_lookup(
        table: String,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let need = |k: &str| {
            get(k).ok_or_else(|| ConfigError(format!("{k} is required to read REVOCATIONS_TABLE")))
        };
        let region = need("AWS_REGION")?;
        let endpoint = match get("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| get("AWS_ENDPOINT_URL")) {
            Some(url) => Endpoint::parse(url.trim())
                .map_err(|e| ConfigError(format!("AWS_ENDPOINT_URL_DYNAMODB: {e}")))?,
            None => Endpoint::for_region(&region),
        };
        Ok(Self {
            table,
            region,
            endpoint,
            credentials: Credentials {
                access_key_id: need("AWS_ACCESS_KEY_ID")?,
                secret_access_key: need("AWS_SECRET_ACCESS_KEY")?,
                session_token: get("AWS_SESSION_TOKEN"),
            },
        })
    }
}

/// Why a read failed. Never carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("DynamoDB did not answer within {0:?}")]
    Timeout(Duration),
    #[error("DynamoDB could not be reached")]
    Http(#[from] HttpError),
    #[error("DynamoDB answered {status}: {kind}: {message}")]
    Refused {
        status: u16,
        kind: String,
        message: String,
    },
    #[error("DynamoDB's answer is not a Query result")]
    Malformed(#[source] serde_json::Error),
}

/// Reads the revocations table.
#[derive(Debug, Clone)]
pub struct DynamoReader {
    cfg: ReaderConfig,
    http: HttpClient,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct QueryInput<'a> {
    table_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index_name: Option<&'a str>,
    key_condition_expression: &'a str,
    expression_attribute_names: Value,
    expression_attribute_values: Value,
    projection_expression: &'a str,
    consistent_read: bool,
    limit: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    exclusive_start_key: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueryOutput {
    #[serde(default)]
    items: Vec<Map<String, Value>>,
    last_evaluated_key: Option<Value>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(alias = "Message", default)]
    message: String,
}

/// One Query: on the feed after a sort key, or on the live index after an expiry.
struct Query<'a> {
    index: Option<&'a str>,
    condition: &'a str,
    after: Value,
    consistent: bool,
}

impl DynamoReader {
    pub fn new(cfg: ReaderConfig) -> Result<Self, HttpError> {
        Ok(Self {
            cfg,
            http: HttpClient::new(CONNECT_TIMEOUT)?,
        })
    }

    /// Every entry on the feed written after `after_ms` (strongly consistent).
    pub async fn written_after(&self, after_ms: u64) -> Result<Read, ReadError> {
        self.query(&Query {
            index: None,
            condition: "#pk = :pk AND #sk > :after",
            after: json!({ "S": feed_cursor(after_ms) }),
            consistent: true,
        })
        .await
    }

    /// Every entry still in force after `now` (seconds), by the live index.
    pub async fn live_after(&self, now: u64) -> Result<Read, ReadError> {
        self.query(&Query {
            index: Some(LIVE_INDEX),
            condition: "#pk = :pk AND #live > :after",
            after: json!({ "S": live_until(now) }),
            consistent: false,
        })
        .await
    }

    async fn query(&self, q: &Query<'_>) -> Result<Read, ReadError> {
        let mut read = Read::default();
        let mut start = None;
        loop {
            let input = QueryInput {
                table_name: &self.cfg.table,
                index_name: q.index,
                key_condition_expression: q.condition,
                expression_attribute_names: names(q.index.is_some()),
                expression_attribute_values: json!({ ":pk": { "S": FEED }, ":after": q.after }),
                projection_expression: "#sk, #cutoff, #exp",
                consistent_read: q.consistent,
                limit: PAGE_ITEMS,
                exclusive_start_key: start.take(),
            };
            // Serialising maps of strings cannot fail.
            let body = serde_json::to_vec(&input).unwrap_or_default();
            let page = self.send(body).await?;
            read.requests += 1;
            for item in &page.items {
                match entry_of(item) {
                    Some(e) => read.entries.push(e),
                    None => read
                        .unreadable
                        .push(sort_key(item).unwrap_or("?").to_owned()),
                }
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(read),
            }
        }
    }

    /// One signed POST, its answer read as a Query page.
    async fn send(&self, body: Vec<u8>) -> Result<QueryOutput, ReadError> {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let date = AmzDate::from_unix(secs);
        let c = &self.cfg.credentials;
        let mut headers = vec![
            ("host", self.cfg.endpoint.host.as_str()),
            ("content-type", CONTENT_TYPE),
            ("x-amz-target", TARGET),
            ("x-amz-date", date.stamp.as_str()),
        ];
        if let Some(token) = &c.session_token {
            headers.push(("x-amz-security-token", token.as_str()));
        }
        let scope = Scope {
            region: &self.cfg.region,
            service: "dynamodb",
            date: &date,
        };
        let req = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            payload: &body,
        };
        let authorization = sigv4::authorization(c, &scope, &req);
        headers.push(("authorization", authorization.as_str()));
        let sent = self.http.post(&self.cfg.endpoint.url, &headers, body);
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, sent)
            .await
            .map_err(|_| ReadError::Timeout(REQUEST_TIMEOUT))??;
        if answer.status != 200 {
            let body = serde_json::from_slice::<ErrorBody>(&answer.body).ok();
            let (kind, message) = body.map_or_else(Default::default, |e| {
                let kind = e.kind.rsplit('#').next().unwrap_or_default().to_owned();
                (kind, e.message.chars().take(200).collect())
            });
            return Err(ReadError::Refused {
                status: answer.status,
                kind,
                message,
            });
        }
        serde_json::from_slice(&answer.body).map_err(ReadError::Malformed)
    }
}

/// The attribute names a Query uses (DynamoDB refuses one it does not use): the index's sort
/// key only when asking the index.
fn names(index: bool) -> Value {
    let mut names = json!({
        "#pk": attr::PK, "#sk": attr::SK, "#cutoff": attr::CUTOFF, "#exp": attr::EXPIRES_AT,
    });
    if index {
        names["#live"] = json!(attr::LIVE_UNTIL);
    }
    names
}

fn sort_key(item: &Map<String, Value>) -> Option<&str> {
    item.get(attr::SK)?.get("S")?.as_str()
}

fn number(item: &Map<String, Value>, name: &str) -> Option<u64> {
    item.get(name)?.get("N")?.as_str()?.parse().ok()
}

/// The entry a feed item holds, if it is one.
fn entry_of(item: &Map<String, Value>) -> Option<Entry> {
    let cutoff = match item.get(attr::CUTOFF) {
        Some(_) => Some(number(item, attr::CUTOFF)?),
        None => None,
    };
    Entry::from_feed(sort_key(item)?, cutoff, number(item, attr::EXPIRES_AT)?)
}

impl Source for DynamoReader {
    type Error = ReadError;

    async fn read(&self, since: Since) -> Result<Read, ReadError> {
        match since {
            Since::After(ms) => self.written_after(ms).await,
            Since::Start {
                now,
                recent_after_ms,
            } => {
                // Both at once: the index for what is in force, the feed for what the index
                // may not show yet.
                let (live, recent) =
                    tokio::join!(self.live_after(now), self.written_after(recent_after_ms));
                let mut read = live?;
                read.absorb(recent?);
                Ok(read)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_endpoint_is_the_regions_unless_one_is_given() {
        let base = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ];
        let cfg = ReaderConfig::from_lookup("t".into(), lookup(&base)).unwrap();
        assert_eq!(
            cfg.endpoint.url,
            "https://dynamodb.eu-west-1.amazonaws.com/"
        );
        assert_eq!(cfg.endpoint.host, "dynamodb.eu-west-1.amazonaws.com");
        assert_eq!(cfg.credentials.session_token, None);
        assert_eq!(
            Endpoint::for_region("cn-north-1").host,
            "dynamodb.cn-north-1.amazonaws.com.cn"
        );
        let local = [
            base[0],
            base[1],
            base[2],
            ("AWS_SESSION_TOKEN", "tok"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ];
        let cfg = ReaderConfig::from_lookup("t".into(), lookup(&local)).unwrap();
        assert_eq!(cfg.endpoint.url, "http://127.0.0.1:8000/");
        assert_eq!(cfg.endpoint.host, "127.0.0.1:8000");
        assert_eq!(cfg.credentials.session_token.as_deref(), Some("tok"));
    }

    #[test]
    fn missing_credentials_and_bad_endpoints_are_named() {
        let err = ReaderConfig::from_lookup("t".into(), lookup(&[("AWS_REGION", "r")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
        for bad in [
            "ftp://x",
            "http://",
            "https://h/path",
            "https://u@h",
            "h:80",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn feed_items_become_entries_and_strangers_are_set_aside() {
        let item = |v: Value| v.as_object().cloned().unwrap();
        let good = item(json!({
            "sk": {"S": "1700000000000#client#app"},
            "cutoff": {"N": "1700000000"},
            "expires_at": {"N": "1700090000"}
        }));
        let e = entry_of(&good).unwrap();
        assert_eq!(e.cutoff, Some(1_700_000_000));
        for bad in [
            json!({"sk": {"S": "1700000000000#client#app"}, "expires_at": {"N": "1"}}),
            json!({"sk": {"S": "1700000000000#sid#s"}, "expires_at": {"S": "1"}}),
            json!({"sk": {"S": "1700000000000#sid#s"}, "cutoff": {"N": "x"}, "expires_at": {"N": "1"}}),
            json!({"sk": {"N": "1"}, "expires_at": {"N": "1"}}),
        ] {
            assert_eq!(entry_of(&item(bad.clone())), None, "{bad}");
        }
    }
}
