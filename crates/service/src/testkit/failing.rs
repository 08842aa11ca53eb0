//! A wrapper around any adapter that fails the calls a test names, to prove what each store
//! failure turns into (a 503, or a logged and ignored error), or loses their answers (the call
//! is applied, then reported as unanswered). Tests only.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::client::{Client, ClientStore, ClientStoreError, ClientUpdate};
use crate::lockout::{LockoutPolicy, LockoutStore, LockoutStoreError, Reservation};
use crate::refresh::{
    NewFamily, RefreshStore, RefreshStoreError, Rotation, SessionQuery, StoredFamily, StoredToken,
    Successor,
};

/// `inner`, except that each method named by [`Failing::fail`] returns the store's
/// "unavailable" error until [`Failing::heal`]. Counts the calls that failed.
#[derive(Debug, Default)]
pub struct Failing<T> {
    pub inner: T,
    failing: Mutex<HashSet<&'static str>>,
    failed: Mutex<Vec<&'static str>>,
    /// Calls whose answers are lost, and how many more of them.
    losing: Mutex<HashMap<&'static str, u32>>,
}

impl<T> Failing<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            failing: Mutex::default(),
            failed: Mutex::default(),
            losing: Mutex::default(),
        }
    }
    /// The next `n` calls to `method` are applied by `inner`, and then answered as if no answer
    /// came back (a timeout after the write had landed).
    pub fn lose_answers(&self, method: &'static str, n: u32) {
        lock(&self.losing).insert(method, n);
    }
    /// Whether this call's answer is lost (then counts it down).
    fn lost(&self, method: &'static str) -> Result<(), Lost> {
        let mut losing = lock(&self.losing);
        match losing.get_mut(method) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(Lost(method))
            }
            _ => Ok(()),
        }
    }
    /// From now on, calls to `method` fail.
    pub fn fail(&self, method: &'static str) {
        lock(&self.failing).insert(method);
    }
    /// Every method works again.
    pub fn heal(&self) {
        lock(&self.failing).clear();
    }
    /// The methods whose calls failed, in order.
    pub fn failed(&self) -> Vec<&'static str> {
        lock(&self.failed).clone()
    }
    fn check(&self, method: &'static str) -> Result<(), Injected> {
        if lock(&self.failing).contains(method) {
            lock(&self.failed).push(method);
            return Err(Injected(method));
        }
        Ok(())
    }
}

/// The error a failing call returns, inside each store's own error type.
#[derive(Debug, thiserror::Error)]
#[error("injected failure of {0}")]
pub struct Injected(pub &'static str);

/// The error of a call whose answer was lost after it was applied.
#[derive(Debug, thiserror::Error)]
#[error("injected lost answer of {0}")]
pub struct Lost(pub &'static str);

impl From<Lost> for RefreshStoreError {
    fn from(e: Lost) -> Self {
        Self::OutcomeUnknown(Box::new(e))
    }
}

impl From<Injected> for RefreshStoreError {
    fn from(e: Injected) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<Injected> for LockoutStoreError {
    fn from(e: Injected) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<Injected> for ClientStoreError {
    fn from(e: Injected) -> Self {
        Self::Unavailable(Box::new(e))
    }
}

#[async_trait]
impl<T: RefreshStore> RefreshStore for Failing<T> {
    async fn create_family(&self, f: &NewFamily) -> Result<(), RefreshStoreError> {
        self.check("create_family")?;
        self.inner.create_family(f).await
    }
    async fn get_token(&self, hash: &str) -> Result<Option<StoredToken>, RefreshStoreError> {
        self.check("get_token")?;
        self.inner.get_token(hash).await
    }
    async fn rotate(
        &self,
        old: &StoredToken,
        new: &Successor,
        now: u64,
    ) -> Result<Rotation, RefreshStoreError> {
        self.check("rotate")?;
        let rotation = self.inner.rotate(old, new, now).await?;
        self.lost("rotate")?;
        Ok(rotation)
    }
    async fn revoke_family(&self, id: &str, now: u64) -> Result<(), RefreshStoreError> {
        self.check("revoke_family")?;
        self.inner.revoke_family(id, now).await
    }
    async fn get_family(&self, id: &str) -> Result<Option<StoredFamily>, RefreshStoreError> {
        self.check("get_family")?;
        self.inner.get_family(id).await
    }
    async fn list_sessions(
        &self,
        query: &SessionQuery,
    ) -> Result<Vec<StoredFamily>, RefreshStoreError> {
        self.check("list_sessions")?;
        self.inner.list_sessions(query).await
    }
}

#[async_trait]
impl<T: LockoutStore> LockoutStore for Failing<T> {
    async fn reserve(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Reservation, LockoutStoreError> {
        self.check("reserve")?;
        self.inner.reserve(key, now, p).await
    }
    async fn record_failure(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Option<u64>, LockoutStoreError> {
        self.check("record_failure")?;
        self.inner.record_failure(key, now, p).await
    }
    async fn release(&self, key: &str) -> Result<(), LockoutStoreError> {
        self.check("release")?;
        self.inner.release(key).await
    }
    async fn locked_until(&self, key: &str, now: u64) -> Result<Option<u64>, LockoutStoreError> {
        self.check("locked_until")?;
        self.inner.locked_until(key, now).await
    }
    async fn reset(&self, key: &str) -> Result<(), LockoutStoreError> {
        self.check("reset")?;
        self.inner.reset(key).await
    }
}

#[async_trait]
impl<T: ClientStore> ClientStore for Failing<T> {
    async fn get(&self, id: &str) -> Result<Option<Client>, ClientStoreError> {
        self.check("get")?;
        self.inner.get(id).await
    }
    async fn create(&self, client: &Client) -> Result<(), ClientStoreError> {
        self.check("create")?;
        self.inner.create(client).await
    }
    async fn list(&self) -> Result<Vec<Client>, ClientStoreError> {
        self.check("list")?;
        self.inner.list().await
    }
    async fn update(&self, id: &str, update: &ClientUpdate) -> Result<Client, ClientStoreError> {
        self.check("update")?;
        self.inner.update(id, update).await
    }
    async fn delete(&self, id: &str) -> Result<(), ClientStoreError> {
        self.check("delete")?;
        self.inner.delete(id).await
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
