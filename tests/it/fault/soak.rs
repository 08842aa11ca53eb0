//! The soak (issue 25): 400 sign-in chains of 8 refreshes each, 64 clients at a time, against the
//! fault instance (several invocations of the function at once), with DynamoDB stalled for 5 s
//! in the middle. Every `503` is retried after its `Retry-After`, as a client is told to. Every
//! chain must complete and end with a working refresh token, the tokens of each chain must be
//! one line of one family (all of that family, each once, the family at the last, its latest
//! rotation from the one before: no fork), and nothing may raise the theft
//! alarm. The figures are printed (and written to `TOLLGATE_E2E_SOAK_REPORT` when set).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use tollgate_tests::fault::{FaultServed, retry_after};
use tollgate_tests::{Answer, ClientSpec, basic_header, dynamo, form, send, unique};

use tollgate_service::refresh::in_family::parts;

use super::{PROXY_USE, audit_events, family_of, hash, reuse_metric};

const CHAINS: usize = 400;
const REFRESHES: usize = 8;
const AT_ONCE: usize = 64;
const STALL_MS: u64 = 5_000;
/// The stall starts once this share of the requests has been answered.
const STALL_AFTER: u64 = (CHAINS * (REFRESHES + 1) / 3) as u64;
/// Tries of one request at most: a `503` is retried after its `Retry-After`.
const TRIES: u32 = 6;
const PASSWORD: &str = "pw-of-the-soak";

struct Soak {
    f: FaultServed,
    http: reqwest::Client,
    id: String,
    secret: String,
    requests: AtomicU64,
    unavailable: AtomicU64,
    next_chain: AtomicUsize,
}

/// What became of one chain: the tokens it was handed, in order, and how it ended.
struct Chain {
    tokens: Vec<String>,
    lost: Option<String>,
}

impl Soak {
    /// One request, retried after each `503`'s `Retry-After` (at most `TRIES` in all).
    async fn post_as_told(&self, pairs: &[(&str, &str)]) -> Answer {
        for tried in 1..=TRIES {
            let req = self
                .http
                .post(self.f.token_url())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", basic_header(&self.id, &self.secret))
                .body(form(pairs));
            let answer = send(req).await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            if answer.status != 503 || tried == TRIES {
                return answer;
            }
            self.unavailable.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(retry_after(&answer)).await;
        }
        unreachable!("the last try returns")
    }

    /// A sign-in and `REFRESHES` refreshes, each with the token the one before handed out.
    async fn chain(&self, username: &str) -> Chain {
        let mut chain = Chain {
            tokens: Vec::new(),
            lost: None,
        };
        let login = [
            ("grant_type", "password"),
            ("username", username),
            ("password", PASSWORD),
        ];
        let mut answer = self.post_as_told(&login).await;
        for step in 0..=REFRESHES {
            let Some(token) = answer.json["refresh_token"]
                .as_str()
                .filter(|_| answer.status == 200)
            else {
                chain.lost = Some(format!("step {step}: {} {}", answer.status, answer.json));
                return chain;
            };
            chain.tokens.push(token.to_owned());
            if step < REFRESHES {
                let refresh = [("grant_type", "refresh_token"), ("refresh_token", token)];
                answer = self.post_as_told(&refresh).await;
            }
        }
        chain
    }

    /// One of the 64 clients: chains, one after the other, until there are 400.
    async fn worker(self: Arc<Self>, username: String) -> Vec<Chain> {
        let mut done = Vec::new();
        while self.next_chain.fetch_add(1, Ordering::Relaxed) < CHAINS {
            done.push(self.chain(&username).await);
        }
        done
    }
}

async fn add_user(f: &FaultServed, http: &reqwest::Client) -> String {
    let username = unique("soak-user");
    let user = json!({"password": PASSWORD, "claims": {"sub": unique("sub")}});
    let url = format!("{}/users/{username}", f.auth_url);
    let resp = http.put(url).json(&user).send().await.expect("dev-auth");
    assert_eq!(resp.status().as_u16(), 200, "PUT /users: {resp:?}");
    username
}

