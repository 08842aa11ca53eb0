//! What the proxy forwarded, when recording is on: each request's operation, tables and
//! outcome, and the `ConsumedCapacity` DynamoDB reported for it. With `inject_capacity`, every
//! request that can ask for it is sent with `"ReturnConsumedCapacity":"INDEXES"` (DynamoDB
//! Local checks no signature, so the rewritten body is accepted), so each one reports its read
//! and write units, the indexes' included: what a cost measurement needs.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The operations that take `ReturnConsumedCapacity`.
const CAPACITY_OPERATIONS: &[&str] = &[
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
];

/// How many records are kept; the oldest go first.
pub const DEFAULT_CAPACITY: usize = 50_000;

/// One forwarded request (`GET /records`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Its place in the proxy's sequence of requests (from 1; `?since=` pages on it).
    pub seq: u64,
    /// The part of `X-Amz-Target` after its dot (`TransactWriteItems`), or empty.
    pub operation: String,
    /// Every table the request names, in order, without repeats.
    pub tables: Vec<String>,
    /// DynamoDB's status code; 0 when DynamoDB could not be reached.
    pub status: u16,
    /// `answered`, `dropped`, `swallowed`, `delayed` or `upstream_error`.
    pub outcome: String,
    /// The rule that took it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<u64>,
    /// The answer's `ConsumedCapacity` (an object, or an array for batches and transactions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Value>,
    pub request_bytes: usize,
    pub response_bytes: usize,
}

/// Recording's switches (`POST /record`, `GET /record`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSettings {
    pub on: bool,
    #[serde(default)]
    pub inject_capacity: bool,
}

#[derive(Debug)]
pub struct Recorder {
    inner: Mutex<Kept>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Kept {
    settings: RecordSettings,
    /// Each record with the request body it came from (for `?contains=`).
    records: std::collections::VecDeque<(Record, Vec<u8>)>,
}

impl Recorder {
    pub fn new(settings: RecordSettings, capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Kept {
                settings,
                records: Default::default(),
            }),
            capacity,
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn settings(&self) -> RecordSettings {
        self.kept().settings
    }

    pub fn set(&self, settings: RecordSettings) {
        self.kept().settings = settings;
    }

    /// Keeps `record` if recording is on.
    pub fn keep(&self, record: Record, body: Vec<u8>) {
        let mut kept = self.kept();
        if !kept.settings.on {
            return;
        }
        if kept.records.len() >= self.capacity {
            kept.records.pop_front();
        }
        kept.records.push_back((record, body));
    }

    /// The records after `since` whose request body contains `contains` (when given).
    pub fn query(&self, since: u64, contains: Option<&str>) -> Vec<Record> {
        self.kept()
            .records
            .iter()
            .filter(|(r, body)| {
                r.seq > since
                    && contains.is_none_or(|c| body.windows(c.len()).any(|w| w == c.as_bytes()))
            })
            .map(|(r, _)| r.clone())
            .collect()
    }

    pub fn clear(&self) {
        self.kept().records.clear();
    }
}

/// The operation named by an `X-Amz-Target` header (`DynamoDB_20120810.GetItem` → `GetItem`).
pub fn operation(target: Option<&str>) -> String {
    target
        .map(|t| t.rsplit_once('.').map_or(t, |(_, op)| op).to_owned())
        .unwrap_or_default()
}

/// The tables a request body names: `TableName`, the tables of a transaction's items, and the
/// keys of a batch's `RequestItems`.
pub fn tables(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |t: &str| {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    };
    if let Some(t) = body.get("TableName").and_then(Value::as_str) {
        add(t);
    }
    for item in body
        .get("TransactItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let inner = item.as_object().into_iter().flat_map(|o| o.values());
        for t in inner.filter_map(|v| v.get("TableName").and_then(Value::as_str)) {
            add(t);
        }
    }
    for t in body
        .get("RequestItems")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|o| o.keys())
    {
        add(t);
    }
    out
}

/// `body` asking for capacity by index, if its operation can and it does not ask already;
/// `None` when there is nothing to change.
pub fn with_capacity_asked(operation: &str, body: &Value) -> Option<Value> {
    if !CAPACITY_OPERATIONS.contains(&operation) || body.get("ReturnConsumedCapacity").is_some() {
        return None;
    }
    let mut asked = body.as_object()?.clone();
    asked.insert("ReturnConsumedCapacity".into(), Value::from("INDEXES"));
    Some(Value::Object(asked))
}

/// The `ConsumedCapacity` of an answer body, if it has one.
pub fn consumed_capacity(answer: &[u8]) -> Option<Value> {
    let v: Value = serde_json::from_slice(answer).ok()?;
    v.get("ConsumedCapacity").cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_are_named_after_the_target_dot() {
        assert_eq!(operation(Some("DynamoDB_20120810.GetItem")), "GetItem");
        assert_eq!(operation(Some("Odd")), "Odd");
        assert_eq!(operation(None), "");
    }

    #[test]
    fn tables_come_from_every_place_a_request_names_one() {
        assert_eq!(tables(&json!({"TableName": "a"})), ["a"]);
        let tx = json!({"TransactItems": [
            {"Update": {"TableName": "t"}}, {"Put": {"TableName": "t"}},
            {"ConditionCheck": {"TableName": "u"}}]});
        assert_eq!(tables(&tx), ["t", "u"]);
        let batch = json!({"RequestItems": {"b": {}, "c": {}}});
        assert_eq!(tables(&batch), ["b", "c"]);
        assert!(tables(&json!({})).is_empty());
    }

    #[test]
    fn capacity_is_asked_only_where_it_can_be_and_is_not_already() {
        let asked = with_capacity_asked("GetItem", &json!({"TableName": "a"})).unwrap();
        assert_eq!(asked["ReturnConsumedCapacity"], "INDEXES");
        assert_eq!(asked["TableName"], "a");
        let own = json!({"ReturnConsumedCapacity": "TOTAL"});
        assert_eq!(with_capacity_asked("GetItem", &own), None);
        assert_eq!(with_capacity_asked("ListTables", &json!({})), None);
        assert_eq!(with_capacity_asked("GetItem", &json!([1])), None);
    }

    #[test]
    fn records_are_kept_only_when_on_oldest_out_first_and_filtered_by_body() {
        let r = Recorder::new(RecordSettings::default(), 2);
        let rec = |seq| Record {
            seq,
            operation: "GetItem".into(),
            tables: vec![],
            status: 200,
            outcome: "answered".into(),
            rule: None,
            consumed_capacity: consumed_capacity(br#"{"ConsumedCapacity":{"CapacityUnits":0.5}}"#),
            request_bytes: 0,
            response_bytes: 0,
        };
        r.keep(rec(1), b"one".to_vec());
        assert!(r.query(0, None).is_empty(), "off by default");
        r.set(RecordSettings {
            on: true,
            inject_capacity: false,
        });
        for (seq, body) in [(2, "mine"), (3, "theirs"), (4, "mine too")] {
            r.keep(rec(seq), body.as_bytes().to_vec());
        }
        let seqs = |v: Vec<Record>| v.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(r.query(0, None)), [3, 4]);
        assert_eq!(seqs(r.query(0, Some("mine"))), [4]);
        assert_eq!(seqs(r.query(3, None)), [4]);
        assert_eq!(
            r.query(0, None)[0].consumed_capacity,
            Some(json!({"CapacityUnits": 0.5}))
        );
        r.clear();
        assert!(r.query(0, None).is_empty());
    }
}
