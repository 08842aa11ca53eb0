//! The password grant's independent I/O runs concurrently: after a good password, the
//! failure-counter reset and the new refresh family are in flight together.

use super::*;

/// The memory lockout store whose `reset` finishes only once a refresh family exists: run one
/// after the other (reset first, as before), the grant would never finish.
struct ResetAfterFamily {
    inner: MemoryLockout,
    refresh: Arc<MemoryRefresh>,
}

#[async_trait::async_trait]
impl LockoutStore for ResetAfterFamily {
    async fn reserve(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Reservation, crate::lockout::LockoutStoreError> {
        self.inner.reserve(key, now, p).await
    }
    async fn record_failure(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Option<u64>, crate::lockout::LockoutStoreError> {
        self.inner.record_failure(key, now, p).await
    }
    async fn release(&self, key: &str) -> Result<(), crate::lockout::LockoutStoreError> {
        self.inner.release(key).await
    }
    async fn locked_until(
        &self,
        key: &str,
        now: u64,
    ) -> Result<Option<u64>, crate::lockout::LockoutStoreError> {
        self.inner.locked_until(key, now).await
    }
    async fn reset(&self, key: &str) -> Result<(), crate::lockout::LockoutStoreError> {
        while self
            .refresh
            .families
            .lock()
            .map(|f| f.is_empty())
            .unwrap_or(true)
        {
            tokio::task::yield_now().await;
        }
        self.inner.reset(key).await
    }
}

#[tokio::test]
async fn counter_reset_and_new_family_run_concurrently() {
    let mut f = fixture().await;
    let lockout = Arc::new(ResetAfterFamily {
        inner: MemoryLockout::default(),
        refresh: f.refresh.clone(),
    });
    f.service.lockout = lockout.clone();
    // A failure first, so the reset has a count to forget.
    let wrong = password("alice", "wrong");
    assert_eq!(
        code(&f, req("app", "app-secret", &to_params(&wrong))).await,
        Some(ErrorCode::InvalidGrant)
    );
    let good = password("alice", "pw");
    let r = req("app", "app-secret", &to_params(&good));
    // Not a stopwatch: a bound on a deadlock, which is what sequential I/O would be here.
    let resp = tokio::time::timeout(std::time::Duration::from_secs(10), f.service.token(&r))
        .await
        .expect("the reset waited for the family: the two ran one after the other")
        .expect("the grant succeeds");
    assert!(resp.refresh_token.is_some());
    assert_eq!(f.refresh.families.lock().unwrap().len(), 1);
    // The reset did happen: with the first failure forgotten, two more (of three allowed)
    // leave alice unlocked.
    for _ in 0..2 {
        assert_eq!(
            code(&f, req("app", "app-secret", &to_params(&wrong))).await,
            Some(ErrorCode::InvalidGrant)
        );
    }
    let key = crate::lockout::lockout_key("alice");
    assert_eq!(
        lockout
            .inner
            .locked_until(&key, f.clock.now())
            .await
            .unwrap(),
        None
    );
    assert!(f.service.token(&r).await.is_ok());
}
