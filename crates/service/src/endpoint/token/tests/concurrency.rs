//! The password grant's independent I/O runs concurrently: after a good password, the
//! failure-counter reset and the new refresh family are in flight together.

use super::*;
use crate::refresh::{
    NewFamily, RefreshStore, RefreshStoreError, Rotation, SessionQuery, StoredFamily, StoredToken,
    Successor,
};

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

/// The memory refresh store whose rotations are all refused, leaving the family as it was: a
/// refusal no concurrent use explains (the DynamoDB adapter's compare-and-swap cannot give one).
struct RefusingRotations(Arc<MemoryRefresh>);

#[async_trait::async_trait]
impl RefreshStore for RefusingRotations {
    async fn create_family(&self, family: &NewFamily) -> Result<(), RefreshStoreError> {
        self.0.create_family(family).await
    }
    async fn token_record(&self, hash: &str) -> Result<Option<StoredToken>, RefreshStoreError> {
        self.0.token_record(hash).await
    }
    async fn rotate(
        &self,
        _: &StoredToken,
        _: &Successor,
        _: u64,
    ) -> Result<Rotation, RefreshStoreError> {
        Ok(Rotation::Refused)
    }
    async fn revoke_family(&self, family_id: &str, now: u64) -> Result<(), RefreshStoreError> {
        self.0.revoke_family(family_id, now).await
    }
    async fn get_family(&self, id: &str) -> Result<Option<StoredFamily>, RefreshStoreError> {
        self.0.get_family(id).await
    }
    async fn list_sessions(
        &self,
        query: &SessionQuery,
    ) -> Result<Vec<StoredFamily>, RefreshStoreError> {
        self.0.list_sessions(query).await
    }
}

/// A refused rotation whose family still names the presented token is answered `503`, never
/// taken for reuse: nothing is revoked, and the same token refreshes once the store rotates.
#[tokio::test]
async fn a_rotation_refused_with_its_family_unchanged_is_503_and_revokes_nothing() {
    let mut f = fixture().await;
    let first = login(&f, None).await;
    let token = first.refresh_token.as_ref().unwrap();
    let working = f.service.refresh.clone();
    f.service.refresh = Arc::new(RefusingRotations(f.refresh.clone()));
    let refused = refresh(&f, APP, token, None).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::TemporarilyUnavailable);
    let family = f.refresh.families.lock().unwrap().values().next().cloned();
    assert!(family.is_some_and(|fam| !fam.revoked), "nothing revoked");
    f.service.refresh = working;
    let next = refresh(&f, APP, token, None).await.unwrap();
    assert_ne!(next.refresh_token.as_ref(), Some(token));
}
