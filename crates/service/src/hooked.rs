//! One forwarding wrapper over every port: [`Hooked`] is a port whose every call passes through
//! a [`Hook`]. The token function measures its adapters with it ([`Measured`]: each call a
//! `DependencyCalls`/`DependencyFailures`/`DependencyLatency` value, written with the request's
//! other calls of that dependency on one line when the request ends; wrapped once at cold
//! start, so no adapter or rule knows); tests fail or lose the calls they name with it
//! (`crate::testkit::failing`). A port's methods are forwarded here once, for every hook. The
//! code store shares the refresh-token store's errors (one table), hence its hooks.

use std::future::Future;
use std::ops::Deref;

use async_trait::async_trait;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::metrics::Dependency;
use tollgate_telemetry::observe::measured;

use crate::client::{Client, ClientStore, ClientStoreError, ClientUpdate};
use crate::code::{CodeStore, Exchange, ExchangeWrite, NewCode, StoredCode};
use crate::legacy::{LegacyAnswer, LegacyRefresh, LegacyStore, StoredMarker, TakeOver, TakenOver};
use crate::lockout::{LockoutPolicy, LockoutStore, LockoutStoreError, Reservation};
use crate::password::{AuthEndpointError, PasswordCheck, PasswordVerifier};
use crate::rate_limit::{RateLimitStore, RateLimitStoreError, Window};
use crate::refresh::{
    NewFamily, RefreshStore, RefreshStoreError, Rotation, SessionQuery, StoredFamily, StoredToken,
    Successor, TokenRef,
};
use crate::revocation::{Entry, Key, RevocationStore, RevocationStoreError};
use crate::user_status::{UserDirectory, UserStatus};

/// What runs around each call of a port whose errors are `E`.
pub trait Hook<E: Send + 'static>: Send + Sync {
    /// Runs `call`, the port's method named `method`, and answers for it.
    fn around<'a, T: Send + 'a>(
        &'a self,
        method: &'static str,
        call: impl Future<Output = Result<T, E>> + Send + 'a,
    ) -> impl Future<Output = Result<T, E>> + Send + 'a;
}

/// The port `inner` with `hook` around each of its calls. It reads as its hook (`Deref`), so a
/// test tells a failing port what to fail on the port itself.
#[derive(Debug, Default)]
pub struct Hooked<P, H> {
    pub inner: P,
    pub hook: H,
}

impl<P, H> Deref for Hooked<P, H> {
    type Target = H;
    fn deref(&self) -> &H {
        &self.hook
    }
}

/// Every call measured as a call to one dependency. An `Err` from a port is a failure of its
/// dependency; a domain answer (a refused rotation, a wrong password) is not.
#[derive(Debug, Clone, Copy)]
pub struct Measure(pub Dependency);

impl<E: Send + 'static> Hook<E> for Measure {
    fn around<'a, T: Send + 'a>(
        &'a self,
        _method: &'static str,
        call: impl Future<Output = Result<T, E>> + Send + 'a,
    ) -> impl Future<Output = Result<T, E>> + Send + 'a {
        measured(self.0, call)
    }
}

/// A port whose calls are measured as calls to a dependency.
pub type Measured<P> = Hooked<P, Measure>;

impl<P> Measured<P> {
    pub fn new(dependency: Dependency, inner: P) -> Self {
        Self {
            inner,
            hook: Measure(dependency),
        }
    }
}

#[async_trait]
impl<P: ClientStore, H: Hook<ClientStoreError>> ClientStore for Hooked<P, H> {
    async fn get(&self, client_id: &str) -> Result<Option<Client>, ClientStoreError> {
        self.hook.around("get", self.inner.get(client_id)).await
    }
    async fn create(&self, client: &Client) -> Result<(), ClientStoreError> {
        self.hook.around("create", self.inner.create(client)).await
    }
    async fn list(&self) -> Result<Vec<Client>, ClientStoreError> {
        self.hook.around("list", self.inner.list()).await
    }
    async fn update(&self, id: &str, update: &ClientUpdate) -> Result<Client, ClientStoreError> {
        self.hook
            .around("update", self.inner.update(id, update))
            .await
    }
    async fn delete(&self, client_id: &str) -> Result<(), ClientStoreError> {
        self.hook
            .around("delete", self.inner.delete(client_id))
            .await
    }
}

