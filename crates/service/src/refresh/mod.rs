//! Refresh tokens: opaque random strings whose SHA-256 is the only thing stored.
//!
//! Every password grant starts a *family*: the chain of refresh tokens that descend from it.
//! The family record holds the hash of the one live token, so rotation (swap the live hash,
//! conditionally) and reuse detection (a retired token names its family, which is then revoked)
//! are single conditional writes, never read-then-write.

pub mod grace;
pub mod in_family;
mod retired;
mod store;

pub use in_family::{LiveToken, TokenRef};
pub use retired::RetiredToken;
pub use store::{RefreshStore, RefreshStoreError, Rotation};

use serde_json::{Map, Value};
use tollgate_oauth::error::OAuthError;
use tollgate_oauth::scope::Scopes;

use crate::client::Client;

/// What a refresh token stands for: enough to issue the same access token again.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshGrant {
    pub client_id: String,
    pub sub: String,
    pub scope: Scopes,
    /// The user details the auth endpoint returned, already filtered by the allow-list.
    pub details: Map<String, Value>,
    /// When the user last proved their password (RFC 9068 `auth_time`).
    pub auth_time: u64,
}

/// A new family with its first token, written atomically.
#[derive(Debug, Clone)]
pub struct NewFamily {
    pub family_id: String,
    pub token_hash: String,
    pub grant: RefreshGrant,
    pub issued_at: u64,
    pub token_expires_at: u64,
    pub family_expires_at: u64,
    /// When the access token issued with it expires (the family's `access_until`).
    pub access_expires_at: u64,
    /// The hash of the family's tag when the family holds its tokens (every family started
    /// now: `in_family`); `None` writes the first token's own record, the shape of families
    /// started before, which the adapters' tests still write.
    pub tag_hash: Option<String>,
}

impl NewFamily {
    /// The family's first token as stored: active, nothing rotated yet. Both adapters store
    /// exactly this.
    pub fn first_token(&self) -> StoredToken {
        StoredToken {
            token_hash: self.token_hash.clone(),
            family_id: self.family_id.clone(),
            grant: self.grant.clone(),
            status: TokenStatus::Active,
            issued_at: self.issued_at,
            expires_at: self.token_expires_at,
            family_expires_at: self.family_expires_at,
            rotated_at: None,
            sealed_successor: None,
            successor_hash: None,
            unconfirmed: false,
            in_family: self.tag_hash.is_some(),
        }
    }

    /// What the family records of its first token, when it holds its tokens.
    pub fn live(&self) -> Option<LiveToken> {
        Some(LiveToken {
            tag_hash: self.tag_hash.clone()?,
            grant: self.grant.clone(),
            issued_at: self.issued_at,
            expires_at: self.token_expires_at,
        })
    }
}

/// A refresh token as stored, found by its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredToken {
    pub token_hash: String,
    pub family_id: String,
    pub grant: RefreshGrant,
    pub status: TokenStatus,
    pub issued_at: u64,
    pub expires_at: u64,
    pub family_expires_at: u64,
    /// When a rotation retired it (`None` while it is active).
    pub rotated_at: Option<u64>,
    /// Its successor, sealed under this token (`crate::refresh::grace`): written by the rotation that
    /// retired it when the client's reuse grace window is on, or when that rotation's answer was
    /// lost, so a retry within the window gets the same successor back. `None` otherwise.
    pub sealed_successor: Option<String>,
    /// The hash of the successor the rotation that retired it wrote: what makes that rotation's
    /// write idempotent (sent again, it finds its own work done and succeeds).
    pub successor_hash: Option<String>,
    /// The rotation that retired it was not confirmed to the client: its answer was lost (a
    /// timeout, a dropped connection) and the client was told `503`. A retry within
    /// `lost_answer_window` then gets the same successor (`crate::refresh::grace`).
    pub unconfirmed: bool,
    /// Recorded on its family, not in a record of its own ([`in_family`]): its rotation is
    /// one write, of the family.
    pub in_family: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// The family's live token, unless the family was revoked.
    Active,
    /// Used once and replaced by its successor; presenting it again is reuse.
    Rotated,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Rotated => "rotated",
        }
    }
}

/// Why a stored refresh token cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Issued to another client.
    OtherClient,
    /// Older than its client's record: a client deleted and created again under the same id
    /// must not inherit the old client's sessions.
    OlderThanClient,
    /// Its session was revoked (`/revoke`, an operator, reuse detected earlier, the user gone):
    /// refused quietly, not reuse.
    FamilyRevoked,
    /// Its session ended: past the family's absolute lifetime, or the family is gone.
    FamilyExpired,
    /// Retired by a rotation already: presenting it again is reuse.
    Reused,
    /// Past its own expiry.
    Expired,
}

impl Unusable {
    /// The cause a refusal is logged with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OtherClient => "other_client",
            Self::OlderThanClient => "older_than_client",
            Self::FamilyRevoked => "family_revoked",
            Self::FamilyExpired => "family_expired",
            Self::Reused => "reused",
            Self::Expired => "expired",
        }
    }
}

