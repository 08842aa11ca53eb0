//! A port that fails the calls a test names, to prove what each dependency failure turns into (a
//! 503, or a logged and ignored error), or loses their answers (the call is applied, then
//! reported as unanswered): the one port wrapper (`crate::hooked`) with the [`Faults`] hook.
//! Tests only.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Mutex;

use crate::client::ClientStoreError;
use crate::hooked::{Hook, Hooked};
use crate::lockout::LockoutStoreError;
use crate::password::AuthEndpointError;
use crate::rate_limit::RateLimitStoreError;
use crate::refresh::RefreshStoreError;

/// A port `P` whose methods named by [`Faults::fail`] return the port's "unavailable" error
/// until [`Faults::heal`], and whose methods named by [`Faults::lose_answers`] are applied, then
/// answered as if no answer came back.
pub type Failing<P> = Hooked<P, Faults>;

impl<P> Failing<P> {
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            hook: Faults::default(),
        }
    }
}

/// Which calls fail and which lose their answers; counts the calls that failed.
#[derive(Debug, Default)]
pub struct Faults {
    failing: Mutex<HashSet<&'static str>>,
    failed: Mutex<Vec<&'static str>>,
    /// Calls whose answers are lost, and how many more of them.
    losing: Mutex<HashMap<&'static str, u32>>,
}

impl Faults {
    /// The next `n` calls to `method` are applied by the port, and then answered as if no answer
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

impl<E: Injectable> Hook<E> for Faults {
    async fn around<'a, T: Send + 'a>(
        &'a self,
        method: &'static str,
        call: impl Future<Output = Result<T, E>> + Send + 'a,
    ) -> Result<T, E> {
        self.check(method).map_err(E::unavailable)?;
        let answer = call.await?;
        self.lost(method).map_err(E::outcome_unknown)?;
        Ok(answer)
    }
}

/// The error a failing call returns, inside each port's own error type.
#[derive(Debug, thiserror::Error)]
#[error("injected failure of {0}")]
pub struct Injected(pub &'static str);

/// The error of a call whose answer was lost after it was applied.
#[derive(Debug, thiserror::Error)]
#[error("injected lost answer of {0}")]
pub struct Lost(pub &'static str);

/// How a port's error says "failed, nothing done" and "no answer, maybe done".
pub trait Injectable: Send + 'static {
    fn unavailable(e: Injected) -> Self;
    /// A port that cannot tell the two apart reports a lost answer as a failure.
    fn outcome_unknown(e: Lost) -> Self;
}

impl Injectable for RefreshStoreError {
    fn unavailable(e: Injected) -> Self {
        Self::Unavailable(Box::new(e))
    }
    fn outcome_unknown(e: Lost) -> Self {
        Self::OutcomeUnknown(Box::new(e))
    }
}

impl Injectable for RateLimitStoreError {
    fn unavailable(e: Injected) -> Self {
        Self::Unavailable(Box::new(e))
    }
    fn outcome_unknown(e: Lost) -> Self {
        Self::OutcomeUnknown(Box::new(e))
    }
}

impl Injectable for LockoutStoreError {
    fn unavailable(e: Injected) -> Self {
        Self::Unavailable(Box::new(e))
    }
    fn outcome_unknown(e: Lost) -> Self {
        Self::Unavailable(Box::new(e))
    }
}

impl Injectable for ClientStoreError {
    fn unavailable(e: Injected) -> Self {
        Self::Unavailable(Box::new(e))
    }
    fn outcome_unknown(e: Lost) -> Self {
        Self::Unavailable(Box::new(e))
    }
}

impl Injectable for AuthEndpointError {
    fn unavailable(e: Injected) -> Self {
        Self::Unreachable(Box::new(e))
    }
    fn outcome_unknown(e: Lost) -> Self {
        Self::Timeout(Box::new(e))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
