//! The freshness bound with a scripted source and a manual clock; Tokio's clock is paused, so a
//! read that never answers ends a decision's wait at once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::entry::Key;
use crate::state::{Facts, Refusal};

/// What the source does on its next read.
enum Step {
    Answer(Vec<Entry>),
    Fail,
    /// Never answers.
    Hang,
}

#[derive(Default)]
struct Script {
    steps: Mutex<VecDeque<Step>>,
    asked: Mutex<Vec<Since>>,
}

#[derive(Clone, Default)]
struct Scripted(Arc<Script>);

impl Scripted {
    fn then(&self, step: Step) -> &Self {
        self.0.steps.lock().unwrap().push_back(step);
        self
    }
    fn asked(&self) -> Vec<Since> {
        self.0.asked.lock().unwrap().clone()
    }
}

impl Source for Scripted {
    type Error = &'static str;
    async fn read(&self, since: Since) -> Result<Read, &'static str> {
        self.0.asked.lock().unwrap().push(since);
        let step = self.0.steps.lock().unwrap().pop_front();
        match step {
            Some(Step::Answer(entries)) => Ok(Read {
                entries,
                requests: 1,
                unreadable: Vec::new(),
            }),
            // Unscripted reads find nothing new.
            None => Ok(Read {
                requests: 1,
                ..Read::default()
            }),
            Some(Step::Fail) => Err("scripted failure"),
            Some(Step::Hang) => std::future::pending().await,
        }
    }
}

#[derive(Clone)]
struct Manual(Arc<AtomicU64>);

const START_MS: u64 = 1_700_000_000_000;

impl Manual {
    fn new() -> Self {
        Self(Arc::new(AtomicU64::new(START_MS)))
    }
    fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for Manual {
    fn now(&self) -> Stamp {
        let ms = self.0.load(Ordering::SeqCst);
        Stamp {
            wall_ms: ms,
            mono_ms: ms - START_MS,
        }
    }
}

fn policy(when_unreadable: WhenUnreadable) -> Policy {
    Policy {
        max_staleness_ms: 5_000,
        when_unreadable,
        wait_ms: 1_000,
    }
}

const ALLOW: WhenUnreadable = WhenUnreadable::Allow {
    for_at_most_ms: 60_000,
};

fn token(sid: &str) -> Facts<'_> {
    Facts {
        sid: Some(sid),
        jti: None,
        sub: "u",
        client_id: "c",
        iat: START_MS / 1000,
    }
}

fn ended(sid: &str) -> Entry {
    Entry::session(sid, START_MS / 1000 + 900)
}

fn refuses(view: &View, sid: &str) -> Option<Refusal> {
    match view {
        View::Current(r) | View::Stale { revoked: r, .. } => r.refuses(&token(sid)),
        View::Unavailable { .. } => panic!("no state: {view:?}"),
    }
}

/// Lets the spawned reads run.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_cold_instance_reads_everything_in_force_before_its_first_decision() {
    let source = Scripted::default();
    source.then(Step::Answer(vec![ended("s1")]));
    let clock = Manual::new();
    let feed = Feed::start(source.clone(), policy(ALLOW), Arc::new(clock.clone()));
    assert!(feed.ready(Duration::from_secs(2)).await);
    let view = feed.view().await;
    assert!(matches!(view, View::Current(_)), "{view:?}");
    assert_eq!(refuses(&view, "s1"), Some(Refusal::Session));
    assert_eq!(refuses(&view, "s2"), None);
    assert_eq!(
        source.asked(),
        [Since::Start {
            now: START_MS / 1000,
            recent_after_ms: START_MS - COLD_RECENT_MS
        }]
    );
}

