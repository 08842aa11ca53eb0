//! The fault proxy (`tools/ddb-proxy`) itself, in this process, in front of DynamoDB Local,
//! with the AWS SDK as its caller: requests pass through untouched; a rule loses, swallows or
//! delays exactly the answers it matches while DynamoDB applies the requests; a stall holds
//! everything and, when it ends, applies also what callers gave up on; recording reports each
//! request's operation, tables and consumed capacity; the control API refuses rules that would
//! fire by mistake.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tollgate_ddb_proxy::{Action, Config, RecordSettings, RuleSpec, Running};
use tollgate_service::store::dynamo::create_table;
use tollgate_service::store::tables;
use tollgate_tests::fault::FaultProxy;
use tollgate_tests::{dynamo, http, unique};

struct Setup {
    /// DynamoDB Local, directly.
    db: aws_sdk_dynamodb::Client,
    /// DynamoDB Local through the proxy, one attempt per call.
    via: aws_sdk_dynamodb::Client,
    control: FaultProxy,
    running: Running,
    table: String,
}

async fn setup(record: RecordSettings) -> Setup {
    let db = dynamo().await;
    let table = unique("proxy");
    create_table(&db, &tables::TOKENS, &table)
        .await
        .expect("table");
    let running = tollgate_ddb_proxy::start(Config {
        upstream: std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap(),
        listen: "127.0.0.1:0".parse().unwrap(),
        control: "127.0.0.1:0".parse().unwrap(),
        record,
    })
    .await
    .expect("proxy");
    let via = sdk_via(&running, Duration::from_secs(20)).await;
    Setup {
        db,
        via,
        control: FaultProxy::new(format!("http://{}", running.control_addr)),
        running,
        table,
    }
}

/// An SDK client that reaches DynamoDB through the proxy, with one attempt of at most `attempt`.
async fn sdk_via(running: &Running, attempt: Duration) -> aws_sdk_dynamodb::Client {
    let cfg = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .endpoint_url(format!("http://{}", running.proxy_addr))
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_timeout(attempt).build())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&cfg)
}

fn key(pk: &str) -> AttributeValue {
    AttributeValue::S(pk.into())
}

fn put(table: &str, pk: &str) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .item("pk", key(pk))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    TransactWriteItem::builder().put(put).build()
}

impl Setup {
    async fn transact_put(&self, via: &aws_sdk_dynamodb::Client, pk: &str) -> bool {
        via.transact_write_items()
            .transact_items(put(&self.table, pk))
            .send()
            .await
            .is_ok()
    }

    /// Whether DynamoDB holds the item, read directly (strongly consistent).
    async fn stored(&self, pk: &str) -> bool {
        let got = self
            .db
            .get_item()
            .table_name(&self.table)
            .key("pk", key(pk))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        got.item.is_some()
    }

