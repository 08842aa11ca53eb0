//! Refresh-token families and tokens in DynamoDB; rotation and family revocation are
//! conditional writes and transactions, never read-then-write. The items and their keys are
//! `items`; the sessions index (listing, and indexing families written before it) is `sessions`.

mod codes;
mod items;
mod legacy;
mod sessions;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

pub use codes::code_key;
use items::{
    FamilyItem, SessionItem, TokenItem, client_key, client_prefix, from_item, subject_key, to_item,
};
pub use items::{family_key, token_key};
pub use legacy::legacy_key;
pub use sessions::Indexed;

use super::{BoxError, Item, condition_failed, n, s, write_failed};
use crate::refresh::{
    NewFamily, RefreshStore, RefreshStoreError, Rotation, SessionQuery, StoredFamily, StoredToken,
    Successor, TokenStatus,
};

/// Refresh-token families and tokens, in one table keyed by `pk`:
/// `family#<id>` holds the family's state and the hash of its one live token;
/// `token#<sha256>` holds what the token stands for. Both expire through TTL (`expires_at`).
/// Family items and their `session#<id>` companions alone carry `session_pk`/`session_sk`, the
/// keys of the sparse index that finds a user's or a client's sessions without a scan.
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
}

fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, BoxError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

#[async_trait]
impl RefreshStore for DynamoRefreshStore {
    async fn create_family(&self, f: &NewFamily) -> Result<(), RefreshStoreError> {
        let malformed = RefreshStoreError::Malformed;
        let family = to_item(&FamilyItem::new(f)).map_err(malformed)?;
        let token = to_item(&TokenItem::new(&f.first_token())).map_err(malformed)?;
        let session = SessionItem::new(&f.family_id, &f.grant.client_id, f.family_expires_at);
        let by_client = to_item(&session).map_err(malformed)?;
        let items = vec![
            put_new(&self.table, family).map_err(RefreshStoreError::Unavailable)?,
            put_new(&self.table, token).map_err(RefreshStoreError::Unavailable)?,
            put_new(&self.table, by_client).map_err(RefreshStoreError::Unavailable)?,
        ];
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| RefreshStoreError::Unavailable(e.into()))?;
        Ok(())
    }

    async fn get_token(&self, token_hash: &str) -> Result<Option<StoredToken>, RefreshStoreError> {
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
        let unavailable = |e: BoxError| RefreshStoreError::Unavailable(e);
        let retire = retire_token(&self.table, old, new, now).map_err(unavailable)?;
        let advance = advance_family(&self.table, old, new, now).map_err(unavailable)?;
        let successor = new.record(old);
        let items = vec![
            TransactWriteItem::builder().update(retire).build(),
            TransactWriteItem::builder().update(advance).build(),
            put_successor(
                &self.table,
                to_item(&TokenItem::new(&successor)).map_err(RefreshStoreError::Malformed)?,
            )
            .map_err(unavailable)?,
        ];
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Rotation::Rotated),
            // A failed condition, or a concurrent transaction on the same items, means this
            // token lost: it was used already, or is being used right now by someone else.
            Err(e) if lost_the_race(&e) => Ok(Rotation::Refused),
            Err(e) => Err(write_failed(e)),
        }
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
                let prefix = client_id.as_deref().map(client_prefix);
                let items = self.query_sessions(&subject_key(sub), prefix).await?;
                items.into_iter().map(family_from_item).collect()
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

/// Marks `old` rotated (with the sealed successor, when there is one), if it is still active, or
/// already rotated to this very successor (the same write sent again after its answer was lost).
fn retire_token(
    table: &str,
    old: &StoredToken,
    new: &Successor,
    now: u64,
) -> Result<Update, BoxError> {
    let mut set = "SET #status = :rotated, rotated_at = :now, successor_hash = :next".to_owned();
    if new.sealed.is_some() {
        set.push_str(", sealed_successor = :sealed");
    }
    if new.unconfirmed {
        set.push_str(", unconfirmed = :unconfirmed");
    }
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(token_key(&old.token_hash)))
        .update_expression(set)
        .condition_expression(
            "#status = :active OR (#status = :rotated AND successor_hash = :next)",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":rotated", s(TokenStatus::Rotated.as_str()))
        .expression_attribute_values(":active", s(TokenStatus::Active.as_str()))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":next", s(&new.token_hash));
    if let Some(sealed) = &new.sealed {
        update = update.expression_attribute_values(":sealed", s(sealed));
    }
    if new.unconfirmed {
        update = update.expression_attribute_values(":unconfirmed", AttributeValue::Bool(true));
    }
    Ok(update.build()?)
}

/// Moves the family's live token from `old` to `new`, if the family is active, unexpired and
/// still at `old` (or already at `new`: the same write sent again).
fn advance_family(
    table: &str,
    old: &StoredToken,
    new: &Successor,
    now: u64,
) -> Result<Update, BoxError> {
    Ok(Update::builder()
        .table_name(table)
        .key("pk", s(family_key(&old.family_id)))
        .update_expression(
            "SET current_token = :new, refreshed_at = :now, access_until = :access_until",
        )
        .condition_expression(
            "#status = :active AND (current_token = :old OR current_token = :new) \
             AND expires_at > :now",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":new", s(&new.token_hash))
        .expression_attribute_values(":old", s(&old.token_hash))
        .expression_attribute_values(":active", s("active"))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":access_until", n(new.access_until))
        .build()?)
}

/// Stores the successor, unless a successor of that hash exists and was used already.
fn put_successor(table: &str, item: Item) -> Result<TransactWriteItem, BoxError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk) OR #status = :active")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":active", s(TokenStatus::Active.as_str()))
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Whether the rotation transaction was cancelled because a condition failed or another
/// transaction held the same items (as opposed to DynamoDB being unavailable).
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