#[tokio::test(start_paused = true)]
async fn a_busy_instance_reads_once_per_interval_in_the_background_and_never_waits() {
    let source = Scripted::default();
    let clock = Manual::new();
    let feed = Feed::start(source.clone(), policy(ALLOW), Arc::new(clock.clone()));
    feed.ready(Duration::from_secs(2)).await;
    let refresh = feed.policy().refresh_after_ms();
    assert_eq!(refresh, 4_000);
    // 40 s at a decision every 10 ms: ten intervals.
    let mut reads_seen = Vec::new();
    for step in 0..4_000u64 {
        let view = feed.view().await;
        assert!(matches!(view, View::Current(_)), "at {step}: {view:?}");
        settle().await;
        clock.advance(10);
        if step % 400 == 399 {
            reads_seen.push(source.asked().len());
        }
    }
    // The cold read, then one read per 4 s interval: at 4, 8, ... 36 s (the run ends before 40).
    assert_eq!(source.asked().len(), 1 + 9, "{reads_seen:?}");
    let after: Vec<_> = source
        .asked()
        .iter()
        .skip(1)
        .map(|s| match s {
            Since::After(ms) => *ms,
            Since::Start { .. } => panic!("a second cold read"),
        })
        .collect();
    // Each asks from the previous read's start less the overlap.
    assert_eq!(after[0], START_MS - FEED_OVERLAP_MS);
    assert!(
        after.windows(2).all(|w| w[1] - w[0] == refresh),
        "{after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn past_the_bound_a_decision_waits_for_a_read_and_sees_a_revocation_made_meanwhile() {
    let source = Scripted::default();
    let clock = Manual::new();
    let feed = Feed::start(source.clone(), policy(ALLOW), Arc::new(clock.clone()));
    feed.ready(Duration::from_secs(2)).await;
    assert_eq!(refuses(&feed.view().await, "s1"), None);
    // The instance sat idle (frozen) for a minute; s1 was ended meanwhile.
    clock.advance(60_000);
    source.then(Step::Answer(vec![ended("s1")]));
    let view = feed.view().await;
    assert!(matches!(view, View::Current(_)), "{view:?}");
    assert_eq!(refuses(&view, "s1"), Some(Refusal::Session));
    assert_eq!(source.asked().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn unreadable_allow_decides_with_the_last_state_for_a_bounded_time_then_refuses() {
    let source = Scripted::default();
    source.then(Step::Answer(vec![ended("s1")]));
    let clock = Manual::new();
    let feed = Feed::start(source.clone(), policy(ALLOW), Arc::new(clock.clone()));
    feed.ready(Duration::from_secs(2)).await;
    for _ in 0..100 {
        source.then(Step::Fail);
    }
    clock.advance(5_000);
    let view = feed.view().await;
    match &view {
        View::Stale { age_ms, .. } => assert_eq!(*age_ms, 5_000),
        other => panic!("{other:?}"),
    }
    // The last state still refuses what it knew.
    assert_eq!(refuses(&view, "s1"), Some(Refusal::Session));
    // Within a second of the failure no read starts: the stale state decides at once.
    let before = source.asked().len();
    clock.advance(500);
    assert!(matches!(feed.view().await, View::Stale { .. }));
    assert_eq!(source.asked().len(), before);
    clock.advance(60_000);
    assert!(matches!(
        feed.view().await,
        View::Unavailable {
            age_ms: Some(65_500)
        }
    ));
    assert_eq!(feed.take_stats().failures, 2);
}

#[tokio::test(start_paused = true)]
async fn unreadable_deny_refuses_as_soon_as_the_state_is_past_the_bound() {
    let source = Scripted::default();
    let clock = Manual::new();
    let feed = Feed::start(
        source.clone(),
        policy(WhenUnreadable::Deny),
        Arc::new(clock.clone()),
    );
    feed.ready(Duration::from_secs(2)).await;
    source.then(Step::Fail);
    clock.advance(4_999);
    assert!(matches!(feed.view().await, View::Current(_)));
    settle().await;
    clock.advance(1);
    assert!(matches!(
        feed.view().await,
        View::Unavailable {
            age_ms: Some(5_000)
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_read_that_never_answers_holds_a_decision_only_for_the_wait() {
    let source = Scripted::default();
    let clock = Manual::new();
    let feed = Feed::start(source.clone(), policy(ALLOW), Arc::new(clock.clone()));
    feed.ready(Duration::from_secs(2)).await;
    source.then(Step::Hang);
    clock.advance(6_000);
    let waited = tokio::time::Instant::now();
    assert!(matches!(
        feed.view().await,
        View::Stale { age_ms: 6_000, .. }
    ));
    assert_eq!(waited.elapsed(), Duration::from_millis(1_000));
    // The hung read is still in flight and young: the next decision waits for it again rather
    // than start a second read.
    assert!(matches!(feed.view().await, View::Stale { .. }));
    assert_eq!(source.asked().len(), 2);
    // Once it is older than the bound it no longer counts, and a new read starts.
    clock.advance(5_000);
    assert!(matches!(feed.view().await, View::Current(_)));
    assert_eq!(source.asked().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn an_instance_that_never_read_the_state_allows_nothing() {
    let source = Scripted::default();
    source.then(Step::Fail).then(Step::Fail);
    let clock = Manual::new();
    let feed = Feed::start(source.clone(), policy(ALLOW), Arc::new(clock.clone()));
    assert!(!feed.ready(Duration::from_secs(2)).await);
    assert!(matches!(
        feed.view().await,
        View::Unavailable { age_ms: None }
    ));
    // A second later it tries again (a cold read still), and then it has a state.
    clock.advance(1_000);
    assert!(matches!(
        feed.view().await,
        View::Unavailable { age_ms: None }
    ));
    clock.advance(1_000);
    assert!(matches!(feed.view().await, View::Current(_)));
    assert!(
        source
            .asked()
            .iter()
            .all(|s| matches!(s, Since::Start { .. }))
    );
}

#[tokio::test(start_paused = true)]
async fn entries_are_kept_until_they_expire() {
    let source = Scripted::default();
    let clock = Manual::new();
    let short = Entry::cut_off(Key::Client("c".into()), START_MS / 1000, 1);
    source.then(Step::Answer(vec![short.clone(), ended("s1")]));
    let feed = Feed::start(source.clone(), policy(ALLOW), Arc::new(clock.clone()));
    feed.ready(Duration::from_secs(2)).await;
    assert_eq!(feed.entries(), 2);
    clock.advance((short.expires_at - START_MS / 1000) * 1000);
    feed.view().await;
    assert_eq!(feed.entries(), 1);
}
