//! The sessions index of the refresh-token table: the sparse GSI that finds a user's or a
//! client's refresh-token families (their sessions) without a scan (its keys are `items`), and
//! the one-off that indexes families written before it.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};

use super::items::{SessionItem, family_index_keys, family_key, to_item};
use super::{DynamoRefreshStore, family_from_item};
use crate::refresh::{RefreshStoreError, StoredFamily};
use crate::store::dynamo::{BoxError, Item, condition_failed, s};
use crate::store::tables::SESSIONS;

impl DynamoRefreshStore {
    /// Every index entry under `pk` (whose sort key starts with `prefix`, when given).
    pub(super) async fn query_sessions(
        &self,
        pk: &str,
        prefix: Option<String>,
    ) -> Result<Vec<Item>, RefreshStoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(SESSIONS.name)
            .expression_attribute_values(":pk", s(pk));
        let q = match prefix {
            Some(p) => q
                .key_condition_expression("session_pk = :pk AND begins_with(session_sk, :prefix)")
                .expression_attribute_values(":prefix", s(p)),
            None => q.key_condition_expression("session_pk = :pk"),
        };
        let mut pages = q.into_paginator().items().send();
        let mut found = Vec::new();
        while let Some(item) = pages.next().await {
            found.push(item.map_err(|e| RefreshStoreError::Unavailable(e.into()))?);
        }
        Ok(found)
    }

    /// The families with these ids (those that still exist), read consistently, 100 a call.
    pub(super) async fn families(
        &self,
        ids: &[String],
    ) -> Result<Vec<StoredFamily>, RefreshStoreError> {
        let unavailable = |e: BoxError| RefreshStoreError::Unavailable(e);
        let mut found = Vec::new();
        for chunk in ids.chunks(100) {
            let keys = chunk
                .iter()
                .map(|id| Item::from([("pk".to_owned(), s(family_key(id)))]))
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| unavailable(e.into()))?,
            );
            // DynamoDB may leave keys unprocessed under load: ask again, a bounded number of times.
            for _ in 0..8 {
                let Some(request) = pending.take() else { break };
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| unavailable(e.into()))?;
                for item in out
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    found.push(family_from_item(item.clone())?);
                }
                pending = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
            }
            if pending.is_some() {
                return Err(unavailable("sessions left unread by BatchGetItem".into()));
            }
        }
        Ok(found)
    }
}

/// Sets a family's own index keys ([`own_keys`]), as families written before the companions
/// have them: the pre-index one-off and `--before-rollback` both write them so.
const SET_OWN_KEYS: &str = "SET session_pk = :spk, session_sk = :ssk";
/// Only on a family that still exists and has no index keys of its own yet.
const WITHOUT_OWN_KEYS: &str = "attribute_exists(pk) AND attribute_not_exists(session_pk)";

/// The values of [`SET_OWN_KEYS`] for `f`: by its user, sorted by client and family.
fn own_keys(f: &StoredFamily) -> HashMap<String, AttributeValue> {
    let (spk, ssk) = family_index_keys(&f.sub, &f.client_id, &f.family_id);
    HashMap::from([(":spk".to_owned(), s(spk)), (":ssk".to_owned(), s(ssk))])
}

/// What a one-off scan of the families did ([`DynamoRefreshStore::index_sessions`], and
/// `record_live_tokens_for_rollback`, whose `indexed` are the tokens it recorded).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Indexed {
    /// Families that had no index keys and now have them.
    pub indexed: u64,
    /// Families found indexed, or gone, by the time they were written (a concurrent run, or
    /// TTL).
    pub skipped: u64,
}

impl DynamoRefreshStore {
    /// Gives every refresh-token family written before the sessions index existed its index keys
    /// and its `session#` companion, so `list-sessions` and `revoke-sessions` find it. A one-off
    /// after upgrading: it scans the table (the only scan anywhere, and only from the admin
    /// CLI), and running it again finds nothing left to do. Families written with their
    /// companions (`companions`) have no keys of their own and are not touched.
    pub async fn index_sessions(&self) -> Result<Indexed, RefreshStoreError> {
        self.each_family(
            "attribute_not_exists(session_pk) AND attribute_not_exists(companions)",
            async |f| self.index_one(&f).await,
        )
        .await
    }

