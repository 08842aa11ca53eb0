//! What a release before families held their tokens needs to go on refreshing the sessions
//! begun since: each live token's own `token#` record, the only place such a release finds a
//! token (`tollgate-admin index-sessions --before-rollback`, UPGRADING.md).

use super::DynamoRefreshStore;
use super::items::{TokenItem, to_item};
use super::sessions::Indexed;
use crate::refresh::{RefreshStoreError, StoredFamily};

impl DynamoRefreshStore {
    /// Gives the live token of every active family that holds its tokens (`live`) the record
    /// an earlier release finds it by, as that release wrote one when it issued a token. A
    /// scan, from the admin CLI only. A token that has its record already (a second run, or a
    /// family the earlier release has rotated since: its successors have theirs) is skipped,
    /// and so is a revoked family. This release never reads these records (it finds such a
    /// token through its family) and DynamoDB's TTL removes each when its token expires.
    pub async fn record_live_tokens_for_rollback(&self) -> Result<Indexed, RefreshStoreError> {
        self.each_family("attribute_exists(live)", async |f| {
            self.record_live_token(&f).await
        })
        .await
    }

    /// `f`'s live token's record, unless it has one, or `f` is revoked: `false` then.
    async fn record_live_token(&self, f: &StoredFamily) -> Result<bool, RefreshStoreError> {
        let Some(token) = f.live_token().filter(|_| !f.revoked) else {
            return Ok(false);
        };
        let item = to_item(&TokenItem::new(&token)).map_err(RefreshStoreError::Malformed)?;
        self.put_if_absent(item).await
    }
}
