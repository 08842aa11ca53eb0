//! Per-client request limits on `/token`: a fixed one-minute window per client, counted with one
//! atomic write that runs concurrently with the client lookup, and not at all for a client this
//! instance knows to be unlimited ([`known`]; docs/decisions.md, "Per-client rate limit" and
//! "Counting only limited clients").
//!
//! The count is kept under the client_id *and the fingerprint of the secret presented*
//! ([`counter`]): the write runs before the client is known to be who it says, so a request
//! with a wrong secret is counted under another fingerprint, never the real client's. Nobody
//! without the secret can touch a client's minute, and nothing is ever given back. The counter
//! returns the window's count with this request in it: concurrent requests each see a different
//! number, so exactly `limit` of them see a number within the limit, whatever their order.

pub mod known;

use async_trait::async_trait;

use crate::client::Client;

/// The length of one counting window, in seconds.
pub const WINDOW_SECS: u64 = 60;

/// How long a window's counter is kept after its window closed, before DynamoDB's TTL may
/// delete it (TTL deletes within days anyway; nothing reads an old window).
pub const KEEP_SECS: u64 = 300;

/// The minute a request falls in: `[start, start + 60)`, aligned to the epoch's minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub start: u64,
}

impl Window {
    pub fn at(now: u64) -> Self {
        Self {
            start: now - now % WINDOW_SECS,
        }
    }

    /// Seconds until the next window opens: the `Retry-After` of a refused request (at least 1).
    pub fn retry_after(self, now: u64) -> u64 {
        self.start
            .saturating_add(WINDOW_SECS)
            .saturating_sub(now)
            .max(1)
    }

    /// When the window's counter may be deleted (the TTL attribute).
    pub fn expires_at(self) -> u64 {
        self.start
            .saturating_add(WINDOW_SECS)
            .saturating_add(KEEP_SECS)
    }
}

/// What stands for the fingerprint of a request that presents no secret: a public client's
/// `/token` request and every sign-in form post are counted under the client_id alone (a
/// fingerprint is 16 base64url characters, so the two never meet).
pub const NO_SECRET: &str = "public";

/// The counter a request is counted in: its client_id and the fingerprint of the secret it
/// presented (`SecretHasher::fingerprint`), or [`NO_SECRET`]. Client ids hold no `#`.
pub fn counter(client_id: &str, fingerprint: &str) -> String {
    format!("{client_id}#{fingerprint}")
}

/// The limit that applies to `client`: its own, else the deployment's; 0 is unlimited.
pub fn limit_of(client: &Client, deployment_default: u32) -> u32 {
    client.rate_limit.unwrap_or(deployment_default)
}

/// Failures of the counter store. The source is kept so throttling stays distinguishable.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitStoreError {
    /// The store answered with an error: nothing was counted.
    #[error("rate-limit counter failed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// No answer came back: the request may or may not have been counted.
    #[error("rate-limit counter gave no answer")]
    OutcomeUnknown(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Request counters, one per [`counter`] per window.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Counts one request in `counter` in `window` and returns the window's count with it.
    /// Atomic: of concurrent calls, each sees a different count.
    async fn count(&self, counter: &str, window: Window) -> Result<u64, RateLimitStoreError>;
}

/// Whether a request counted `count` in its window may go on under `limit`.
pub fn admits(count: u64, limit: u32) -> bool {
    limit == 0 || count <= u64::from(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_minutes_and_retry_after_reaches_the_next() {
        assert_eq!(Window::at(120), Window { start: 120 });
        assert_eq!(Window::at(179), Window { start: 120 });
        assert_eq!(Window::at(180), Window { start: 180 });
        assert_eq!(Window::at(120).retry_after(120), 60);
        assert_eq!(Window::at(179).retry_after(179), 1);
        // A window already past (the clock moved on while counting) still says 1, never 0.
        assert_eq!(Window::at(120).retry_after(200), 1);
        assert_eq!(Window::at(120).expires_at(), 120 + 60 + KEEP_SECS);
        assert_eq!(Window::at(u64::MAX).retry_after(u64::MAX), 1);
    }

    #[test]
    fn the_limit_admits_exactly_limit_requests_and_zero_is_unlimited() {
        assert!(admits(1, 1));
        assert!(!admits(2, 1));
        assert!(admits(10, 10));
        assert!(!admits(11, 10));
        assert!(admits(u64::MAX, 0));
    }
}
