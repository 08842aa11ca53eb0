//! The port to where families and tokens are stored, and how its calls end.

use async_trait::async_trait;

use super::{NewFamily, SessionQuery, StoredFamily, StoredToken, Successor, TokenRef};

/// How a rotation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old token is retired and the successor is the family's one live token.
    Rotated,
    /// A condition failed: the old token was already used, the family was revoked or expired,
    /// or another use of the same token won the race. Nothing was written.
    Refused,
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshStoreError {
    /// The store refused or failed the call: nothing was written.
    #[error("failed to read or write refresh tokens")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// No answer came back (a timeout, a dropped connection, an unreadable answer): a write may
    /// or may not have been applied.
    #[error("no answer from the refresh-token store; the write may have been applied")]
    OutcomeUnknown(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("refresh token record is malformed: {0}")]
    Malformed(String),
}

#[async_trait]
pub trait RefreshStore: Send + Sync {
    /// Stores a new family and its first token: all of it, or an error (what landed of it
    /// is then an orphan no token reached).
    async fn create_family(&self, family: &NewFamily) -> Result<(), RefreshStoreError>;
    /// A token's record as written when it was issued (or retired, in the shape written before
    /// retirements moved to the family): whose it is and its family, one read. Whether it is
    /// still live is its family's to say: [`RefreshStore::get_token`].
    async fn token_record(
        &self,
        token_hash: &str,
    ) -> Result<Option<StoredToken>, RefreshStoreError>;
    /// A token found by its own record, as it stands: the record read with its family
    /// ([`StoredToken::as_of`]).
    async fn get_token(&self, token_hash: &str) -> Result<Option<StoredToken>, RefreshStoreError> {
        let by_record = TokenRef::by_record(token_hash);
        Ok(self.get_presented(&by_record).await?.map(|(t, _)| t))
    }
    /// A token as it stands, and its family as read for it (`None` when the family is gone):
    /// also whose a token is and its family, live or not (`/revoke`).
    /// A token of the current shape is one read, its family ([`StoredFamily::token`]); one
    /// issued before is two, its record and then its family.
    async fn get_presented(
        &self,
        token: &TokenRef,
    ) -> Result<Option<(StoredToken, Option<StoredFamily>)>, RefreshStoreError> {
        if let Some((family_id, tag_hash)) = &token.family {
            let Some(family) = self.get_family(family_id).await? else {
                return Ok(None);
            };
            return Ok(family
                .token(&token.token_hash, tag_hash)
                .map(|t| (t, Some(family))));
        }
        let Some(record) = self.token_record(&token.token_hash).await? else {
            return Ok(None);
        };
        let family = self.get_family(&record.family_id).await?;
        Ok(Some((record.as_of(family.as_ref()), family)))
    }
    /// On the conditions that `old`'s family is active, unexpired and names `old` as current:
    /// make `new` the family's current token, record `old` as the token it retired
    /// ([`RetiredToken`]), and store `new`, which is never the family's live token before its
    /// record is stored. A refused rotation leaves no record of `new` (the DynamoDB adapter
    /// deletes the one it wrote; one it could not delete is never live). Of concurrent
    /// rotations of one token at most one succeeds. Idempotent: the same `new` sent again after
    /// the first was applied (and before `new` was used) succeeds again, so a write whose
    /// answer was lost can be repeated.
    async fn rotate(
        &self,
        old: &StoredToken,
        new: &Successor,
        now: u64,
    ) -> Result<Rotation, RefreshStoreError>;
    /// Marks the family revoked: none of its tokens works again. Revoking twice is harmless.
    async fn revoke_family(&self, family_id: &str, now: u64) -> Result<(), RefreshStoreError>;
    /// One family (session) by id, strongly consistent: a session just revoked reads as revoked.
    async fn get_family(&self, family_id: &str) -> Result<Option<StoredFamily>, RefreshStoreError>;
    /// The sessions `query` names, revoked and expired ones included (the caller decides), in
    /// no particular order. Served by an index, never a scan; the index is eventually
    /// consistent, so a family created a moment ago may be missing.
    async fn list_sessions(
        &self,
        query: &SessionQuery,
    ) -> Result<Vec<StoredFamily>, RefreshStoreError>;
}
