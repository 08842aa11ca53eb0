//! The sessions index of the refresh-token table: the sparse GSI that finds a user's or a
//! client's refresh-token families (their sessions) without a scan, and the keys it is built on.

use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::refresh::{DynamoRefreshStore, family_from_item, family_key};
use super::{BoxError, Item, s};
use crate::refresh::{RefreshStoreError, StoredFamily};
use crate::secret::hash_str;
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
                    found.push(family_from_item(item).map_err(RefreshStoreError::Malformed)?);
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

/// The index key of a user's sessions: the sub's SHA-256, so a long or odd `sub` never exceeds
/// DynamoDB's key limits and no user id is an index key.
pub(super) fn subject_key(sub: &str) -> String {
    format!("sub#{}", hash_str(sub))
}
pub(super) fn client_key(client_id: &str) -> String {
    format!("client#{client_id}")
}
/// The sort-key prefix of one client's sessions of a user (client ids hold no `#`).
pub(super) fn client_prefix(client_id: &str) -> String {
    format!("client#{client_id}#")
}
pub(super) fn session_key(family_id: &str) -> String {
    format!("session#{family_id}")
}