    /// Before rolling back to a release that finds a user's sessions only by the family items'
    /// own index entries (any release before the `usersession#` companions): gives every family
    /// written with companions the keys it would have had then, so that release finds it by
    /// user too. This release reads both entries and lists such a family once. A scan, from
    /// the admin CLI only; running it again finds nothing left to do. From then on those
    /// families' rotations write their index entry again, as before the companions.
    pub async fn index_sessions_for_rollback(&self) -> Result<Indexed, RefreshStoreError> {
        self.each_family(
            "attribute_exists(companions) AND attribute_not_exists(session_pk)",
            async |f| self.give_own_keys(&f).await,
        )
        .await
    }

    /// Scans the family items that also match `filter`, and counts what `index` says it did
    /// with each (`true`: indexed; `false`: found indexed or gone meanwhile).
    pub(super) async fn each_family(
        &self,
        filter: &str,
        mut index: impl AsyncFnMut(StoredFamily) -> Result<bool, RefreshStoreError>,
    ) -> Result<Indexed, RefreshStoreError> {
        let unavailable = |e: BoxError| RefreshStoreError::Unavailable(e);
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression(format!("begins_with(pk, :family) AND {filter}"))
            .expression_attribute_values(":family", s("family#"))
            .into_paginator()
            .items()
            .send();
        let mut done = Indexed::default();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| unavailable(e.into()))?;
            if index(family_from_item(item)?).await? {
                done.indexed += 1;
            } else {
                done.skipped += 1;
            }
        }
        Ok(done)
    }

    /// A family's own index keys, unless it has them (or is gone) by now: `false` then.
    async fn give_own_keys(&self, f: &StoredFamily) -> Result<bool, RefreshStoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(family_key(&f.family_id)))
            .update_expression(SET_OWN_KEYS)
            .condition_expression(WITHOUT_OWN_KEYS)
            .set_expression_attribute_values(Some(own_keys(f)))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(RefreshStoreError::Unavailable(e.into())),
        }
    }

    /// The index keys on the family item and its `session#` companion, in one transaction that
    /// does nothing if the family was indexed (or removed) meanwhile: `false` then. A conflict
    /// with a refresh of the same family at that moment is tried again.
    async fn index_one(&self, f: &StoredFamily) -> Result<bool, RefreshStoreError> {
        for _ in 0..5 {
            if let Some(done) = self.try_index(f).await? {
                return Ok(done);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(RefreshStoreError::Unavailable(
            "the family was busy on every try".into(),
        ))
    }

    /// One try of [`Self::index_one`]; `None` when it conflicted with another transaction.
    async fn try_index(&self, f: &StoredFamily) -> Result<Option<bool>, RefreshStoreError> {
        let unavailable = |e: BoxError| RefreshStoreError::Unavailable(e);
        let keys = Update::builder()
            .table_name(&self.table)
            .key("pk", s(family_key(&f.family_id)))
            .update_expression(SET_OWN_KEYS)
            .condition_expression(WITHOUT_OWN_KEYS)
            .set_expression_attribute_values(Some(own_keys(f)))
            .build()
            .map_err(|e| unavailable(e.into()))?;
        let session = SessionItem::by_client(&f.family_id, &f.client_id, f.expires_at);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(
                to_item(&session).map_err(RefreshStoreError::Malformed)?,
            ))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| unavailable(e.into()))?;
        let sent = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(keys).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        let e = match sent {
            Ok(_) => return Ok(Some(true)),
            Err(e) => e,
        };
        let reasons = cancellation_reasons(&e);
        if reasons.contains(&"ConditionalCheckFailed") {
            Ok(Some(false))
        } else if reasons.contains(&"TransactionConflict") {
            Ok(None)
        } else {
            Err(unavailable(e.into()))
        }
    }
}

/// The codes of a cancelled transaction's reasons (empty for any other failure).
fn cancellation_reasons<R>(e: &SdkError<TransactWriteItemsError, R>) -> Vec<&str> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .filter_map(|r| r.code())
            .collect(),
        _ => Vec::new(),
    }
}
