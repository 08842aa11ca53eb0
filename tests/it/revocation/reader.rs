//! The revocation state on DynamoDB Local: what the token service's adapter writes, the
//! authorizer's own reader (SigV4-signed Query over HTTP, no SDK) reads back, through the
//! freshness bound; and the same reader through the fault proxy when DynamoDB stalls.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use tollgate_ddb_proxy::{Config, RecordSettings};
use tollgate_revocation::dynamo::sigv4::Credentials;
use tollgate_revocation::dynamo::{DynamoReader, Endpoint, PAGE_ITEMS, ReadError, ReaderConfig};
use tollgate_revocation::entry::{EXPIRY_MARGIN_SECONDS, live_until};
use tollgate_revocation::feed::{
    Clock, Feed, Policy, Read, Since, Source, Stamp, SystemClock, View, WhenUnreadable,
};
use tollgate_revocation::{Entry, Facts, Refusal};
use tollgate_service::revocation::{RevocationStore, client_cut_off, user_cut_off};
use tollgate_service::store::dynamo::DynamoRevocationStore;
use tollgate_tests::fault::FaultProxy;
use tollgate_tests::{create_tables, dynamo};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn reader_at(url: &str, table: &str) -> DynamoReader {
    DynamoReader::new(ReaderConfig {
        table: table.to_owned(),
        region: "us-east-1".into(),
        endpoint: Endpoint::parse(url).unwrap(),
        credentials: Credentials {
            access_key_id: "local".into(),
            secret_access_key: "local".into(),
            session_token: Some("a-session-token".into()),
        },
    })
    .unwrap()
}

fn local() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap()
}

fn sorted(mut read: Read) -> Vec<Entry> {
    read.entries.sort_by(|a, b| a.key.cmp(&b.key));
    read.entries.dedup();
    read.entries
}

#[tokio::test]
async fn the_authorizers_reader_finds_what_the_token_service_recorded() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoRevocationStore::new(db.clone(), &t.revocations);
    let reader = reader_at(&local(), &t.revocations);
    let now = now();
    let before_ms = now * 1000 - 1;
    let entries = [
        Entry::session("s-1", now + 900),
        user_cut_off("u-1", now),
        client_cut_off("app", now),
        Entry::token("j-1", now + 60),
    ];
    for e in &entries {
        store.record(e).await.unwrap();
    }
    // An entry whose tokens can no longer pass: written, but not in force.
    let spent = Entry::session("s-old", now - EXPIRY_MARGIN_SECONDS - 10);
    store.record(&spent).await.unwrap();
    let mut want = entries.to_vec();
    want.sort_by(|a, b| a.key.cmp(&b.key));

    // The live index: what is in force.
    assert_eq!(sorted(reader.live_after(now).await.unwrap()), want);
    // The feed by time: everything written after a moment, in force or not.
    let written = reader.written_after(before_ms).await.unwrap();
    assert_eq!(written.requests, 1);
    let mut with_spent = want.clone();
    with_spent.push(spent.clone());
    with_spent.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(sorted(written), with_spent);
    let later = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 1_000;
    assert_eq!(reader.written_after(later).await.unwrap().entries, []);
    // A cold read: both at once.
    let cold = reader
        .read(Since::Start {
            now,
            recent_after_ms: before_ms,
        })
        .await
        .unwrap();
    assert_eq!(cold.requests, 2);
    assert_eq!(sorted(cold), with_spent);
}

#[tokio::test]
async fn items_that_are_not_entries_are_set_aside_and_pages_are_followed() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let reader = reader_at(&local(), &t.revocations);
    let now = now();
    // One more item than a page holds, the last of them not an entry.
    let total = PAGE_ITEMS + 1;
    let item = |i: usize| {
        let key = if i + 1 == total {
            "nonsense#last".to_owned()
        } else {
            format!("sid#s-{i}")
        };
        let put = aws_sdk_dynamodb::types::PutRequest::builder()
            .item("pk", AttributeValue::S("feed".into()))
            .item(
                "sk",
                AttributeValue::S(format!("{:013}#{key}", now * 1000 + i as u64)),
            )
            .item("expires_at", AttributeValue::N((now + 900).to_string()))
            .item("live_until", AttributeValue::S(live_until(now + 900)))
            .build()
            .unwrap();
        aws_sdk_dynamodb::types::WriteRequest::builder()
            .put_request(put)
            .build()
    };
    let items: Vec<_> = (0..total).map(item).collect();
    for batch in items.chunks(25) {
        db.batch_write_item()
            .request_items(&t.revocations, batch.to_vec())
            .send()
            .await
            .unwrap();
    }
    let read = reader.written_after(now * 1000 - 1).await.unwrap();
    assert_eq!(read.requests, 2);
    assert_eq!(read.entries.len(), PAGE_ITEMS);
    assert_eq!(read.unreadable.len(), 1);
    assert!(read.unreadable[0].ends_with("#nonsense#last"));
    let live = reader.live_after(now).await.unwrap();
    assert_eq!((live.requests, live.entries.len()), (2, PAGE_ITEMS));
}