/// Stalls DynamoDB once a third of the requests have been answered.
async fn stall_in_the_middle(soak: Arc<Soak>) -> Instant {
    while soak.requests.load(Ordering::Relaxed) < STALL_AFTER {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let state = soak.f.proxy.stall(STALL_MS).await;
    assert!(state.stalled, "{state:?}");
    Instant::now()
}

/// The client's families as a strongly consistent scan finds them after the soak: by id, the
/// live token's hash and the latest retirement (retired hash, successor hash). A family holds
/// its tokens: no token has a record of its own (`token_records` counts any that do).
struct Families {
    by_id: HashMap<String, (String, Option<(String, String)>)>,
    token_records: usize,
}

async fn families_of(db: &aws_sdk_dynamodb::Client, table: &str, client_id: &str) -> Families {
    let mut found = Families {
        by_id: HashMap::new(),
        token_records: 0,
    };
    let pages = db
        .scan()
        .table_name(table)
        .consistent_read(true)
        .filter_expression("client_id = :c")
        .expression_attribute_values(":c", AttributeValue::S(client_id.into()))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("scan");
    for item in pages {
        let text = |m: &HashMap<String, AttributeValue>, k: &str| {
            m.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        match text(&item, "kind").as_str() {
            "token" => found.token_records += 1,
            "family" => {
                let retired = item
                    .get("retired")
                    .and_then(|v| v.as_m().ok())
                    .map(|r| (text(r, "token_hash"), text(r, "successor_hash")));
                let id = text(&item, "pk").trim_start_matches("family#").to_owned();
                found
                    .by_id
                    .insert(id, (text(&item, "current_token"), retired));
            }
            _ => {}
        }
    }
    found
}

/// Whether a chain's tokens are one unforked line of one family: all name that family, no two
/// alike, the family is at the last and its latest rotation retired the one before for it.
fn one_line(c: &Chain, families: &Families) -> Option<String> {
    let ids: HashSet<&str> = c
        .tokens
        .iter()
        .filter_map(|t| parts(t).map(|p| p.0))
        .collect();
    let [id] = ids.into_iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let distinct: HashSet<&String> = c.tokens.iter().collect();
    let (current, retired) = families.by_id.get(id)?;
    let [.., before, last] = &c.tokens[..] else {
        return None;
    };
    let line = distinct.len() == c.tokens.len()
        && *current == hash(last)
        && retired.as_ref() == Some(&(hash(before), hash(last)));
    line.then(|| id.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_hundred_chains_through_a_dynamodb_stall_lose_nothing_and_raise_no_alarm() {
    let _alone = PROXY_USE.write().await;
    let f = FaultServed::from_env();
    let db = dynamo().await;
    let (id, secret) = ClientSpec::default().create(&db, &f.clients_table).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(AT_ONCE)
        .build()
        .unwrap();
    let mut users = Vec::new();
    for _ in 0..AT_ONCE {
        users.push(add_user(&f, &http).await);
    }
    let stalled_before = f.proxy.stats().await.stalled;
    let soak = Arc::new(Soak {
        f: f.clone(),
        http,
        id: id.clone(),
        secret,
        requests: AtomicU64::new(0),
        unavailable: AtomicU64::new(0),
        next_chain: AtomicUsize::new(0),
    });
    let started = Instant::now();
    let stall = tokio::spawn(stall_in_the_middle(soak.clone()));
    let workers: Vec<_> = users
        .into_iter()
        .map(|u| tokio::spawn(soak.clone().worker(u)))
        .collect();
    let mut chains = Vec::new();
    for w in workers {
        chains.extend(w.await.unwrap());
    }
    let duration = started.elapsed();
    let stall_at = stall.await.unwrap().duration_since(started);
    let stalled = f.proxy.stats().await.stalled - stalled_before;

    let families = families_of(&db, &f.tokens_table, &id).await;
    let mut lost = Vec::new();
    let mut forked = 0;
    let mut chain_families = HashSet::new();
    for (n, c) in chains.iter().enumerate() {
        if let Some(why) = &c.lost {
            lost.push(format!("chain {n}: {why}"));
            continue;
        }
        let last = c.tokens.last().unwrap();
        let family = family_of(&db, &f.tokens_table, last).await;
        if family.status != "active" || family.current_token != hash(last) {
            lost.push(format!(
                "chain {n}: its last token is not its family's current one"
            ));
        }
        match one_line(c, &families) {
            Some(family_id) if chain_families.insert(family_id.clone()) => {}
            _ => forked += 1,
        }
    }
    let alarms = audit_events(&f.log_path, &id)
        .iter()
        .filter(|e| *e == "refresh_reuse_detected")
        .count();
    let metric = reuse_metric(&f.log_path, &id);
    let figures = format!(
        "soak: {} chains of {REFRESHES} refreshes, {AT_ONCE} at once, DynamoDB stalled {STALL_MS} ms \
         at {:.1} s ({stalled} requests held): {} requests, {} answered 503 and retried after \
         Retry-After; chains lost {}, forked {forked}; false theft alarms {alarms} (audit), \
         RefreshTokenReuse {metric}; sessions left behind by lost sign-in answers {}; {:.1} s",
        chains.len(),
        stall_at.as_secs_f64(),
        soak.requests.load(Ordering::Relaxed),
        soak.unavailable.load(Ordering::Relaxed),
        lost.len(),
        families.by_id.len().saturating_sub(chain_families.len()),
        duration.as_secs_f64(),
    );
    println!("{figures}");
    if let Ok(path) = std::env::var("TOLLGATE_E2E_SOAK_REPORT") {
        std::fs::write(&path, format!("{figures}\n")).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    assert_eq!(chains.len(), CHAINS);
    assert!(
        soak.unavailable.load(Ordering::Relaxed) > 0 && stalled > 0,
        "the stall did nothing: {figures}"
    );
    assert!(lost.is_empty(), "{figures}\n{lost:#?}");
    assert_eq!(forked, 0, "{figures}");
    assert_eq!(
        families.token_records, 0,
        "families hold their tokens: {figures}"
    );
    assert_eq!((alarms, metric), (0, 0), "{figures}");
}
