//! Login-failure counters in DynamoDB: reservations and failures are conditional updates.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use serde::Deserialize;

use super::{Item, condition_failed, n, s};
use crate::lockout::{LockoutPolicy, LockoutStore, LockoutStoreError, Reservation};

/// Login-failure counters keyed by `pk` (a hash of the canonical username): `attempts`
/// reserved and `failures` counted in the window that opened at `window_start`, and
/// `locked_until` (see [`CounterItem`]).
#[derive(Debug, Clone)]
pub struct DynamoLockoutStore {
    client: Client,
    table: String,
}

impl DynamoLockoutStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// A counter item as stored (what the conditional updates return): every attribute a number,
/// each present once a write has set it. Times are seconds since the epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CounterItem {
    /// Attempts reserved in the window (failed, or still being checked).
    #[serde(default)]
    pub attempts: Option<u64>,
    /// Wrong passwords counted in the window.
    #[serde(default)]
    pub failures: Option<u64>,
    #[serde(default)]
    pub window_start: Option<u64>,
    #[serde(default)]
    pub locked_until: Option<u64>,
    /// When DynamoDB's TTL may delete the item.
    #[serde(default)]
    pub expires_at: Option<u64>,
}

impl CounterItem {
    /// The counter in `item`; one that cannot be read counts as empty, as an absent one does (a
    /// reservation or failure still holds the limit: see `record_failure`).
    fn read(item: Item) -> Self {
        serde_dynamo::from_item(item).unwrap_or_default()
    }
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> LockoutStoreError {
    LockoutStoreError::Unavailable(Box::new(e))
}

impl DynamoLockoutStore {
    /// The counter stored under `key`, as it is (for the helpdesk's `lockout show`; the grant
    /// relies on the conditional writes alone). `None` when there is none.
    pub async fn counter(&self, key: &str) -> Result<Option<CounterItem>, LockoutStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item.map(CounterItem::read))
    }

    /// One conditional update; the item as written, or `None` when its condition did not hold.
    async fn conditional(
        &self,
        key: &str,
        update: &str,
        condition: &str,
        values: &[(&str, u64)],
    ) -> Result<Option<Item>, LockoutStoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression(update)
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew);
        // DynamoDB refuses values that the expressions do not use.
        for (name, v) in values {
            if update.contains(name) || condition.contains(name) {
                req = req.expression_attribute_values(*name, n(*v));
            }
        }
        match req.send().await {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn window_values(now: u64, p: &LockoutPolicy) -> [(&'static str, u64); 6] {
    [
        (":one", 1),
        (":zero", 0),
        (":now", now),
        (":cutoff", now.saturating_sub(p.window_secs)),
        (":max", u64::from(p.max_failures)),
        (
            ":exp",
            now.saturating_add(p.window_secs)
                .saturating_add(p.lockout_secs),
        ),
    ]
}

/// Count a failure in the open window.
const FAIL_IN_WINDOW: (&str, &str) = (
    "SET failures = if_not_exists(failures, :zero) + :one, expires_at = :exp",
    "window_start > :cutoff",
);
/// Count a failure as the first of a new window (its attempt's window has passed).
const FAIL_NEW_WINDOW: (&str, &str) = (
    "SET attempts = :one, failures = :one, window_start = :now, expires_at = :exp",
    "attribute_not_exists(pk) OR window_start <= :cutoff",
);

/// Take an attempt in the open window, if the key is not locked and one is left.
const RESERVE_IN_WINDOW: (&str, &str) = (
    "SET attempts = if_not_exists(attempts, :zero) + :one, expires_at = :exp",
    "window_start > :cutoff AND (attribute_not_exists(attempts) OR attempts < :max) \
     AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
);
/// Open a new window with this attempt as its first, if there is none or it has passed.
const RESERVE_NEW_WINDOW: (&str, &str) = (
    "SET attempts = :one, failures = :zero, window_start = :now, expires_at = :exp",
    "(attribute_not_exists(pk) OR window_start <= :cutoff) \
     AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
);

#[async_trait]
impl LockoutStore for DynamoLockoutStore {
    async fn reserve(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Reservation, LockoutStoreError> {
        let values = window_values(now, p);
        // Conditional writes only, never read-then-write. A new window first: a good password
        // deletes the counter, so most sign-ins find none and pay one write (a condition that
        // fails is billed as a write too). The third try covers losing the race between the
        // two (a window opened, or a counter deleted, in between); failing all three means
        // locked or used up, and only then a read tells which.
        for (update, condition) in [RESERVE_NEW_WINDOW, RESERVE_IN_WINDOW, RESERVE_NEW_WINDOW] {
            if self
                .conditional(key, update, condition, &values)
                .await?
                .is_some()
            {
                return Ok(Reservation::Granted);
            }
        }
        Ok(match self.locked_until(key, now).await? {
            Some(_) => Reservation::Locked,
            None => Reservation::Busy,
        })
    }

    async fn record_failure(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Option<u64>, LockoutStoreError> {
        let values = window_values(now, p);
        let mut failures = None;
        for (update, condition) in [FAIL_IN_WINDOW, FAIL_NEW_WINDOW, FAIL_IN_WINDOW] {
            if let Some(item) = self.conditional(key, update, condition, &values).await? {
                failures = CounterItem::read(item).failures;
                break;
            }
        }
        // Three lost races in a row: others are counting this username right now, and the
        // attempt stays reserved, so the limit holds.
        let Some(failures) = failures else {
            return Ok(None);
        };
        if failures < u64::from(p.max_failures) {
            return Ok(None);
        }
        let until = now.saturating_add(p.lockout_secs);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression(
                "SET locked_until = :until, attempts = :zero, failures = :zero, \
                 window_start = :now, expires_at = :exp",
            )
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":exp", n(until.saturating_add(p.window_secs)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(Some(until))
    }

    async fn release(&self, key: &str) -> Result<(), LockoutStoreError> {
        self.conditional(
            key,
            "SET attempts = attempts - :one",
            "attempts > :zero",
            &[(":one", 1), (":zero", 0)],
        )
        .await
        .map(|_| ())
    }

    async fn locked_until(&self, key: &str, now: u64) -> Result<Option<u64>, LockoutStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .consistent_read(true)
            .projection_expression("locked_until")
            .send()
            .await
            .map_err(unavailable)?;
        let until = out.item.and_then(|i| CounterItem::read(i).locked_until);
        Ok(until.filter(|&u| u > now))
    }

    async fn reset(&self, key: &str) -> Result<(), LockoutStoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_in_its_stored_shape_reads_and_an_unreadable_one_counts_as_empty() {
        let item = Item::from([
            ("pk".into(), s("sha256:x")),
            ("attempts".into(), n(2)),
            ("failures".into(), n(1)),
            ("window_start".into(), n(100)),
            ("locked_until".into(), n(900)),
            ("expires_at".into(), n(1_000)),
        ]);
        assert_eq!(
            CounterItem::read(item),
            CounterItem {
                attempts: Some(2),
                failures: Some(1),
                window_start: Some(100),
                locked_until: Some(900),
                expires_at: Some(1_000),
            }
        );
        let fresh = Item::from([("pk".into(), s("sha256:x")), ("attempts".into(), n(1))]);
        assert_eq!(CounterItem::read(fresh).failures, None);
        let broken = Item::from([("failures".into(), s("many"))]);
        assert_eq!(CounterItem::read(broken), CounterItem::default());
    }
}
