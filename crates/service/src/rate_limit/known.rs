//! What one function instance remembers of each client's rate limit: only the *setting*
//! (client_id → limit, 0 for unlimited), never the record, and only to decide whether a request
//! is worth counting before its client is looked up. Authentication always reads the record
//! afresh, so disabling a client, retiring a secret or deleting a client takes effect on the
//! next request whatever is remembered here (docs/decisions.md, "Counting only limited clients").
//!
//! A wrong entry costs a write or a round trip, never a guarantee: a client remembered as
//! limited that is no longer gets one count that is ignored; a client remembered as unlimited
//! that now has a limit is counted after its lookup (one more round trip, on that request only,
//! since every lookup refreshes the entry).

use std::collections::HashMap;
use std::sync::Mutex;

/// The most clients one instance remembers: far more than one deployment has. Only clients
/// that authenticated are remembered, so made-up client_ids cannot fill it.
pub const CAPACITY: usize = 1024;

/// How long an entry is trusted after the lookup that wrote it, in seconds: the longest an
/// operator's new limit goes uncounted-up-front (it is still counted, after the lookup).
pub const TTL_SECS: u64 = 30;

/// What the instance knows of a client's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Not remembered (never seen by this instance, expired, evicted): count up front.
    Unknown,
    /// Remembered with this limit (0 is unlimited) from a lookup within [`TTL_SECS`].
    Limit(u32),
}

impl Known {
    /// Whether to send the count concurrently with the lookup: for a client that has (or may
    /// have) a limit. Only a client remembered as unlimited is not counted up front.
    pub fn count_up_front(self) -> bool {
        self != Self::Limit(0)
    }
}

/// Each client's limit as the last lookup on this instance read it, with when.
#[derive(Debug, Default)]
pub struct KnownLimits {
    kept: Mutex<HashMap<String, (u64, u32)>>,
}

impl KnownLimits {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, u32)>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What is known of `client_id`'s limit at `now`.
    pub fn get(&self, client_id: &str, now: u64) -> Known {
        match self.lock().get(client_id) {
            // A clock that went back counts as expired too.
            Some(&(read_at, limit)) if read_at <= now && now < read_at.saturating_add(TTL_SECS) => {
                Known::Limit(limit)
            }
            _ => Known::Unknown,
        }
    }

    /// Remembers the limit a fresh lookup of an authenticated client found at `now`.
    pub fn remember(&self, client_id: &str, limit: u32, now: u64) {
        let mut kept = self.lock();
        if kept.len() >= CAPACITY && !kept.contains_key(client_id) {
            kept.retain(|_, (read_at, _)| {
                *read_at <= now && now < read_at.saturating_add(TTL_SECS)
            });
            if kept.len() >= CAPACITY {
                // The oldest goes: one scan of at most CAPACITY entries.
                let oldest = kept
                    .iter()
                    .min_by_key(|(_, (read_at, _))| *read_at)
                    .map(|(id, _)| id.clone());
                if let Some(id) = oldest {
                    kept.remove(&id);
                }
            }
        }
        kept.insert(client_id.to_owned(), (now, limit));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_client_remembered_as_unlimited_is_not_counted_up_front() {
        let k = KnownLimits::default();
        assert_eq!(k.get("app", 100), Known::Unknown);
        assert!(
            Known::Unknown.count_up_front(),
            "an unknown client is counted"
        );
        k.remember("app", 0, 100);
        assert_eq!(k.get("app", 100), Known::Limit(0));
        assert!(!k.get("app", 100).count_up_front());
        k.remember("app", 5, 101);
        assert_eq!(k.get("app", 101), Known::Limit(5));
        assert!(k.get("app", 101).count_up_front());
        assert_eq!(k.get("other", 101), Known::Unknown);
    }

    #[test]
    fn an_entry_is_trusted_for_the_ttl_after_its_lookup_and_not_before_it() {
        let k = KnownLimits::default();
        k.remember("app", 0, 1_000);
        assert_eq!(k.get("app", 1_000 + TTL_SECS - 1), Known::Limit(0));
        assert_eq!(k.get("app", 1_000 + TTL_SECS), Known::Unknown);
        assert_eq!(k.get("app", 999), Known::Unknown, "a clock that went back");
        // Each lookup starts the entry's time again.
        k.remember("app", 0, 1_000 + TTL_SECS);
        assert_eq!(k.get("app", 1_000 + 2 * TTL_SECS - 1), Known::Limit(0));
    }

    #[test]
    fn at_most_capacity_clients_are_kept_and_the_oldest_goes_first() {
        let k = KnownLimits::default();
        k.remember("c0", 0, 1_000);
        for i in 1..CAPACITY + 10 {
            k.remember(&format!("c{i}"), 0, 1_001);
        }
        assert_eq!(k.len(), CAPACITY);
        assert_eq!(k.get("c0", 1_001), Known::Unknown, "the oldest was evicted");
        assert_eq!(k.get(&format!("c{}", CAPACITY + 9), 1_001), Known::Limit(0));
        // Expired entries go before any live one.
        let later = 1_001 + TTL_SECS;
        k.remember("fresh", 3, later);
        assert_eq!(k.len(), 1, "every other entry had expired");
        assert_eq!(k.get("fresh", later), Known::Limit(3));
    }
}
