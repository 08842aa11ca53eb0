//! Time as the domain sees it: seconds (and, for deadlines, milliseconds) since the Unix epoch,
//! replaceable in tests; and the deadline every outbound call of one invocation must meet.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Milliseconds since the epoch.
    fn now_ms(&self) -> u64;
    /// Whole seconds since the epoch.
    fn now(&self) -> u64 {
        self.now_ms() / 1000
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to; for tests of time-based rules.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// Starts at `start` whole seconds.
    pub fn new(start: u64) -> Self {
        Self(Arc::new(AtomicU64::new(start.saturating_mul(1000))))
    }
    pub fn advance(&self, secs: u64) {
        self.advance_ms(secs.saturating_mul(1000));
    }
    pub fn advance_ms(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// When the current invocation must have answered (Lambda's deadline), in milliseconds since
/// the epoch. Every outbound call gets at most the time left before it, less a margin for
/// writing the response, so a slow dependency is our 503 and never API Gateway's 502.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at_ms: u64,
}

/// Kept back from every deadline: time to log and return the 503.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

impl Deadline {
    pub const fn at_ms(at_ms: u64) -> Self {
        Self { at_ms }
    }
    /// The deadline the Lambda runtime announced: milliseconds since the epoch in AWS. A value
    /// too small to be a time since the epoch (before 2001) is read as milliseconds from now,
    /// which is what `cargo lambda watch` sends (its timeout); 0 is no deadline.
    pub fn from_lambda(ms: u64, clock: &dyn Clock) -> Self {
        const YEAR_2001_MS: u64 = 978_307_200_000;
        match ms {
            0 => Self::none(),
            ms if ms < YEAR_2001_MS => Self::at_ms(clock.now_ms().saturating_add(ms)),
            ms => Self::at_ms(ms),
        }
    }
    /// No deadline (unit tests, tools).
    pub const fn none() -> Self {
        Self { at_ms: u64::MAX }
    }
    /// A deadline halfway through the time this one leaves (its margin kept): for a call that
    /// must leave time to be sent again when its outcome is lost.
    pub fn halfway(&self, clock: &dyn Clock) -> Self {
        if self.at_ms == u64::MAX {
            return *self;
        }
        let left = u64::try_from(self.remaining(clock).as_millis()).unwrap_or(u64::MAX);
        let margin = u64::try_from(DEADLINE_MARGIN.as_millis()).unwrap_or(0);
        Self::at_ms(
            clock
                .now_ms()
                .saturating_add(left / 2)
                .saturating_add(margin),
        )
    }

    /// The time a call starting now may take: what is left before the deadline, less the margin;
    /// zero once that has passed.
    pub fn remaining(&self, clock: &dyn Clock) -> Duration {
        let left = self.at_ms.saturating_sub(clock.now_ms());
        Duration::from_millis(left).saturating_sub(DEADLINE_MARGIN)
    }
}

/// The latest moment [`rfc3339`] writes: 9999-12-31T23:59:59Z (RFC 3339 years have 4 digits).
const LAST_RFC3339_SECOND: u64 = 253_402_300_799;

/// `secs` since the epoch as RFC 3339 in UTC, whole seconds: `2026-03-31T00:00:00Z` (error
/// descriptions, audit events). Later than the year 9999 is written as its last second.
pub fn rfc3339(secs: u64) -> String {
    let secs = secs.min(LAST_RFC3339_SECOND);
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`), in whole
    // 400-year eras counted from 0000-03-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        day_secs / 3_600,
        day_secs % 3_600 / 60,
        day_secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_writes_utc_dates_to_the_second() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_774_915_200, "2026-03-31T00:00:00Z"),
            (1_774_915_199, "2026-03-30T23:59:59Z"),
            (1_764_151_200, "2025-11-26T10:00:00Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (super::LAST_RFC3339_SECOND, "9999-12-31T23:59:59Z"),
            (u64::MAX, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(super::rfc3339(secs), text, "{secs}");
        }
    }

    use super::*;

    #[test]
    fn halfway_leaves_half_the_remaining_time() {
        let clock = ManualClock::new(1_000);
        let d = Deadline::at_ms(1_000_000 + 10_500);
        assert_eq!(d.remaining(&clock), Duration::from_millis(10_000));
        assert_eq!(
            d.halfway(&clock).remaining(&clock),
            Duration::from_millis(5_000)
        );
        assert_eq!(Deadline::none().halfway(&clock), Deadline::none());
        clock.advance(60);
        assert_eq!(d.halfway(&clock).remaining(&clock), Duration::ZERO);
    }

    #[test]
    fn remaining_time_shrinks_to_zero_and_keeps_a_margin() {
        let clock = ManualClock::new(1_000);
        let d = Deadline::at_ms(1_000_000 + 10_000);
        assert_eq!(d.remaining(&clock), Duration::from_millis(9_500));
        clock.advance_ms(9_000);
        assert_eq!(d.remaining(&clock), Duration::from_millis(500));
        clock.advance_ms(500);
        assert_eq!(d.remaining(&clock), Duration::ZERO);
        clock.advance(60);
        assert_eq!(d.remaining(&clock), Duration::ZERO, "no underflow");
        assert!(Deadline::none().remaining(&clock) > Duration::from_secs(3600 * 24 * 365));
    }

    #[test]
    fn lambda_deadlines_are_absolute_or_relative_to_now() {
        let clock = ManualClock::new(1_795_000_000);
        let absolute = clock.now_ms() + 10_000;
        assert_eq!(
            Deadline::from_lambda(absolute, &clock),
            Deadline::at_ms(absolute)
        );
        assert_eq!(
            Deadline::from_lambda(600_000, &clock).remaining(&clock),
            Duration::from_millis(599_500)
        );
        assert_eq!(Deadline::from_lambda(0, &clock), Deadline::none());
    }

    #[test]
    fn manual_clock_counts_seconds_and_milliseconds() {
        let c = ManualClock::new(5);
        c.advance_ms(1_500);
        assert_eq!((c.now(), c.now_ms()), (6, 6_500));
    }
}
