//! Per-client rate limits over HTTP, served by `cargo lambda watch` on DynamoDB Local: a client
//! limited to 5 a minute gets `429 slow_down` with `Retry-After` on the 6th while another is
//! unaffected, and 32 simultaneous requests of a client limited to 10 let exactly 10 through.
//!
//! The limit counts per minute of the clock (the function and these tests share the machine's
//! clock): a run that straddles a minute boundary is not judged, it is run once more with fresh
//! clients, so the counts asserted are always those of one window.

use std::sync::Arc;

use tokio::sync::Barrier;
use tollgate_oauth::clock::{Clock, SystemClock};
use tollgate_service::rate_limit::Window;
use tollgate_tests::logs::{log_len, wait_for};
use tollgate_tests::{Answer, ClientSpec, Served, dynamo, post_token};

const CC: (&str, &str) = ("grant_type", "client_credentials");

async fn limited(served: &Served, limit: u32) -> (String, String) {
    ClientSpec {
        rate_limit: Some(limit),
        ..ClientSpec::machine()
    }
    .create(&dynamo().await, &served.clients_table)
    .await
}

/// Runs `attempt` until it ran within one window (at most twice: a run takes a second or two).
async fn in_one_window<T, F: Future<Output = T>>(attempt: impl Fn() -> F) -> T {
    for _ in 0..2 {
        let before = Window::at(SystemClock.now());
        let out = attempt().await;
        if Window::at(SystemClock.now()) == before {
            return out;
        }
    }
    panic!("two runs in a row straddled a minute boundary")
}

fn assert_slowed_down(a: &Answer) {
    a.assert_error(429, "slow_down");
    let retry: u64 = a
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("429 without a Retry-After in seconds: {a:?}"));
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let description = a.json["error_description"].as_str().unwrap_or_default();
    assert!(description.contains("5 token requests a minute"), "{a:?}");
}

#[tokio::test]
async fn a_client_limited_to_5_a_minute_gets_429_on_the_6th_and_others_go_on() {
    let served = Served::from_env();
    let (statuses, last, other) = in_one_window(|| async {
        let (id, secret) = limited(&served, 5).await;
        let (other_id, other_secret) = limited(&served, 5).await;
        let mut statuses = Vec::new();
        let mut last = None;
        for _ in 0..6 {
            let a = post_token(&served.token_url(), Some((&id, &secret)), &[CC]).await;
            statuses.push(a.status);
            last = Some(a);
        }
        let other = post_token(&served.token_url(), Some((&other_id, &other_secret)), &[CC]).await;
        (statuses, last, other)
    })
    .await;
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    let last = last.unwrap();
    assert_slowed_down(&last);
    assert_eq!(other.status, 200, "another client is unaffected: {other:?}");
}

/// 32 requests released at once by a barrier on an 8-thread runtime; `wrong` of them with a
/// wrong secret. Returns the statuses of the right and the wrong ones.
async fn burst(served: &Served, limit: u32, wrong: usize) -> (Vec<u16>, Vec<u16>) {
    burst_of(served, limit, 32, wrong).await
}

/// `total` requests released at once, the first `wrong` of them with a wrong secret.
async fn burst_of(served: &Served, limit: u32, total: usize, wrong: usize) -> (Vec<u16>, Vec<u16>) {
    let (id, secret) = limited(served, limit).await;
    let barrier = Arc::new(Barrier::new(total));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let (url, id, barrier) = (served.token_url(), id.clone(), barrier.clone());
        let secret = if i < wrong {
            "not-the-secret".to_owned()
        } else {
            secret.clone()
        };
        tasks.spawn(async move {
            barrier.wait().await;
            let a = post_token(&url, Some((&id, &secret)), &[CC]).await;
            (i < wrong, a.status)
        });
    }
    let (mut right, mut bad) = (Vec::new(), Vec::new());
    for (was_wrong, status) in tasks.join_all().await {
        if was_wrong {
            bad.push(status);
        } else {
            right.push(status);
        }
    }
    (right, bad)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn of_32_simultaneous_requests_of_a_client_limited_to_10_exactly_10_pass() {
    let served = Served::from_env();
    let (right, _) = in_one_window(|| burst(&served, 10, 0)).await;
    let passed = right.iter().filter(|&&s| s == 200).count();
    let slowed = right.iter().filter(|&&s| s == 429).count();
    assert_eq!((passed, slowed), (10, 22), "{right:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn wrong_secrets_in_a_burst_are_401_and_never_let_more_than_the_limit_through() {
    let served = Served::from_env();
    let (right, bad) = in_one_window(|| burst(&served, 10, 8)).await;
    assert!(bad.iter().all(|&s| s == 401), "{bad:?}");
    let passed = right.iter().filter(|&&s| s == 200).count();
    assert!(passed <= 10, "{right:?}");
    assert!(right.iter().all(|&s| s == 200 || s == 429), "{right:?}");
    // The wrong secrets took none of the client's 10: exactly 10 of its 24 passed.
    assert_eq!(passed, 10, "{right:?}");
}

/// A flood of wrong-secret requests from many concurrent callers, while the real client sends
/// exactly its limit: the function serves them several at a time (as Lambda does), so before
/// the counts were kept per secret the flood's counts (taken before their secret failed, given
/// back only after) pushed the client over its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_flood_of_wrong_secrets_never_starves_the_real_client() {
    let served = Served::from_env();
    let (right, bad) = in_one_window(|| burst_of(&served, 5, 45, 40)).await;
    assert!(bad.iter().all(|&s| s == 401), "{bad:?}");
    assert_eq!(right, [200; 5], "every request within the limit passes");
}

#[tokio::test]
async fn a_throttled_request_is_audited_and_measured() {
    let served = Served::from_env();
    let from = log_len(&served.log_path);
    let id = in_one_window(|| async {
        let (id, secret) = limited(&served, 1).await;
        for _ in 0..2 {
            post_token(&served.token_url(), Some((&id, &secret)), &[CC]).await;
        }
        id
    })
    .await;
    let audit = wait_for(&served.log_path, from, 1, |l| {
        l["event"] == "rate_limited" && l["client_id"] == id.as_str()
    })
    .await;
    assert_eq!(audit[0]["limit"], 1);
    assert!(
        audit[0]["window_start"]
            .as_u64()
            .is_some_and(|t| t % 60 == 0)
    );
    let refused = wait_for(&served.log_path, from, 1, |l| {
        l["event"] == "token_refused" && l["client_id"] == id.as_str()
    })
    .await;
    assert_eq!(
        (refused[0]["reason"].as_str(), refused[0]["status"].as_u64()),
        (Some("slow_down"), Some(429))
    );
    wait_for(&served.log_path, from, 1, |l| {
        l["ClientId"] == id.as_str()
            && l["RateLimited"].as_f64() == Some(1.0)
            && l.get("_aws").is_some()
    })
    .await;
    // The request's own metrics name the client too, with the refusal as its outcome.
    wait_for(&served.log_path, from, 1, |l| {
        l["ClientId"] == id.as_str() && l["Outcome"] == "slow_down" && l.get("_aws").is_some()
    })
    .await;
}
