//! The authorizer's revocation state and its freshness bound. Lambda cannot push to an instance,
//! so an instance reads: a cold one before its first decision, a warm one from the request path,
//! at most once per interval whatever the rate. A decision never uses a state read longer ago
//! than the bound: once the state is older than the refresh point a read starts in the
//! background and decisions go on with the state they have; past the bound they wait for a
//! read. When none succeeds, the policy says whether the last state read may still decide (for
//! a bounded time) or nothing is allowed.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tracing::{info, warn};

use crate::entry::Entry;
use crate::state::Revoked;

/// A warm read asks for what was written after the previous read's start less this: what the
/// writers' clocks may lag behind the reader's, plus how long a write may take to land (a writer
/// whose write took longer writes the entry again with a new time).
pub const FEED_OVERLAP_MS: u64 = 30_000;
/// A cold read also asks the feed for this last stretch, which the (eventually consistent) live
/// index may not show yet.
pub const COLD_RECENT_MS: u64 = 60_000;
/// After a failed read, the next one starts no sooner than this.
pub const RETRY_AFTER_FAILURE_MS: u64 = 1_000;

/// What one read brought.
#[derive(Debug, Default)]
pub struct Read {
    pub entries: Vec<Entry>,
    /// Requests it took (pages).
    pub requests: u32,
    /// Sort keys of items that are not entries (written by something else).
    pub unreadable: Vec<String>,
}

impl Read {
    pub fn absorb(&mut self, other: Read) {
        self.entries.extend(other.entries);
        self.requests += other.requests;
        self.unreadable.extend(other.unreadable);
    }
}

/// What a read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// Everything in force at `now` (seconds), and what was written after `recent_after_ms`.
    Start { now: u64, recent_after_ms: u64 },
    /// What was written after this (milliseconds since the epoch).
    After(u64),
}

/// Where the state is read from: DynamoDB (`crate::dynamo::DynamoReader`), or a test's double.
pub trait Source: Send + Sync + 'static {
    type Error: std::fmt::Display + Send;
    fn read(&self, since: Since) -> impl Future<Output = Result<Read, Self::Error>> + Send;
}

/// An instant by two clocks: the wall clock (milliseconds since the epoch, which entries and
/// cursors use) and a monotonic one. An age is the larger of the two differences, so neither a
/// wall clock set back nor a monotonic clock that stood still while Lambda froze the instance
/// makes a state look younger than it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub wall_ms: u64,
    pub mono_ms: u64,
}

impl Stamp {
    /// Milliseconds from `earlier` to `self`.
    pub fn since(self, earlier: Self) -> u64 {
        self.wall_ms
            .saturating_sub(earlier.wall_ms)
            .max(self.mono_ms.saturating_sub(earlier.mono_ms))
    }
}

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Stamp;
}

/// The system's clocks.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Stamp {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mono = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        Stamp {
            wall_ms: wall,
            mono_ms: mono,
        }
    }
}

/// What decides when no read succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnreadable {
    /// The last state read decides while it is younger than this (milliseconds); then nothing
    /// is allowed.
    Allow { for_at_most_ms: u64 },
    /// Nothing is allowed once the state is past the bound.
    Deny,
}

/// The freshness bound and what happens without a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// No decision uses a state read longer ago than this.
    pub max_staleness_ms: u64,
    pub when_unreadable: WhenUnreadable,
    /// How long a decision waits for a read it needs.
    pub wait_ms: u64,
}

impl Policy {
    /// When a warm instance starts its next read: a second (or a quarter of the bound, if
    /// less) before the bound, so a busy instance reads in the background and never waits.
    pub fn refresh_after_ms(&self) -> u64 {
        let margin = (self.max_staleness_ms / 4).min(1_000);
        self.max_staleness_ms - margin
    }
}

