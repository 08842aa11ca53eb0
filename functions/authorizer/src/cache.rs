//! A bounded cache of verified access tokens, so that a token a warm instance has already
//! verified is decided again without a second signature check. An entry is keyed by the SHA-256
//! of the whole token (header, claims and signature), is stored only after a full verification
//! succeeded, is used only while the token's `exp` has not passed, and the oldest entry makes
//! room for a new one once [`CAPACITY`] entries are held.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::digest::{SHA256, digest};
use tollgate_oauth::verify::{MAX_TOKEN_BYTES, Rejection, VerifiedToken};

/// Entries held at most: about 1 KiB each for a token with a few user details (see
/// docs/authorizer.md), so about 1 MiB at the cap, well inside a 128 MB function.
pub const CAPACITY: usize = 1024;

/// SHA-256 of the whole token: two tokens that differ anywhere, the signature included, never
/// share an entry.
pub type TokenHash = [u8; 32];

pub fn token_hash(token: &str) -> TokenHash {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    out
}

#[derive(Default)]
struct Entries {
    by_hash: HashMap<TokenHash, Arc<VerifiedToken>>,
    /// Insertion order, oldest first; never longer than the capacity. A hash dropped from
    /// `by_hash` (expired) may linger here until it is popped: popping it then removes nothing.
    order: VecDeque<TokenHash>,
}

/// Verified tokens by the hash of their text.
pub struct VerifiedTokens {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self::new(CAPACITY)
    }
}

impl VerifiedTokens {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The verified claims of `token` as of `now` (seconds since the epoch): from the cache
    /// while its `exp` has not passed, else from `verify`, whose success is then remembered if
    /// the token is valid now without any leeway (not expired, not before its `nbf`).
    pub fn get_or_verify(
        &self,
        token: &str,
        now: u64,
        verify: impl FnOnce(&str) -> Result<VerifiedToken, Rejection>,
    ) -> Result<Arc<VerifiedToken>, Rejection> {
        if self.capacity == 0 || token.len() > MAX_TOKEN_BYTES {
            return verify(token).map(Arc::new);
        }
        let hash = token_hash(token);
        if let Some(hit) = self.get(&hash, now) {
            return Ok(hit);
        }
        let verified = Arc::new(verify(token)?);
        if verified.exp > now && verified.nbf.is_none_or(|nbf| nbf <= now) {
            self.insert(hash, verified.clone());
        }
        Ok(verified)
    }

    /// Drops every entry (the benchmark's fresh decisions).
    pub fn clear(&self) {
        let mut entries = self.lock();
        entries.by_hash.clear();
        entries.order.clear();
    }

    /// Entries held now (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.lock().by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic elsewhere while holding the lock leaves whole entries only: keep using them.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, hash: &TokenHash, now: u64) -> Option<Arc<VerifiedToken>> {
        let mut entries = self.lock();
        let hit = entries.by_hash.get(hash)?;
        if now <= hit.exp {
            return Some(hit.clone());
        }
        entries.by_hash.remove(hash);
        None
    }

    fn insert(&self, hash: TokenHash, token: Arc<VerifiedToken>) {
        let mut entries = self.lock();
        if entries.by_hash.contains_key(&hash) {
            return;
        }
        while entries.order.len() >= self.capacity {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            entries.by_hash.remove(&oldest);
        }
        entries.order.push_back(hash);
        entries.by_hash.insert(hash, token);
    }
}

#[cfg(test)]
mod tests;
