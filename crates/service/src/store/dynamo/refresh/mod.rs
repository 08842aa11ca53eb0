//! Refresh-token families and tokens in DynamoDB; rotation and family revocation are
//! conditional writes and transactions, never read-then-write. The items and their keys are
//! `items`; the sessions index (listing, and indexing families written before it) is `sessions`.

mod codes;
mod items;
mod legacy;
mod rollback;
mod rotation;
mod sessions;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;

pub use codes::code_key;
use items::{
    FamilyItem, IndexEntry, SessionItem, TokenItem, client_key, client_prefix, from_item,
    subject_key, to_item, user_key,
};
pub use items::{family_key, token_key};
pub use legacy::legacy_key;
pub use sessions::Indexed;

use super::{Item, condition_failed, n, s, write_failed};
use crate::refresh::{
    NewFamily, RefreshStore, RefreshStoreError, Rotation, SessionQuery, StoredFamily, StoredToken,
    Successor,
};

/// Refresh-token families and tokens, in one table keyed by `pk`:
/// `family#<id>` holds the family's state, the hash of its one live token and the token its
/// latest rotation retired; `token#<sha256>` holds what the token stands for, written once.
/// Both expire through TTL (`expires_at`).
/// The `session#<id>` and `usersession#<id>` companions (and families written before them)
/// alone carry `session_pk`/`session_sk`, the keys of the sparse index that finds a user's or a
/// client's sessions without a scan; a family item written now carries none, so its rotations
/// and revocation write no index entry.
#[derive(Debug, Clone)]
pub struct DynamoRefreshStore {
    client: Client,
    table: String,
}

impl DynamoRefreshStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One item by key, strongly consistent: a token just rotated must read as rotated.
    async fn get(&self, pk: String) -> Result<Option<Item>, RefreshStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| RefreshStoreError::Unavailable(e.into()))?;
        Ok(out.item)
    }

    /// Puts `item` unless an item has its key: `Ok(false)` then. A failure whose answer was
    /// lost is `OutcomeUnknown` ([`write_failed`]).
    async fn put_if_absent(&self, item: Item) -> Result<bool, RefreshStoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(write_failed(e)),
        }
    }

    /// A put of a new item, whose key (random) no item may have.
    async fn put_new(&self, item: Item) -> Result<(), RefreshStoreError> {
        if self.put_if_absent(item).await? {
            Ok(())
        } else {
            Err(RefreshStoreError::Unavailable(
                "an item with this key exists".into(),
            ))
        }
    }
}

#[async_trait]
impl RefreshStore for DynamoRefreshStore {
    /// A sign-in's items, each its own conditional put, all at once. No transaction (2 write
    /// units an item): a sign-in whose puts did not all land answers `503`, so its tokens
    /// reached nobody, and what landed is an orphan session, as a lost answer leaves one
    /// (docs/decisions.md), until its TTL. Companions without their family list nothing.
    async fn create_family(&self, f: &NewFamily) -> Result<(), RefreshStoreError> {
        let malformed = RefreshStoreError::Malformed;
        let family = to_item(&FamilyItem::new(f)).map_err(malformed)?;
        let by_client = to_item(&SessionItem::client_of(f)).map_err(malformed)?;
        let by_user = to_item(&SessionItem::by_user(f)).map_err(malformed)?;
        // A family that holds its tokens has no record per token (`in_family`).
        let token = match f.tag_hash {
            None => Some(to_item(&TokenItem::new(&f.first_token())).map_err(malformed)?),
            Some(_) => None,
        };
        let token = async {
            match token {
                Some(item) => self.put_new(item).await,
                None => Ok(()),
            }
        };
        let (family, by_client, by_user, token) = tokio::join!(
            self.put_new(family),
            self.put_new(by_client),
            self.put_new(by_user),
            token
        );
        family.and(by_client).and(by_user).and(token)
    }