/// The state a decision may use.
#[derive(Debug, Clone)]
pub enum View {
    /// Read within the bound.
    Current(Arc<Revoked>),
    /// No read succeeded within the bound; the last state read, `age_ms` old, still decides.
    Stale { revoked: Arc<Revoked>, age_ms: u64 },
    /// No state may decide: refuse. `age_ms` is the last state's age, if one was ever read.
    Unavailable { age_ms: Option<u64> },
}

/// Reads done and failed since the figures were last taken (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub requests: u32,
    pub failures: u32,
}

#[derive(Default)]
struct Inner {
    revoked: Arc<Revoked>,
    /// When the newest successful read started.
    read_at: Option<Stamp>,
    /// The next warm read asks for what was written after this.
    cursor_ms: u64,
    /// When the read in flight started.
    in_flight: Option<Stamp>,
    last_attempt: Option<Stamp>,
    /// Failed reads since the last success.
    failures: u32,
    stats: Stats,
}

struct Shared<S> {
    source: S,
    policy: Policy,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
    done: Notify,
}

/// The revocation state of one instance, read from `S` under `Policy`.
pub struct Feed<S: Source> {
    shared: Arc<Shared<S>>,
}

impl<S: Source> std::fmt::Debug for Feed<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("policy", &self.shared.policy)
            .field("entries", &self.entries())
            .finish()
    }
}

impl<S: Source> Feed<S> {
    /// Starts reading the state now (the cold read, in the background: the rest of the cold
    /// start goes on meanwhile). Must be called inside a Tokio runtime.
    pub fn start(source: S, policy: Policy, clock: Arc<dyn Clock>) -> Self {
        let feed = Self {
            shared: Arc::new(Shared {
                source,
                policy,
                clock,
                inner: Mutex::new(Inner::default()),
                done: Notify::new(),
            }),
        };
        let now = feed.shared.clock.now();
        let mut inner = feed.shared.lock();
        feed.shared.begin(&mut inner, now);
        drop(inner);
        feed
    }

    pub fn policy(&self) -> Policy {
        self.shared.policy
    }

    /// Waits, at most `within`, for the first read to end; whether it succeeded.
    pub async fn ready(&self, within: Duration) -> bool {
        let waiting = async {
            loop {
                let done = {
                    let inner = self.shared.lock();
                    if inner.read_at.is_some() || inner.failures > 0 {
                        return;
                    }
                    self.shared.done.notified()
                };
                done.await;
            }
        };
        let _ = tokio::time::timeout(within, waiting).await;
        self.shared.lock().read_at.is_some()
    }

    /// The state a decision made now may use: waits for a read only when the state is past the
    /// bound (or none was ever read), and then at most the policy's `wait_ms`.
    pub async fn view(&self) -> View {
        let sh = &self.shared;
        let bound = sh.policy.max_staleness_ms;
        let mut waited = false;
        loop {
            let now = sh.clock.now();
            let done = {
                let mut inner = sh.lock();
                if let Some(age) = inner.read_at.map(|r| now.since(r))
                    && age < bound
                {
                    if age >= sh.policy.refresh_after_ms() && sh.may_begin(&inner, now) {
                        sh.begin(&mut inner, now);
                    }
                    return View::Current(inner.revoked.clone());
                }
                if waited {
                    return sh.unreadable(&inner, now);
                }
                let useful = inner.in_flight.is_some_and(|s| now.since(s) < bound);
                if !useful {
                    if !sh.may_begin(&inner, now) {
                        return sh.unreadable(&inner, now);
                    }
                    sh.begin(&mut inner, now);
                }
                sh.done.notified()
            };
            let _ = tokio::time::timeout(Duration::from_millis(sh.policy.wait_ms), done).await;
            waited = true;
        }
    }