impl StoredToken {
    /// Whether `client` may use this token of `family` (as read now; `None` when it is gone) at
    /// `now`. Ownership is checked first, so another client learns nothing about a token's
    /// state; then the session, so a token of a session that ended is refused for that reason
    /// and never mistaken for reuse (a logout is not a theft).
    pub fn usable_by(
        &self,
        client: &Client,
        family: Option<&StoredFamily>,
        now: u64,
    ) -> Result<(), Unusable> {
        if self.grant.client_id != client.client_id {
            return Err(Unusable::OtherClient);
        }
        if self.grant.auth_time < client.created_at {
            return Err(Unusable::OlderThanClient);
        }
        let Some(family) = family else {
            return Err(Unusable::FamilyExpired);
        };
        if family.revoked {
            return Err(Unusable::FamilyRevoked);
        }
        if now >= family.expires_at || now >= self.family_expires_at {
            return Err(Unusable::FamilyExpired);
        }
        if self.status == TokenStatus::Rotated {
            return Err(Unusable::Reused);
        }
        if now >= self.expires_at {
            return Err(Unusable::Expired);
        }
        Ok(())
    }

    /// When a successor issued at `now` expires: its own lifetime, never past the family's end.
    pub fn successor_expires_at(&self, now: u64, refresh_token_ttl: u64) -> u64 {
        now.saturating_add(refresh_token_ttl)
            .min(self.family_expires_at)
    }
}

impl RefreshGrant {
    /// The scope of a refreshed access token: it may narrow, never widen, and never exceed what
    /// the client is allowed today. The successor refresh token keeps the original scope (§6).
    pub fn refreshed_scope(
        &self,
        client: &Client,
        asked: Option<&str>,
    ) -> Result<Scopes, OAuthError> {
        let Some(raw) = asked else {
            return Ok(self.scope.intersection(&client.allowed_scopes));
        };
        let asked = Scopes::parse(raw)?;
        if asked.is_empty()
            || !asked.is_subset_of(&self.scope)
            || !asked.is_subset_of(&client.allowed_scopes)
        {
            return Err(OAuthError::invalid_scope(
                "the requested scope exceeds the scope originally granted",
            ));
        }
        Ok(asked)
    }
}

/// A family as stored. A family is a *session*: its id is the session id (`sid`) every access
/// token issued from it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFamily {
    pub family_id: String,
    pub client_id: String,
    pub sub: String,
    pub revoked: bool,
    /// Hash of the one token that may still be used.
    pub current_token: String,
    /// When the user signed in (the family's first token).
    pub created_at: u64,
    /// When the family last rotated; `None` until its first refresh.
    pub refreshed_at: Option<u64>,
    /// When the newest access token issued in the session expires (the latest of them all):
    /// what a revocation entry for the session must outlive. `None` for a family written
    /// before it was recorded (`StoredFamily::access_tokens_until` then assumes the longest).
    pub access_until: Option<u64>,
    pub expires_at: u64,
    /// The token its latest rotation retired (`retired`); `None` before its first rotation,
    /// and on families last rotated before retirements were recorded here.
    pub retired: Option<RetiredToken>,
    /// What the live token stands for, when the family holds its tokens ([`in_family`]);
    /// `None` on families started before, whose tokens have records of their own.
    pub live: Option<LiveToken>,
}

impl StoredFamily {
    /// Whether the session still stands at `now`: not revoked and within its absolute lifetime.
    pub fn active_at(&self, now: u64) -> bool {
        !self.revoked && now < self.expires_at
    }
}

/// Which sessions an operator means: a user's (optionally only with one client), or every
/// session of one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionQuery {
    Subject {
        sub: String,
        client_id: Option<String>,
    },
    Client {
        client_id: String,
    },
}

impl SessionQuery {
    /// Whether `f` is one of the sessions this query names.
    pub fn matches(&self, f: &StoredFamily) -> bool {
        match self {
            Self::Subject { sub, client_id } => {
                f.sub == *sub && client_id.as_ref().is_none_or(|c| f.client_id == *c)
            }
            Self::Client { client_id } => f.client_id == *client_id,
        }
    }
}

/// The successor written by a rotation.
#[derive(Debug, Clone)]
pub struct Successor {
    pub token_hash: String,
    pub issued_at: u64,
    pub expires_at: u64,
    /// The user details the successor carries: the old token's, or fresher ones from the
    /// user-status endpoint (already filtered by the allow-list).
    pub details: Map<String, Value>,
    /// The successor sealed under the old token, stored on the old token's record when the
    /// client's reuse grace window is on, or when the rotation is sent again after its answer
    /// was lost (`crate::refresh::grace`).
    pub sealed: Option<String>,
    /// Written again after its first write's outcome was lost: marks the old token's rotation
    /// unconfirmed ([`StoredToken::unconfirmed`]).
    pub unconfirmed: bool,
    /// The family's `access_until` after this rotation: the latest of its access tokens'
    /// expiries, the one issued with this rotation included.
    pub access_until: u64,
}

impl Successor {
    /// The successor's record: what the old token stood for, with the successor's own hash,
    /// lifetime and details. Both adapters store exactly this.
    pub fn record(&self, old: &StoredToken) -> StoredToken {
        let mut grant = old.grant.clone();
        grant.details.clone_from(&self.details);
        StoredToken {
            token_hash: self.token_hash.clone(),
            family_id: old.family_id.clone(),
            grant,
            status: TokenStatus::Active,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            family_expires_at: old.family_expires_at,
            rotated_at: None,
            sealed_successor: None,
            successor_hash: None,
            unconfirmed: false,
            in_family: old.in_family,
        }
    }
}