#[tokio::test]
async fn a_missing_table_or_an_unreachable_endpoint_is_an_error_never_an_empty_state() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let missing = reader_at(&local(), &format!("{}-gone", t.revocations));
    match missing.written_after(0).await {
        Err(ReadError::Refused { status, kind, .. }) => {
            assert_eq!(status, 400);
            assert_eq!(kind, "ResourceNotFoundException");
        }
        other => panic!("{other:?}"),
    }
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let nowhere = reader_at(&format!("http://127.0.0.1:{port}"), &t.revocations);
    assert!(matches!(
        nowhere.written_after(0).await,
        Err(ReadError::Http(_))
    ));
}

/// The system's clocks, the monotonic one moved on by hand: a state read "now" becomes as old
/// as a test says, while entries, cursors and DynamoDB keep the real time.
#[derive(Clone, Default)]
struct Aging {
    clock: SystemClock,
    extra_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl Aging {
    fn age(&self, ms: u64) {
        self.extra_ms
            .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for Aging {
    fn now(&self) -> Stamp {
        let real = self.clock.now();
        Stamp {
            wall_ms: real.wall_ms,
            mono_ms: real.mono_ms + self.extra_ms.load(std::sync::atomic::Ordering::SeqCst),
        }
    }
}

fn token<'a>(sid: &'a str, sub: &'a str, client: &'a str, iat: u64) -> Facts<'a> {
    Facts {
        sid: Some(sid),
        jti: None,
        sub,
        client_id: client,
        iat,
    }
}

fn refuses(view: &View, t: &Facts<'_>) -> Option<Refusal> {
    match view {
        View::Current(r) | View::Stale { revoked: r, .. } => r.refuses(t),
        View::Unavailable { .. } => panic!("no state: {view:?}"),
    }
}

#[tokio::test]
async fn a_feed_on_dynamodb_sees_a_revocation_made_after_its_cold_read() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoRevocationStore::new(db.clone(), &t.revocations);
    let iat = now() - 10;
    store
        .record(&Entry::session("s-1", iat + 900))
        .await
        .unwrap();
    let policy = Policy {
        max_staleness_ms: 5_000,
        when_unreadable: WhenUnreadable::Deny,
        wait_ms: 5_000,
    };
    let clock = Aging::default();
    let feed = Feed::start(
        reader_at(&local(), &t.revocations),
        policy,
        Arc::new(clock.clone()),
    );
    assert!(feed.ready(Duration::from_secs(10)).await);
    let view = feed.view().await;
    assert_eq!(
        refuses(&view, &token("s-1", "u", "c", iat)),
        Some(Refusal::Session)
    );
    assert_eq!(refuses(&view, &token("s-2", "u-2", "c", iat)), None);
    store.record(&user_cut_off("u-2", iat)).await.unwrap();
    // Within the bound the state read decides; past it, a decision reads first.
    assert_eq!(
        refuses(&feed.view().await, &token("s-2", "u-2", "c", iat)),
        None
    );
    clock.age(5_000);
    let view = feed.view().await;
    assert_eq!(
        refuses(&view, &token("s-2", "u-2", "c", iat)),
        Some(Refusal::Subject)
    );
    assert_eq!(refuses(&view, &token("s-2", "u-2", "c", iat + 1)), None);
    assert_eq!(feed.entries(), 2);
}

#[tokio::test]
async fn when_dynamodb_stalls_allow_decides_with_the_last_state_and_deny_refuses() {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let store = DynamoRevocationStore::new(db.clone(), &t.revocations);
    let iat = now() - 10;
    store
        .record(&Entry::session("s-1", iat + 900))
        .await
        .unwrap();
    let proxy = tollgate_ddb_proxy::start(Config {
        upstream: local(),
        listen: "127.0.0.1:0".parse().unwrap(),
        control: "127.0.0.1:0".parse().unwrap(),
        record: RecordSettings::default(),
    })
    .await
    .unwrap();
    let control = FaultProxy::new(format!("http://{}", proxy.control_addr));
    let via = format!("http://{}", proxy.proxy_addr);
    let start = |when_unreadable| {
        Feed::start(
            reader_at(&via, &t.revocations),
            Policy {
                max_staleness_ms: 1_000,
                when_unreadable,
                wait_ms: 300,
            },
            Arc::new(SystemClock::default()),
        )
    };
    let allow = start(WhenUnreadable::Allow {
        for_at_most_ms: 60_000,
    });
    let deny = start(WhenUnreadable::Deny);
    assert!(allow.ready(Duration::from_secs(10)).await);
    assert!(deny.ready(Duration::from_secs(10)).await);
    control.stall(20_000).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (a, d) = (allow.view().await, deny.view().await);
    control.end_stall().await;
    match &a {
        View::Stale { age_ms, .. } => assert!(*age_ms >= 1_000, "{a:?}"),
        other => panic!("allow: {other:?}"),
    }
    // The last state read still refuses what it knew.
    assert_eq!(
        refuses(&a, &token("s-1", "u", "c", iat)),
        Some(Refusal::Session)
    );
    assert!(matches!(d, View::Unavailable { age_ms: Some(_) }), "{d:?}");
    // Once DynamoDB answers again, both read and decide as before.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for feed in [&allow, &deny] {
        let mut view = feed.view().await;
        for _ in 0..50 {
            if matches!(view, View::Current(_)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            view = feed.view().await;
        }
        assert!(matches!(view, View::Current(_)), "{view:?}");
    }
}