#[async_trait]
impl<P: RevocationStore, H: Hook<RevocationStoreError>> RevocationStore for Hooked<P, H> {
    async fn record(&self, entry: &Entry) -> Result<(), RevocationStoreError> {
        self.hook.around("record", self.inner.record(entry)).await
    }
    async fn find(&self, keys: &[Key]) -> Result<Vec<Entry>, RevocationStoreError> {
        self.hook.around("find", self.inner.find(keys)).await
    }
}

#[async_trait]
impl<P: RefreshStore, H: Hook<RefreshStoreError>> RefreshStore for Hooked<P, H> {
    async fn create_family(&self, family: &NewFamily) -> Result<(), RefreshStoreError> {
        let call = self.inner.create_family(family);
        self.hook.around("create_family", call).await
    }
    /// Hooked as `get_token`: the lookup of a presented token, through its family or its
    /// record (the inner store's reads are not hooked again).
    async fn get_presented(
        &self,
        token: &TokenRef,
    ) -> Result<Option<(StoredToken, Option<StoredFamily>)>, RefreshStoreError> {
        self.hook
            .around("get_token", self.inner.get_presented(token))
            .await
    }
    /// Hooked as `get_token`: the read every lookup of a token issued before makes first.
    async fn token_record(
        &self,
        token_hash: &str,
    ) -> Result<Option<StoredToken>, RefreshStoreError> {
        self.hook
            .around("get_token", self.inner.token_record(token_hash))
            .await
    }
    async fn rotate(
        &self,
        old: &StoredToken,
        new: &Successor,
        now: u64,
    ) -> Result<Rotation, RefreshStoreError> {
        self.hook
            .around("rotate", self.inner.rotate(old, new, now))
            .await
    }
    async fn revoke_family(&self, family_id: &str, now: u64) -> Result<(), RefreshStoreError> {
        let call = self.inner.revoke_family(family_id, now);
        self.hook.around("revoke_family", call).await
    }
    async fn get_family(&self, family_id: &str) -> Result<Option<StoredFamily>, RefreshStoreError> {
        self.hook
            .around("get_family", self.inner.get_family(family_id))
            .await
    }
    async fn list_sessions(
        &self,
        query: &SessionQuery,
    ) -> Result<Vec<StoredFamily>, RefreshStoreError> {
        let call = self.inner.list_sessions(query);
        self.hook.around("list_sessions", call).await
    }
}

#[async_trait]
impl<P: CodeStore, H: Hook<RefreshStoreError>> CodeStore for Hooked<P, H> {
    async fn put_code(&self, code: &NewCode) -> Result<(), RefreshStoreError> {
        self.hook
            .around("put_code", self.inner.put_code(code))
            .await
    }
    async fn get_code(&self, code_hash: &str) -> Result<Option<StoredCode>, RefreshStoreError> {
        let call = self.inner.get_code(code_hash);
        self.hook.around("get_code", call).await
    }
    async fn exchange(&self, write: &ExchangeWrite<'_>) -> Result<Exchange, RefreshStoreError> {
        self.hook
            .around("exchange", self.inner.exchange(write))
            .await
    }
}

#[async_trait]
impl<P: LockoutStore, H: Hook<LockoutStoreError>> LockoutStore for Hooked<P, H> {
    async fn reserve(
        &self,
        key: &str,
        now: u64,
        policy: &LockoutPolicy,
    ) -> Result<Reservation, LockoutStoreError> {
        let call = self.inner.reserve(key, now, policy);
        self.hook.around("reserve", call).await
    }
    async fn record_failure(
        &self,
        key: &str,
        now: u64,
        policy: &LockoutPolicy,
    ) -> Result<Option<u64>, LockoutStoreError> {
        let call = self.inner.record_failure(key, now, policy);
        self.hook.around("record_failure", call).await
    }
    async fn release(&self, key: &str) -> Result<(), LockoutStoreError> {
        self.hook.around("release", self.inner.release(key)).await
    }
    async fn locked_until(&self, key: &str, now: u64) -> Result<Option<u64>, LockoutStoreError> {
        let call = self.inner.locked_until(key, now);
        self.hook.around("locked_until", call).await
    }
    async fn reset(&self, key: &str) -> Result<(), LockoutStoreError> {
        self.hook.around("reset", self.inner.reset(key)).await
    }
}