    /// Waits (polling, up to 20 s) until DynamoDB holds the item.
    async fn wait_stored(&self, pk: &str) {
        for _ in 0..200 {
            if self.stored(pk).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{pk} never reached DynamoDB");
    }

    /// A raw HTTP/1.1 request to the proxy: what comes back before the proxy closes.
    async fn raw(&self, target: &str, body: &str) -> tokio::net::TcpStream {
        let mut stream = tokio::net::TcpStream::connect(self.running.proxy_addr)
            .await
            .unwrap();
        let head = format!(
            "POST / HTTP/1.1\r\nhost: dynamodb\r\ncontent-type: application/x-amz-json-1.0\r\n\
             x-amz-target: DynamoDB_20120810.{target}\r\nauthorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream
    }

    fn put_item_json(&self, pk: &str) -> String {
        serde_json::json!({"TableName": self.table, "Item": {"pk": {"S": pk}}}).to_string()
    }
}

#[tokio::test]
async fn without_rules_every_request_passes_through_unchanged() {
    let s = setup(RecordSettings::default()).await;
    assert!(s.transact_put(&s.via, "pass#1").await);
    let got = s
        .via
        .get_item()
        .table_name(&s.table)
        .key("pk", key("pass#1"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item.unwrap()["pk"], key("pass#1"));
    // A failed condition comes back as DynamoDB sent it.
    let again = s
        .via
        .transact_write_items()
        .transact_items(put(&s.table, "pass#1"))
        .send()
        .await
        .unwrap_err();
    assert!(
        format!("{:?}", again.into_service_error()).contains("ConditionalCheckFailed"),
        "the cancellation reasons reach the caller"
    );
    let stats = s.control.stats().await;
    assert_eq!((stats.forwarded, stats.answered), (3, 3), "{stats:?}");
}

#[tokio::test]
async fn a_dropped_answer_closes_the_connection_after_dynamodb_applied_the_request() {
    let s = setup(RecordSettings::default()).await;
    let rule = s
        .control
        .add_rule(&RuleSpec {
            action: Action::Drop,
            target: Some("TransactWriteItems".into()),
            body_contains: Some("drop#mine".into()),
            count: Some(1),
        })
        .await;
    assert!(
        s.transact_put(&s.via, "drop#theirs").await,
        "another item passes"
    );
    assert!(
        !s.transact_put(&s.via, "drop#mine").await,
        "the caller gets no answer"
    );
    assert!(
        s.stored("drop#mine").await,
        "but DynamoDB applied the write"
    );
    assert_eq!(s.control.rule(rule.id).await.hits, 1);
    assert!(
        s.transact_put(&s.via, "drop#mine-2").await,
        "the rule is used up"
    );
    // Not a byte of answer: the proxy closes the connection once DynamoDB has answered.
    s.control
        .add_rule(&RuleSpec {
            action: Action::Drop,
            target: Some("PutItem".into()),
            body_contains: Some("drop#raw".into()),
            count: Some(1),
        })
        .await;
    let mut stream = s.raw("PutItem", &s.put_item_json("drop#raw")).await;
    let mut got = Vec::new();
    stream.read_to_end(&mut got).await.unwrap();
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(s.stored("drop#raw").await);
    // Closed only once DynamoDB has answered: while it is stalled, the connection stays open.
    s.control
        .add_rule(&RuleSpec {
            action: Action::Drop,
            target: None,
            body_contains: Some("drop#late".into()),
            count: Some(1),
        })
        .await;
    s.control.stall(600_000).await;
    let mut stream = s.raw("PutItem", &s.put_item_json("drop#late")).await;
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await;
    assert!(early.is_err(), "closed before DynamoDB answered: {early:?}");
    s.control.end_stall().await;
    let mut got = Vec::new();
    stream.read_to_end(&mut got).await.unwrap();
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(s.stored("drop#late").await, "applied before the close");
    assert_eq!(s.control.stats().await.dropped, 3);
}

#[tokio::test]
async fn a_swallowed_answer_never_comes_and_the_connection_stays_open() {
    let s = setup(RecordSettings::default()).await;
    s.control
        .add_rule(&RuleSpec {
            action: Action::Swallow,
            target: None,
            body_contains: Some("swallow#raw".into()),
            count: None,
        })
        .await;
    let mut stream = s.raw("PutItem", &s.put_item_json("swallow#raw")).await;
    s.wait_stored("swallow#raw").await;
    // DynamoDB has answered the proxy (it counts the answer as swallowed only then) ...
    for _ in 0..200 {
        if s.control.stats().await.swallowed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.control.stats().await.swallowed, 1);
    // ... and the caller still has neither an answer nor a closed connection.
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await;
    assert!(read.is_err(), "nothing should arrive: {read:?}");
}

#[tokio::test]
async fn a_delayed_answer_arrives_late_but_whole() {
    let s = setup(RecordSettings::default()).await;
    // Late: a minute's delay gives nothing for now, though DynamoDB has applied the request.
    s.control
        .add_rule(&RuleSpec {
            action: Action::Delay { ms: 60_000 },
            target: None,
            body_contains: Some("delay#raw".into()),
            count: Some(1),
        })
        .await;
    let mut stream = s.raw("PutItem", &s.put_item_json("delay#raw")).await;
    s.wait_stored("delay#raw").await;
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await;
    assert!(early.is_err(), "the answer came early: {early:?}");
    drop(stream);
    // Whole: a short delay, and the caller gets DynamoDB's answer.
    s.control
        .add_rule(&RuleSpec {
            action: Action::Delay { ms: 300 },
            target: Some("DynamoDB_20120810.TransactWriteItems".into()),
            body_contains: None,
            count: Some(1),
        })
        .await;
    assert!(s.transact_put(&s.via, "delay#1").await);
    let stats = s.control.stats().await;
    assert_eq!(stats.delayed, 2, "{stats:?}");
}

/// A stall holds requests back from DynamoDB: a caller that gives up during it leaves its
/// request with the proxy, and DynamoDB applies it when the stall ends, as a frozen server does
/// when it continues.
#[tokio::test]
async fn a_stall_holds_everything_and_applies_what_callers_gave_up_on_when_it_ends() {
    let s = setup(RecordSettings::default()).await;
    let state = s.control.stall(600_000).await;
    assert!(state.stalled, "{state:?}");
    let impatient = sdk_via(&s.running, Duration::from_millis(300)).await;
    assert!(
        !s.transact_put(&impatient, "stall#1").await,
        "the caller gave up"
    );
    assert!(!s.stored("stall#1").await, "nothing reached DynamoDB yet");
    let state = s.control.end_stall().await;
    assert!(!state.stalled, "{state:?}");
    s.wait_stored("stall#1").await;
    assert!(
        s.transact_put(&s.via, "stall#2").await,
        "after the stall, as before"
    );
    assert!(s.control.stats().await.stalled >= 1);
}

/// A stall rule freezes DynamoDB just as its request reaches it: that request and every other
/// one wait for the stall's end, then DynamoDB applies them.
#[tokio::test]
async fn a_stall_rule_freezes_dynamodb_as_its_request_comes() {
    let s = setup(RecordSettings::default()).await;
    let rule = s
        .control
        .add_rule(&RuleSpec {
            action: Action::Stall { ms: 600_000 },
            target: Some("TransactWriteItems".into()),
            body_contains: Some("stall-rule#1".into()),
            count: Some(1),
        })
        .await;
    let impatient = sdk_via(&s.running, Duration::from_millis(300)).await;
    assert!(s.transact_put(&impatient, "stall-rule#0").await, "not yet");
    assert!(!s.transact_put(&impatient, "stall-rule#1").await);
    assert!(
        !s.transact_put(&impatient, "stall-rule#2").await,
        "everything waits"
    );
    assert!(!s.stored("stall-rule#1").await && !s.stored("stall-rule#2").await);
    assert_eq!(s.control.rule(rule.id).await.hits, 1);
    s.control.end_stall().await;
    s.wait_stored("stall-rule#1").await;
    s.wait_stored("stall-rule#2").await;
}

#[tokio::test]
async fn recording_reports_operations_tables_and_consumed_capacity() {
    let s = setup(RecordSettings {
        on: true,
        inject_capacity: true,
    })
    .await;
    let pk = unique("record");
    assert!(s.transact_put(&s.via, &pk).await);
    s.via
        .get_item()
        .table_name(&s.table)
        .key("pk", key(&pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    s.via.list_tables().limit(1).send().await.unwrap();
    let mine = s.control.records(0, &pk).await;
    let ops: Vec<&str> = mine.iter().map(|r| r.operation.as_str()).collect();
    assert_eq!(ops, ["TransactWriteItems", "GetItem"], "{mine:#?}");
    for r in &mine {
        assert_eq!(r.tables, std::slice::from_ref(&s.table));
        assert_eq!((r.status, r.outcome.as_str()), (200, "answered"));
    }
    // A transactional write of one small item costs 2 write units; a strongly consistent
    // read of it, 1 read unit (DynamoDB's pricing rules; DynamoDB Local reports them).
    // A transactional write of one small item costs 2 write units; a strongly consistent
    // read of it, 1 read unit (DynamoDB's pricing rules). DynamoDB Local reports the total as
    // `CapacityUnits`, by table (`Table`) and by index; the operation says read or write.
    let units = |i: usize| {
        let cc = mine[i].consumed_capacity.clone().expect("capacity");
        let cc = if cc.is_array() { cc[0].clone() } else { cc };
        (
            cc["TableName"].as_str().map(str::to_owned),
            cc["CapacityUnits"].as_f64(),
        )
    };
    assert_eq!(units(0), (Some(s.table.clone()), Some(2.0)), "{mine:#?}");
    assert_eq!(units(1), (Some(s.table.clone()), Some(1.0)), "{mine:#?}");
    let all = s.control.records(0, "").await;
    assert!(
        all.iter()
            .any(|r| r.operation == "ListTables" && r.consumed_capacity.is_none())
    );
}

#[tokio::test]
async fn the_control_api_refuses_rules_that_would_fire_by_mistake() {
    let s = setup(RecordSettings::default()).await;
    let post = |body: &'static str| {
        http()
            .post(format!("{}/rules", s.control.control))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for bad in [
        r#"{"action":{"kind":"drop"},"body_contain":"x"}"#,
        r#"{"action":{"kind":"drop"},"count":0}"#,
        r#"{"action":{"kind":"drop"},"body_contains":""}"#,
        r#"{"action":{"kind":"explode"}}"#,
        "not json",
    ] {
        let resp = post(bad).await.unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
    }
    let missing = http()
        .delete(format!("{}/rules/999", s.control.control))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let unknown = http()
        .get(format!("{}/nothing", s.control.control))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(s.control.stats().await.forwarded, 0);
}