    async fn token_record(
        &self,
        token_hash: &str,
    ) -> Result<Option<StoredToken>, RefreshStoreError> {
        let item = self.get(token_key(token_hash)).await?;
        item.map(|i| {
            from_item::<TokenItem>(i)
                .and_then(TokenItem::token)
                .map_err(RefreshStoreError::Malformed)
        })
        .transpose()
    }

    async fn rotate(
        &self,
        old: &StoredToken,
        new: &Successor,
        now: u64,
    ) -> Result<Rotation, RefreshStoreError> {
        self.rotate_on_family(old, new, now).await
    }

    async fn revoke_family(&self, family_id: &str, now: u64) -> Result<(), RefreshStoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(family_key(family_id)))
            .update_expression(
                "SET #status = :revoked, revoked_at = if_not_exists(revoked_at, :now)",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":revoked", s("revoked"))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(RefreshStoreError::Unavailable(e.into())),
        }
    }

    async fn get_family(&self, family_id: &str) -> Result<Option<StoredFamily>, RefreshStoreError> {
        let item = self.get(family_key(family_id)).await?;
        item.map(family_from_item).transpose()
    }

    async fn list_sessions(
        &self,
        query: &SessionQuery,
    ) -> Result<Vec<StoredFamily>, RefreshStoreError> {
        match query {
            SessionQuery::Subject { sub, client_id } => {
                // Families written before the companions are in the index themselves (by
                // `sub#`); newer ones through their `usersession#` companion (by `user#`).
                let prefix = client_id.as_deref().map(client_prefix);
                let mut items = self
                    .query_sessions(&subject_key(sub), prefix.clone())
                    .await?;
                items.extend(self.query_sessions(&user_key(sub), prefix).await?);
                let mut found = Vec::new();
                let mut ids = Vec::new();
                for item in items {
                    match IndexEntry::read(item).map_err(RefreshStoreError::Malformed)? {
                        IndexEntry::Family(f) => {
                            found.push(f.family().map_err(RefreshStoreError::Malformed)?)
                        }
                        IndexEntry::Companion(id) => ids.push(id),
                    }
                }
                // A family given its own keys before a rollback (`index-sessions
                // --before-rollback`) has both entries: listed once.
                ids.sort();
                ids.dedup();
                ids.retain(|id| !found.iter().any(|f| &f.family_id == id));
                found.extend(self.families(&ids).await?);
                Ok(found)
            }
            SessionQuery::Client { client_id } => {
                let items = self.query_sessions(&client_key(client_id), None).await?;
                let ids = items
                    .into_iter()
                    .map(|i| from_item::<SessionItem>(i).map(|s| s.family_id))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(RefreshStoreError::Malformed)?;
                self.families(&ids).await
            }
        }
    }
}

/// A stored family item as the domain's record.
fn family_from_item(item: Item) -> Result<StoredFamily, RefreshStoreError> {
    from_item::<FamilyItem>(item)
        .and_then(FamilyItem::family)
        .map_err(RefreshStoreError::Malformed)
}

impl DynamoRefreshStore {
    /// Sends a transaction whose conditions another write may have met first: `Ok(false)` when
    /// it was refused for that ([`lost_the_race`]); a failure whose answer was lost is
    /// `OutcomeUnknown` ([`write_failed`]), so the caller may send it again.
    async fn send_transaction(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<bool, RefreshStoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if lost_the_race(&e) => Ok(false),
            Err(e) => Err(write_failed(e)),
        }
    }
}

/// Whether a transaction was cancelled because a condition failed or another transaction held
/// the same items (as opposed to DynamoDB being unavailable).
fn lost_the_race<R>(e: &SdkError<TransactWriteItemsError, R>) -> bool {
    let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error()
    else {
        return false;
    };
    c.cancellation_reasons().iter().any(|r| {
        matches!(
            r.code(),
            Some("ConditionalCheckFailed") | Some("TransactionConflict")
        )
    })
}