#[async_trait]
impl<P: RateLimitStore, H: Hook<RateLimitStoreError>> RateLimitStore for Hooked<P, H> {
    async fn count(&self, counter: &str, window: Window) -> Result<u64, RateLimitStoreError> {
        self.hook
            .around("count", self.inner.count(counter, window))
            .await
    }
}

#[async_trait]
impl<P: PasswordVerifier, H: Hook<AuthEndpointError>> PasswordVerifier for Hooked<P, H> {
    async fn verify(
        &self,
        username: &str,
        password: &Secret,
        client_id: &str,
    ) -> Result<PasswordCheck, AuthEndpointError> {
        let call = self.inner.verify(username, password, client_id);
        self.hook.around("verify", call).await
    }
}

#[async_trait]
impl<P: UserDirectory, H: Hook<AuthEndpointError>> UserDirectory for Hooked<P, H> {
    async fn status(&self, sub: &str, client_id: &str) -> Result<UserStatus, AuthEndpointError> {
        self.hook
            .around("status", self.inner.status(sub, client_id))
            .await
    }
}

#[async_trait]
impl<P: LegacyRefresh, H: Hook<AuthEndpointError>> LegacyRefresh for Hooked<P, H> {
    async fn redeem(
        &self,
        token: &Secret,
        client_id: &str,
    ) -> Result<LegacyAnswer, AuthEndpointError> {
        let call = self.inner.redeem(token, client_id);
        self.hook.around("redeem", call).await
    }
}

#[async_trait]
impl<P: LegacyStore, H: Hook<RefreshStoreError>> LegacyStore for Hooked<P, H> {
    async fn get_marker(
        &self,
        token_hash: &str,
    ) -> Result<Option<StoredMarker>, RefreshStoreError> {
        let call = self.inner.get_marker(token_hash);
        self.hook.around("get_marker", call).await
    }
    async fn take_over(&self, write: &TakeOver<'_>) -> Result<TakenOver, RefreshStoreError> {
        self.hook
            .around("take_over", self.inner.take_over(write))
            .await
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
        let scope = Scope::new(
            Origin::default(),
            Metrics::with_sink("fn", Sink::Memory(lines.clone())),
        );
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

    #[tokio::test]
    async fn one_wrapper_fails_or_loses_the_calls_of_any_port() {
        use crate::testkit::failing::Failing;
        use crate::testkit::memory::{MemoryRateLimits, MemoryVerifier};
        let counts = Failing::new(MemoryRateLimits::default());
        let window = Window::at(120);
        counts.lose_answers("count", 1);
        let lost = counts.count("c", window).await;
        assert!(
            matches!(lost, Err(RateLimitStoreError::OutcomeUnknown(_))),
            "{lost:?}"
        );
        assert_eq!(
            counts.count("c", window).await.unwrap(),
            2,
            "the lost call was applied"
        );
        counts.fail("count");
        let failed = counts.count("c", window).await;
        assert!(
            matches!(failed, Err(RateLimitStoreError::Unavailable(_))),
            "{failed:?}"
        );
        assert_eq!(counts.failed(), ["count"]);
        counts.heal();
        assert_eq!(
            counts.count("c", window).await.unwrap(),
            3,
            "the failed call was not"
        );
        let verifier = Failing::new(MemoryVerifier::default());
        verifier.fail("verify");
        let check = verifier.verify("u", &Secret::new("p"), "c").await;
        assert!(
            matches!(check, Err(AuthEndpointError::Unreachable(_))),
            "{check:?}"
        );
        assert_eq!(
            verifier.inner.calls(),
            0,
            "a failed call never reaches the port"
        );
    }
}
