//! Client records kept by one function instance for a bounded time (`CLIENT_CACHE_SECONDS`) and
//! number (`CAPACITY`), so a warm instance authenticates a client it has seen without a read.
//! Only a record that lets the client in is taken from here: a refusal (wrong secret, disabled,
//! a secret rotated in) is checked again against a fresh read before the client hears it
//! (`authenticate_at`), so enabling a client or rotating its secret takes effect on the next
//! request. Disabling a client, or ending a secret's overlap, takes effect within the TTL
//! (docs/decisions.md, "The client cache").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tollgate_oauth::clock::Clock;

use super::{Client, ClientStore, ClientStoreError, ClientUpdate};

/// The most records one instance keeps: far more clients than one deployment has, and a bound
/// on memory (a record is well under 1 KB) whatever ids callers send. Unknown ids are never
/// kept, so a flood of made-up ids evicts nothing it has not read itself.
pub const CAPACITY: usize = 1024;

/// The longest `CLIENT_CACHE_SECONDS` may be: the bound on how long a disabled client is still
/// let in by an instance that has its record.
pub const MAX_TTL_SECS: u64 = 300;

/// A [`ClientStore`] that remembers the records it read for `ttl_secs`.
pub struct CachedClients {
    inner: Arc<dyn ClientStore>,
    clock: Arc<dyn Clock>,
    ttl_secs: u64,
    kept: Mutex<HashMap<String, (u64, Client)>>,
}

impl std::fmt::Debug for CachedClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedClients")
            .field("ttl_secs", &self.ttl_secs)
            .field("kept", &self.lock().len())
            .finish_non_exhaustive()
    }
}

impl CachedClients {
    /// Keeps records for `ttl_secs` (0 keeps none: every lookup reads the store).
    pub fn new(inner: Arc<dyn ClientStore>, clock: Arc<dyn Clock>, ttl_secs: u64) -> Self {
        Self {
            inner,
            clock,
            ttl_secs: ttl_secs.min(MAX_TTL_SECS),
            kept: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Client)>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn keep(&self, client: &Client) {
        if self.ttl_secs == 0 {
            return;
        }
        let now = self.clock.now();
        let mut kept = self.lock();
        if kept.len() >= CAPACITY && !kept.contains_key(&client.client_id) {
            kept.retain(|_, (read_at, _)| now < read_at.saturating_add(self.ttl_secs));
            if kept.len() >= CAPACITY {
                // The oldest goes: one scan of at most CAPACITY entries, on a read anyway.
                let oldest = kept
                    .iter()
                    .min_by_key(|(_, (read_at, _))| *read_at)
                    .map(|(id, _)| id.clone());
                if let Some(id) = oldest {
                    kept.remove(&id);
                }
            }
        }
        kept.insert(client.client_id.clone(), (now, client.clone()));
    }

    fn forget(&self, client_id: &str) {
        self.lock().remove(client_id);
    }
}

#[async_trait]
impl ClientStore for CachedClients {
    /// Always reads the store (and keeps what it found): the fresh read a refusal is checked
    /// against.
    async fn get(&self, client_id: &str) -> Result<Option<Client>, ClientStoreError> {
        let got = self.inner.get(client_id).await?;
        match &got {
            Some(client) => self.keep(client),
            None => self.forget(client_id),
        }
        Ok(got)
    }

    fn cached(&self, client_id: &str) -> Option<Client> {
        let now = self.clock.now();
        let kept = self.lock();
        let (read_at, client) = kept.get(client_id)?;
        // A clock that went back counts as expired too.
        let fresh = *read_at <= now && now < read_at.saturating_add(self.ttl_secs);
        fresh.then(|| client.clone())
    }

    async fn create(&self, client: &Client) -> Result<(), ClientStoreError> {
        self.inner.create(client).await
    }

    async fn list(&self) -> Result<Vec<Client>, ClientStoreError> {
        self.inner.list().await
    }

    async fn update(
        &self,
        client_id: &str,
        update: &ClientUpdate,
    ) -> Result<Client, ClientStoreError> {
        self.forget(client_id);
        self.inner.update(client_id, update).await
    }

    async fn delete(&self, client_id: &str) -> Result<(), ClientStoreError> {
        self.forget(client_id);
        self.inner.delete(client_id).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tollgate_oauth::clock::ManualClock;
    use tollgate_oauth::secret::Secret;

    use super::*;
    use crate::client::{ClientCredentials, ClientRejection, authenticate_at};
    use crate::testkit::memory::MemoryClients;

    fn client_record(id: &str, secret: &str) -> Client {
        Client::for_tests(id, secret)
    }

    /// Counts the reads that reach the store.
    struct Counting(MemoryClients, AtomicUsize);

    #[async_trait]
    impl ClientStore for Counting {
        async fn get(&self, id: &str) -> Result<Option<Client>, ClientStoreError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.get(id).await
        }
        async fn create(&self, c: &Client) -> Result<(), ClientStoreError> {
            self.0.create(c).await
        }
        async fn list(&self) -> Result<Vec<Client>, ClientStoreError> {
            self.0.list().await
        }
        async fn update(&self, id: &str, u: &ClientUpdate) -> Result<Client, ClientStoreError> {
            self.0.update(id, u).await
        }
        async fn delete(&self, id: &str) -> Result<(), ClientStoreError> {
            self.0.delete(id).await
        }
    }

