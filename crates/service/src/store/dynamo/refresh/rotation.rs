//! A rotation in two single-item writes, not a transaction: the successor's record, then the
//! family's compare-and-swap, which is the rotation (and records the token it retires).
//!
//! DynamoDB bills a transaction two write units per item, and the family's index entry again:
//! the three-item transaction this replaces (retire the old token, advance the family, put the
//! successor) was 8 units by the pricing rules; these two writes are 2 (the successor, the
//! family; 3 for a family written before the companions, which rewrites its own index entry).
//! A family that holds its tokens (`crate::refresh::in_family`) has no successor's record to
//! write: its rotation is the family's compare-and-swap alone, 1 unit.
//! The order keeps every guarantee:
//!
//! - Nothing is live until the family names it, and only the family's conditional update
//!   names a successor, so of concurrent rotations of one token exactly one wins.
//! - A successor written before a refused or failed compare-and-swap was never handed to
//!   anyone: it is not the family's, so it reads as retired and is never given back. Refused,
//!   it is deleted again (only when this call created it: sent again, the same successor may
//!   already be the live token).
//! - The family never names a successor whose record is not written yet, so a retry told `503`
//!   never finds its session pointing at nothing.

use aws_sdk_dynamodb::types::ReturnValue;
use tracing::warn;

use super::items::{RetiredItem, TokenItem, json_text, to_item};
use super::{DynamoRefreshStore, family_key, token_key};
use crate::refresh::{RefreshStoreError, Rotation, StoredToken, Successor, TokenStatus};
use crate::store::dynamo::{condition_failed, n, s, write_failed};

impl DynamoRefreshStore {
    pub(super) async fn rotate_on_family(
        &self,
        old: &StoredToken,
        new: &Successor,
        now: u64,
    ) -> Result<Rotation, RefreshStoreError> {
        // A family that holds its tokens has no successor's record to write: its
        // compare-and-swap is the whole rotation.
        let created = if old.in_family {
            false
        } else {
            let Some(created) = self.put_successor(old, new).await? else {
                return Ok(Rotation::Refused);
            };
            created
        };
        match self.advance_family(old, new, now).await {
            Ok(()) => Ok(Rotation::Rotated),
            Err(Advance::Refused) => {
                if created {
                    self.forget_successor(&new.token_hash).await;
                }
                Ok(Rotation::Refused)
            }
            Err(Advance::Failed(e)) => Err(e),
        }
    }

    /// Writes the successor's record, unless a token of that hash exists retired in its own
    /// record (`None`). `Some(true)` when this write created it.
    async fn put_successor(
        &self,
        old: &StoredToken,
        new: &Successor,
    ) -> Result<Option<bool>, RefreshStoreError> {
        let item =
            to_item(&TokenItem::new(&new.record(old))).map_err(RefreshStoreError::Malformed)?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s(TokenStatus::Active.as_str()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match put {
            Ok(out) => Ok(Some(out.attributes.is_none())),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(write_failed(e)),
        }
    }

    /// Moves the family's live token from `old` to `new` and records `old` as the token it
    /// retired, if the family is active, unexpired and still at `old` (or already at `new`
    /// from `old`: the same write sent again, which records the retirement again whole).
    async fn advance_family(
        &self,
        old: &StoredToken,
        new: &Successor,
        now: u64,
    ) -> Result<(), Advance> {
        let retired = serde_dynamo::to_attribute_value(RetiredItem::new(new.retiring(old, now)))
            .map_err(|e| {
                Advance::Failed(RefreshStoreError::Malformed(format!(
                    "refresh-token item: {e}"
                )))
            })?;
        let mut set = "SET current_token = :new, refreshed_at = :now, \
                       access_until = :access_until, retired = :retired"
            .to_owned();
        let mut update = self.client.update_item();
        if old.in_family {
            // The live token's record, on the family: what the successor stands for.
            set.push_str(
                ", live.details = :details, live.issued_at = :issued, live.expires_at = :expires",
            );
            let details = json_text::text(&new.details).map_err(|e| {
                Advance::Failed(RefreshStoreError::Malformed(format!("details: {e}")))
            })?;
            update = update
                .expression_attribute_values(":details", s(details))
                .expression_attribute_values(":issued", n(new.issued_at))
                .expression_attribute_values(":expires", n(new.expires_at));
        }
        let res = update
            .table_name(&self.table)
            .key("pk", s(family_key(&old.family_id)))
            .update_expression(set)
            .condition_expression(
                "#status = :active AND expires_at > :now AND (current_token = :old \
                 OR (current_token = :new AND retired.token_hash = :old))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":new", s(&new.token_hash))
            .expression_attribute_values(":old", s(&old.token_hash))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":access_until", n(new.access_until))
            .expression_attribute_values(":retired", retired)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(Advance::Refused),
            Err(e) => Err(Advance::Failed(write_failed(e))),
        }
    }

    /// Deletes a successor this rotation wrote and lost with: nobody holds it. A failure
    /// leaves a record nobody can use (not its family's live token), gone by TTL.
    async fn forget_successor(&self, token_hash: &str) {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(token_key(token_hash)))
            .send()
            .await;
        if res.is_err() {
            warn!("a refused rotation's unused successor record was not deleted; TTL removes it");
        }
    }
}

enum Advance {
    /// A condition failed: another use won, or the session ended.
    Refused,
    Failed(RefreshStoreError),
}
