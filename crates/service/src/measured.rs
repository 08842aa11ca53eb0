//! Ports wrapped so that every call to the dependency behind them is measured (a
//! `DependencyCalls`/`DependencyFailures`/`DependencyLatency` line): the token function wraps its
//! adapters once at cold start, and no adapter or rule knows. An `Err` from a port is a failure
//! of its dependency; a domain answer (a refused rotation, a wrong password) is not.

use async_trait::async_trait;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::metrics::Dependency;
use tollgate_telemetry::observe::measured;

use crate::client::{Client, ClientStore, ClientStoreError, ClientUpdate};
use crate::lockout::{LockoutPolicy, LockoutStore, LockoutStoreError, Reservation};
use crate::password::{AuthEndpointError, PasswordCheck, PasswordVerifier};
use crate::rate_limit::{RateLimitStore, RateLimitStoreError, Window};
use crate::refresh::{
    NewFamily, RefreshStore, RefreshStoreError, Rotation, SessionQuery, StoredFamily, StoredToken,
    Successor,
};
use crate::user_status::{UserDirectory, UserStatus};

/// A port whose calls are measured as calls to `dependency`.
#[derive(Debug)]
pub struct Measured<S> {
    inner: S,
    dependency: Dependency,
}

impl<S> Measured<S> {
    pub fn new(dependency: Dependency, inner: S) -> Self {
        Self { inner, dependency }
    }
}

#[async_trait]
impl<S: ClientStore> ClientStore for Measured<S> {
    async fn get(&self, client_id: &str) -> Result<Option<Client>, ClientStoreError> {
        measured(self.dependency, self.inner.get(client_id)).await
    }
    async fn create(&self, client: &Client) -> Result<(), ClientStoreError> {
        measured(self.dependency, self.inner.create(client)).await
    }
    async fn list(&self) -> Result<Vec<Client>, ClientStoreError> {
        measured(self.dependency, self.inner.list()).await
    }
    async fn update(
        &self,
        client_id: &str,
        update: &ClientUpdate,
    ) -> Result<Client, ClientStoreError> {
        measured(self.dependency, self.inner.update(client_id, update)).await
    }
    async fn delete(&self, client_id: &str) -> Result<(), ClientStoreError> {
        measured(self.dependency, self.inner.delete(client_id)).await
    }
}

#[async_trait]
impl<S: RefreshStore> RefreshStore for Measured<S> {
    async fn create_family(&self, family: &NewFamily) -> Result<(), RefreshStoreError> {
        measured(self.dependency, self.inner.create_family(family)).await
    }
    async fn get_token(&self, token_hash: &str) -> Result<Option<StoredToken>, RefreshStoreError> {
        measured(self.dependency, self.inner.get_token(token_hash)).await
    }
    async fn rotate(
        &self,
        old: &StoredToken,
        new: &Successor,
        now: u64,
    ) -> Result<Rotation, RefreshStoreError> {
        measured(self.dependency, self.inner.rotate(old, new, now)).await
    }
    async fn revoke_family(&self, family_id: &str, now: u64) -> Result<(), RefreshStoreError> {
        measured(self.dependency, self.inner.revoke_family(family_id, now)).await
    }
    async fn get_family(&self, family_id: &str) -> Result<Option<StoredFamily>, RefreshStoreError> {
        measured(self.dependency, self.inner.get_family(family_id)).await
    }
    async fn list_sessions(
        &self,
        query: &SessionQuery,
    ) -> Result<Vec<StoredFamily>, RefreshStoreError> {
        measured(self.dependency, self.inner.list_sessions(query)).await
    }
}

#[async_trait]
impl<S: LockoutStore> LockoutStore for Measured<S> {
    async fn reserve(
        &self,
        key: &str,
        now: u64,
        policy: &LockoutPolicy,
    ) -> Result<Reservation, LockoutStoreError> {
        measured(self.dependency, self.inner.reserve(key, now, policy)).await
    }
    async fn record_failure(
        &self,
        key: &str,
        now: u64,
        policy: &LockoutPolicy,
    ) -> Result<Option<u64>, LockoutStoreError> {
        measured(self.dependency, self.inner.record_failure(key, now, policy)).await
    }
    async fn release(&self, key: &str) -> Result<(), LockoutStoreError> {
        measured(self.dependency, self.inner.release(key)).await
    }
    async fn locked_until(&self, key: &str, now: u64) -> Result<Option<u64>, LockoutStoreError> {
        measured(self.dependency, self.inner.locked_until(key, now)).await
    }
    async fn reset(&self, key: &str) -> Result<(), LockoutStoreError> {
        measured(self.dependency, self.inner.reset(key)).await
    }
}

#[async_trait]
impl<S: RateLimitStore> RateLimitStore for Measured<S> {
    async fn count(&self, client_id: &str, window: Window) -> Result<u64, RateLimitStoreError> {
        measured(self.dependency, self.inner.count(client_id, window)).await
    }
}

#[async_trait]
impl<S: PasswordVerifier> PasswordVerifier for Measured<S> {
    async fn verify(
        &self,
        username: &str,
        password: &Secret,
        client_id: &str,
    ) -> Result<PasswordCheck, AuthEndpointError> {
        measured(
            self.dependency,
            self.inner.verify(username, password, client_id),
        )
        .await
    }
}

#[async_trait]
impl<S: UserDirectory> UserDirectory for Measured<S> {
    async fn status(&self, sub: &str, client_id: &str) -> Result<UserStatus, AuthEndpointError> {
        measured(self.dependency, self.inner.status(sub, client_id)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::testkit::memory::MemoryRefresh;
    use tollgate_telemetry::audit::Origin;
    use tollgate_telemetry::metrics::{Metrics, Sink, spec};
    use tollgate_telemetry::observe::{Scope, serve};

    #[tokio::test]
    async fn each_call_through_a_measured_port_writes_one_line_a_domain_answer_is_no_failure() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let scope = Scope {
            origin: Origin::default(),
            metrics: Metrics::with_sink("fn", Sink::Memory(lines.clone())),
        };
        let store = Measured::new(Dependency::DynamoDb, MemoryRefresh::default());
        serve(scope, async {
            assert!(store.get_token("no-such-token").await.unwrap().is_none());
        })
        .await;
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let p = spec::validate(&lines[0]).unwrap();
        let failures = p.iter().find(|p| p.name == "DependencyFailures").unwrap();
        assert_eq!(failures.values, [0.0]);
        assert!(
            failures
                .dimensions
                .contains(&("Dependency".into(), "dynamodb".into()))
        );
    }
}
