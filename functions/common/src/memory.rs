//! In-memory adapters for fast unit tests of domain rules. Every port also has a DynamoDB
//! adapter, and that one is tested against DynamoDB Local; these never stand in for it there.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::auth_endpoint::{AuthEndpointError, PasswordCheck, PasswordVerifier, VerifiedUser};
use crate::client::{Client, ClientStore, ClientStoreError, ClientUpdate};
use crate::lockout::{LockoutPolicy, LockoutStore, LockoutStoreError};
use crate::refresh::{NewFamily, RefreshStore, RefreshStoreError};
use crate::secret::Secret;

#[derive(Debug, Default)]
pub struct MemoryClients(Mutex<HashMap<String, Client>>);

#[async_trait]
impl ClientStore for MemoryClients {
    async fn get(&self, client_id: &str) -> Result<Option<Client>, ClientStoreError> {
        Ok(lock(&self.0).get(client_id).cloned())
    }
    async fn create(&self, client: &Client) -> Result<(), ClientStoreError> {
        let mut map = lock(&self.0);
        if map.contains_key(&client.client_id) {
            return Err(ClientStoreError::AlreadyExists);
        }
        map.insert(client.client_id.clone(), client.clone());
        Ok(())
    }
    async fn list(&self) -> Result<Vec<Client>, ClientStoreError> {
        let mut all: Vec<Client> = lock(&self.0).values().cloned().collect();
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(all)
    }
    async fn update(
        &self,
        client_id: &str,
        update: &ClientUpdate,
    ) -> Result<Client, ClientStoreError> {
        let mut map = lock(&self.0);
        let c = map.get_mut(client_id).ok_or(ClientStoreError::NotFound)?;
        *c = update.apply_to(c);
        Ok(c.clone())
    }
    async fn delete(&self, client_id: &str) -> Result<(), ClientStoreError> {
        lock(&self.0)
            .remove(client_id)
            .map(|_| ())
            .ok_or(ClientStoreError::NotFound)
    }
}

#[derive(Debug, Default)]
pub struct MemoryRefresh(pub Mutex<Vec<NewFamily>>);

#[async_trait]
impl RefreshStore for MemoryRefresh {
    async fn create_family(&self, family: &NewFamily) -> Result<(), RefreshStoreError> {
        lock(&self.0).push(family.clone());
        Ok(())
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counter {
    failures: u32,
    window_start: u64,
    locked_until: u64,
}

#[derive(Debug, Default)]
pub struct MemoryLockout(Mutex<HashMap<String, Counter>>);

#[async_trait]
impl LockoutStore for MemoryLockout {
    async fn locked_until(&self, key: &str, now: u64) -> Result<Option<u64>, LockoutStoreError> {
        Ok(lock(&self.0)
            .get(key)
            .map(|c| c.locked_until)
            .filter(|&u| u > now))
    }
    async fn record_failure(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Option<u64>, LockoutStoreError> {
        let mut map = lock(&self.0);
        let c = map.entry(key.to_owned()).or_default();
        if c.failures == 0 || c.window_start + p.window_secs <= now {
            *c = Counter {
                failures: 0,
                window_start: now,
                locked_until: c.locked_until,
            };
        }
        c.failures += 1;
        if c.failures >= p.max_failures {
            c.failures = 0;
            c.locked_until = now + p.lockout_secs;
            return Ok(Some(c.locked_until));
        }
        Ok(None)
    }
    async fn reset(&self, key: &str) -> Result<(), LockoutStoreError> {
        lock(&self.0).remove(key);
        Ok(())
    }
}

/// A password check from a fixed table of users; counts calls so tests can prove the
/// endpoint was not asked.
#[derive(Debug, Default)]
pub struct MemoryVerifier {
    users: HashMap<String, (String, VerifiedUser)>,
    calls: Mutex<u32>,
}

impl MemoryVerifier {
    pub fn with_user(mut self, username: &str, password: &str, user: VerifiedUser) -> Self {
        self.users
            .insert(username.to_owned(), (password.to_owned(), user));
        self
    }
    pub fn calls(&self) -> u32 {
        *lock(&self.calls)
    }
}

#[async_trait]
impl PasswordVerifier for MemoryVerifier {
    async fn verify(
        &self,
        username: &str,
        password: &Secret,
        _client_id: &str,
    ) -> Result<PasswordCheck, AuthEndpointError> {
        *lock(&self.calls) += 1;
        Ok(match self.users.get(username) {
            Some((p, user)) if p == password.expose() => PasswordCheck::Valid(user.clone()),
            _ => PasswordCheck::Invalid,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