    /// The state a decision made now may use, as it is: like [`Self::view`] without starting
    /// a read or waiting for one.
    pub fn peek(&self) -> View {
        let sh = &self.shared;
        let now = sh.clock.now();
        let inner = sh.lock();
        match inner.read_at.map(|r| now.since(r)) {
            Some(age) if age < sh.policy.max_staleness_ms => View::Current(inner.revoked.clone()),
            _ => sh.unreadable(&inner, now),
        }
    }

    /// Requests and failures since the last call.
    pub fn take_stats(&self) -> Stats {
        std::mem::take(&mut self.shared.lock().stats)
    }

    /// Entries held now.
    pub fn entries(&self) -> usize {
        self.shared.lock().revoked.len()
    }
}

impl<S: Source> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves whole entries: keep using them.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a read may start now: none in flight (or the one in flight is older than the
    /// bound, as after Lambda froze the instance mid-read), and not within a second of a failure.
    fn may_begin(&self, inner: &Inner, now: Stamp) -> bool {
        let idle = inner
            .in_flight
            .is_none_or(|s| now.since(s) >= self.policy.max_staleness_ms);
        let rested = inner.failures == 0
            || inner
                .last_attempt
                .is_none_or(|a| now.since(a) >= RETRY_AFTER_FAILURE_MS);
        idle && rested
    }

    fn begin(self: &Arc<Self>, inner: &mut Inner, now: Stamp) {
        inner.in_flight = Some(now);
        inner.last_attempt = Some(now);
        let since = match inner.read_at {
            None => Since::Start {
                now: now.wall_ms / 1000,
                recent_after_ms: now.wall_ms.saturating_sub(COLD_RECENT_MS),
            },
            Some(_) => Since::After(inner.cursor_ms),
        };
        let shared = self.clone();
        tokio::spawn(async move {
            let result = shared.source.read(since).await;
            shared.finish(now, result);
        });
    }

    fn finish(&self, started: Stamp, result: Result<Read, S::Error>) {
        let now = self.clock.now();
        let mut inner = self.lock();
        if inner.in_flight == Some(started) {
            inner.in_flight = None;
        }
        match result {
            Ok(read) => self.absorb(&mut inner, started, now, read),
            Err(e) => {
                inner.failures += 1;
                inner.stats.failures += 1;
                let age_ms = inner.read_at.map(|r| now.since(r));
                warn!(error = %e, failures = inner.failures, age_ms, "revocation state read failed");
            }
        }
        drop(inner);
        self.done.notify_waiters();
    }

    fn absorb(&self, inner: &mut Inner, started: Stamp, now: Stamp, read: Read) {
        for sort_key in &read.unreadable {
            warn!(sort_key = %sort_key, "revocation entry unreadable");
        }
        let now_s = now.wall_ms / 1000;
        if !read.entries.is_empty() || inner.revoked.has_expired(now_s) {
            let revoked = Arc::make_mut(&mut inner.revoked);
            for e in &read.entries {
                revoked.insert(e, now_s);
            }
            revoked.prune(now_s);
        }
        if inner.read_at.is_none_or(|r| started.mono_ms >= r.mono_ms) {
            inner.read_at = Some(started);
        }
        inner.cursor_ms = inner
            .cursor_ms
            .max(started.wall_ms.saturating_sub(FEED_OVERLAP_MS));
        if inner.failures > 0 {
            info!(
                failures = inner.failures,
                entries = inner.revoked.len(),
                "revocation state read again"
            );
        }
        inner.failures = 0;
        inner.stats.requests += read.requests;
    }

    fn unreadable(&self, inner: &Inner, now: Stamp) -> View {
        let age_ms = inner.read_at.map(|r| now.since(r));
        match (self.policy.when_unreadable, age_ms) {
            (WhenUnreadable::Allow { for_at_most_ms }, Some(age)) if age <= for_at_most_ms => {
                View::Stale {
                    revoked: inner.revoked.clone(),
                    age_ms: age,
                }
            }
            _ => View::Unavailable { age_ms },
        }
    }
}

#[cfg(test)]
mod tests;