    struct Fixture {
        store: Arc<Counting>,
        clock: Arc<ManualClock>,
        cache: CachedClients,
    }

    async fn fixture(ttl: u64) -> Fixture {
        let store = Arc::new(Counting(MemoryClients::default(), AtomicUsize::new(0)));
        store
            .create(&client_record("app", "app-secret"))
            .await
            .unwrap();
        let clock = Arc::new(ManualClock::new(1_000_000));
        let cache = CachedClients::new(store.clone(), clock.clone(), ttl);
        Fixture {
            store,
            clock,
            cache,
        }
    }

    impl Fixture {
        fn reads(&self) -> usize {
            self.store.1.load(Ordering::SeqCst)
        }

        async fn auth(&self, secret: &str) -> Result<Client, crate::client::AuthenticateError> {
            let creds = ClientCredentials {
                client_id: "app".into(),
                secret: Secret::new(secret),
            };
            let hasher = tollgate_oauth::secret::SecretHasher::default();
            authenticate_at(&self.cache, &hasher, &creds, self.clock.now()).await
        }

        /// Changes the record behind the cache's back, as the admin CLI does.
        async fn set_enabled(&self, enabled: bool) {
            let u = ClientUpdate {
                enabled: Some(enabled),
                ..ClientUpdate::default()
            };
            self.store.update("app", &u).await.unwrap();
        }
    }

    fn rejected(r: Result<Client, crate::client::AuthenticateError>) -> ClientRejection {
        match r {
            Err(crate::client::AuthenticateError::Rejected(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_warm_instance_authenticates_a_known_client_without_a_read_until_the_ttl() {
        let f = fixture(60).await;
        f.auth("app-secret").await.unwrap();
        f.auth("app-secret").await.unwrap();
        assert_eq!(f.reads(), 1, "the second from the cache");
        f.clock.advance(59);
        f.auth("app-secret").await.unwrap();
        assert_eq!(f.reads(), 1);
        f.clock.advance(1);
        f.auth("app-secret").await.unwrap();
        assert_eq!(f.reads(), 2, "read again once the TTL is over");
    }

    #[tokio::test]
    async fn a_disabled_client_is_refused_within_the_ttl_and_an_enabled_one_at_once() {
        let f = fixture(60).await;
        f.auth("app-secret").await.unwrap();
        f.set_enabled(false).await;
        // Within the TTL the instance still has the enabled record: the documented staleness.
        f.clock.advance(30);
        f.auth("app-secret").await.unwrap();
        f.clock.advance(30);
        assert_eq!(
            rejected(f.auth("app-secret").await),
            ClientRejection::Disabled
        );
        // The refusal is kept no longer than the next request: enabling takes effect at once.
        f.set_enabled(true).await;
        f.auth("app-secret").await.unwrap();
    }

    #[tokio::test]
    async fn a_refusal_from_the_cache_is_checked_against_a_fresh_read() {
        let f = fixture(60).await;
        f.auth("app-secret").await.unwrap();
        let reads = f.reads();
        // A secret the cached record does not know may be one rotated in since: read again.
        assert_eq!(
            rejected(f.auth("wrong").await),
            ClientRejection::WrongSecret
        );
        assert_eq!(f.reads(), reads + 1);
        f.store.delete("app").await.unwrap();
        assert_eq!(rejected(f.auth("wrong").await), ClientRejection::Unknown);
        // The fresh read found no client: the record is gone from the cache as well.
        assert_eq!(
            rejected(f.auth("app-secret").await),
            ClientRejection::Unknown
        );
    }

    #[tokio::test]
    async fn ttl_zero_keeps_nothing_and_the_ttl_is_bounded() {
        let f = fixture(0).await;
        f.auth("app-secret").await.unwrap();
        f.auth("app-secret").await.unwrap();
        assert_eq!(f.reads(), 2);
        let g = fixture(86_400).await;
        assert_eq!(g.cache.ttl_secs, MAX_TTL_SECS);
    }

    #[tokio::test]
    async fn at_most_capacity_records_are_kept_and_the_oldest_goes_first() {
        let f = fixture(60).await;
        for i in 0..CAPACITY + 10 {
            let id = format!("c{i}");
            f.store.create(&client_record(&id, "s")).await.unwrap();
            f.cache.get(&id).await.unwrap();
            if i == 0 {
                f.clock.advance(1);
            }
        }
        assert_eq!(f.cache.lock().len(), CAPACITY);
        assert!(f.cache.cached("c0").is_none(), "the oldest was evicted");
        assert!(f.cache.cached(&format!("c{}", CAPACITY + 9)).is_some());
    }
}