/// The authorizer as `main.rs` builds it, from its variables, with `REVOCATION_UNAVAILABLE=deny`
/// and a bound of 1 s, reading through the fault proxy: once the table stops answering and the
/// state is past the bound, a valid token is a failed invocation (never `Unauthorized`), with
/// its one line: its metrics and its log record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorizer_configured_to_deny_refuses_valid_tokens_when_the_state_is_unreadable() {
    use tollgate_authorizer::config::State;
    use tollgate_authorizer::handler::{Failure, decide_json_with};
    use tollgate_authorizer::revocation::Settings;
    use tollgate_ddb_proxy::{Action, RuleSpec};
    use tollgate_oauth::access_token::{AccessTokenClaims, AccessTokenIssuer};
    use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem, published_jwks};
    use tollgate_telemetry::config::Env;

    let db = dynamo().await;
    let t = create_tables(&db).await;
    let proxy = tollgate_ddb_proxy::start(Config {
        upstream: local(),
        listen: "127.0.0.1:0".parse().unwrap(),
        control: "127.0.0.1:0".parse().unwrap(),
        record: RecordSettings::default(),
    })
    .await
    .unwrap();
    let control = FaultProxy::new(format!("http://{}", proxy.control_addr));
    let alg = SigningAlg::Es256;
    let key = Arc::new(SigningKey::from_pem(&generate_pem(alg).unwrap(), alg, None).unwrap());
    let jwks = serde_json::to_string(&published_jwks(&key, None).unwrap()).unwrap();
    let scope = tollgate_oauth::scope::Scopes::parse("profile").unwrap();
    let token = AccessTokenIssuer::new("iss".into(), "aud".into(), key)
        .issue(&AccessTokenClaims {
            sub: "u-1",
            client_id: "app",
            sid: Some("s-1"),
            scope: &scope,
            details: &serde_json::Map::new(),
            auth_time: now(),
            now: now(),
            ttl: 600,
        })
        .unwrap()
        .token;
    let via = format!("http://{}", proxy.proxy_addr);
    let vars = [
        ("JWKS", jwks.as_str()),
        ("ISSUER", "iss"),
        ("AUDIENCE", "aud"),
        ("ROUTE_SCOPES", "GET /request=profile"),
        ("REVOCATIONS_TABLE", t.revocations.as_str()),
        ("REVOCATION_MAX_STALENESS_SECONDS", "1"),
        ("REVOCATION_UNAVAILABLE", "deny"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_ENDPOINT_URL_DYNAMODB", via.as_str()),
    ];
    let lookup = |k: &str| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    };
    let settings = Settings::from_lookup(&Env(lookup)).unwrap().unwrap();
    let state = State::from_lookup(lookup)
        .unwrap()
        .with_revocation(Some(settings.start().unwrap()));
    assert!(
        state
            .revocation
            .as_ref()
            .unwrap()
            .feed
            .ready(Duration::from_secs(10))
            .await
    );
    let event = serde_json::json!({
        "type": "TOKEN", "authorizationToken": format!("Bearer {token}"),
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/request",
    })
    .to_string();
    let decide = |view| {
        let logs = tollgate_telemetry::logging::subscriber("info", true);
        tracing::subscriber::with_default(logs, || {
            tollgate_telemetry::output::capture(|| {
                decide_json_with(&state, Some(&view), event.as_bytes())
            })
        })
    };
    let (ok, _) = decide(state.revocation_view().await.unwrap());
    assert!(ok.is_ok(), "{ok:?}");
    control
        .add_rule(&RuleSpec {
            action: Action::Drop,
            target: Some("Query".into()),
            body_contains: Some(t.revocations.clone()),
            count: None,
        })
        .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let view = state.revocation_view().await.unwrap();
    assert!(
        matches!(view, View::Unavailable { age_ms: Some(_) }),
        "{view:?}"
    );
    let (refused, lines) = decide(view);
    assert_eq!(refused.unwrap_err(), Failure::RevocationUnavailable);
    assert_eq!(
        Failure::RevocationUnavailable.to_string(),
        "RevocationStateUnavailable"
    );
    let lines: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One line: the decision's metrics and its log record.
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["Decision"], "unavailable", "{line}");
    assert_eq!(line["Reason"], "revocation state unavailable", "{line}");
    assert!(
        line["revocation_age_ms"]
            .as_u64()
            .is_some_and(|a| a >= 1_000),
        "{line}"
    );
    assert_eq!(line["RevocationUnavailableDecisions"], 1.0, "{line}");
    assert!(
        line["RevocationReadFailures"]
            .as_f64()
            .is_some_and(|n| n >= 1.0),
        "{line}"
    );
}
