//! Brute-force protection for the password grant (RFC 6749 §4.3.2): consecutive failed passwords
//! for one username within a window lock it for a while, without asking the auth endpoint.

use async_trait::async_trait;

use crate::secret::hash_str;

/// Thresholds, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures within `window` that lock the username. 0 turns the protection off.
    pub max_failures: u32,
    pub window_secs: u64,
    pub lockout_secs: u64,
}

/// The key a username is counted under: lower-cased, so that case variants cannot dodge the
/// count on an auth endpoint that ignores case, and hashed, so the table holds no usernames.
pub fn lockout_key(username: &str) -> String {
    hash_str(&username.to_lowercase())
}

#[derive(Debug, thiserror::Error)]
pub enum LockoutStoreError {
    #[error("failed to read or write login-failure counter")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[async_trait]
pub trait LockoutStore: Send + Sync {
    /// `Some(until)` when the key is locked at `now`.
    async fn locked_until(&self, key: &str, now: u64) -> Result<Option<u64>, LockoutStoreError>;
    /// Counts one failure at `now`; returns `Some(until)` if this failure locked the key.
    /// Locking resets the count, so after the lock the user has a fresh set of attempts.
    async fn record_failure(
        &self,
        key: &str,
        now: u64,
        policy: &LockoutPolicy,
    ) -> Result<Option<u64>, LockoutStoreError>;
    /// Forgets the failures after a successful login.
    async fn reset(&self, key: &str) -> Result<(), LockoutStoreError>;
}
