//! The refresh-token table's items, as stored: their serde shapes (read and written with
//! `serde_dynamo`) and the keys they are found by. These kinds share the table (with `code#`
//! and `legacy#` items, `codes` and `legacy`):
//!
//! - `family#<id>`: a session's state and the hash of its one live token. Families written
//!   before this release carry the sessions index keys themselves (`session_pk` = the user,
//!   `session_sk` = client and family); newer ones carry none (`companions`), so a rotation
//!   writes no index entry;
//!   A family started now holds its tokens (`live`: what its live token stands for), and its
//!   tokens have no records of their own;
//! - `token#<sha256>`: what a refresh token of a family started before stands for (its scope as
//!   one space-separated string, the user details as one JSON string);
//! - `session#<id>`: a family's companion, indexed by its client;
//! - `usersession#<id>`: a newer family's companion, indexed by its user (`user#<sha256>`,
//!   sorted by client and family as a family's own keys are).
//!
//! The companions are written once, with the family, and never change: the index entries of a
//! session cost one write each at sign-in and nothing at a refresh.
//!
//! Attribute names and types are those the hand-written mapping used, so items written before
//! read back unchanged (the tests below hold fixtures of that shape).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::hash_str;

use super::super::Item;
use crate::refresh::{
    NewFamily, RefreshGrant, RetiredToken, StoredFamily, StoredToken, TokenStatus,
};

pub fn family_key(family_id: &str) -> String {
    format!("family#{family_id}")
}

pub fn token_key(token_hash: &str) -> String {
    format!("token#{token_hash}")
}

fn session_key(family_id: &str) -> String {
    format!("session#{family_id}")
}

fn user_session_key(family_id: &str) -> String {
    format!("usersession#{family_id}")
}

/// The index key of a user's sessions: the sub's SHA-256, so a long or odd `sub` never exceeds
/// DynamoDB's key limits and no user id is an index key.
pub(super) fn subject_key(sub: &str) -> String {
    format!("sub#{}", hash_str(sub))
}

/// The index key of a user's sessions found through `usersession#` companions: the sub's SHA-256
/// as in [`subject_key`], under its own prefix, so a release that reads only family items in
/// the index never meets a companion.
pub(super) fn user_key(sub: &str) -> String {
    format!("user#{}", hash_str(sub))
}

pub(super) fn client_key(client_id: &str) -> String {
    format!("client#{client_id}")
}

/// The sort-key prefix of one client's sessions of a user (client ids hold no `#`).
pub(super) fn client_prefix(client_id: &str) -> String {
    format!("client#{client_id}#")
}

/// The index keys a family item carries (`session_pk`, `session_sk`): found by its user's
/// subject, sorted by client so one client's sessions of the user share a prefix.
pub(super) fn family_index_keys(sub: &str, client_id: &str, family_id: &str) -> (String, String) {
    (
        subject_key(sub),
        format!("{}{family_id}", client_prefix(client_id)),
    )
}

/// Which kind an item is (`code#<sha256>` items are authorization codes: `codes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Kind {
    Family,
    Token,
    Session,
    UserSession,
    Code,
    /// `legacy#<sha256>`: a legacy token's marker (`legacy`).
    Legacy,
}

/// A family's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FamilyStatus {
    Active,
    Revoked,
}

/// A token's `status`, as [`TokenStatus::as_str`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Active,
    Rotated,
}

/// `family#<id>`. Families written before the sessions index existed have no index keys until
/// `index_sessions` gives them theirs; families written since the companions (`companions`)
/// have none and need none. `refreshed_at` and `revoked_at` appear with the first rotation and
/// the revocation.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct FamilyItem {
    pk: String,
    kind: Kind,
    client_id: String,
    sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_sk: Option<String>,
    /// Found through its `session#` and `usersession#` companions, not index keys of its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    companions: bool,
    status: FamilyStatus,
    current_token: String,
    created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refreshed_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_at: Option<u64>,
    /// When the newest access token of the session expires; absent on families written
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_until: Option<u64>,
    expires_at: u64,
    /// The token the latest rotation retired; absent before the first rotation and on
    /// families last rotated before retirements were recorded on the family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retired: Option<RetiredItem>,
    /// What the live token stands for, on a family that holds its tokens (`live`); absent on
    /// families started before, whose tokens have `token#` records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    live: Option<LiveItem>,
}

/// A family's `retired` map: [`RetiredToken`] as stored.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct RetiredItem {
    token_hash: String,
    rotated_at: u64,
    successor_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed_successor: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unconfirmed: bool,
}

impl RetiredItem {
    pub(super) fn new(r: RetiredToken) -> Self {
        Self {
            token_hash: r.token_hash,
            rotated_at: r.rotated_at,
            successor_hash: r.successor_hash,
            sealed_successor: r.sealed_successor,
            unconfirmed: r.unconfirmed,
        }
    }

    fn retired(self) -> RetiredToken {
        RetiredToken {
            token_hash: self.token_hash,
            rotated_at: self.rotated_at,
            successor_hash: self.successor_hash,
            sealed_successor: self.sealed_successor,
            unconfirmed: self.unconfirmed,
        }
    }
}

/// `token#<sha256>`, written once when the token is issued. `rotated_at`, `successor_hash`,
/// `sealed_successor` and `unconfirmed` are on tokens retired before retirements moved to the
/// family (`crate::refresh::RetiredToken`): read, never written now.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct TokenItem {
    pk: String,
    kind: Kind,
    family_id: String,
    client_id: String,
    sub: String,
    #[serde(with = "scope_text")]
    scope: Scopes,
    #[serde(with = "json_text")]
    details: Map<String, Value>,
    auth_time: u64,
    status: Status,
    issued_at: u64,
    expires_at: u64,
    family_expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotated_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed_successor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    successor_hash: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unconfirmed: bool,
}

/// `session#<id>`: finds a family by its client; `usersession#<id>`: by its user (a family
/// written before the companions is in the index by its user itself). No token in either;
/// gone by TTL with the family.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct SessionItem {
    pk: String,
    kind: Kind,
    pub(super) family_id: String,
    session_pk: String,
    session_sk: String,
    expires_at: u64,
}

impl FamilyItem {
    /// A new family: in the index through its companions only.
    pub(super) fn new(f: &NewFamily) -> Self {
        let g = &f.grant;
        Self {
            pk: family_key(&f.family_id),
            kind: Kind::Family,
            client_id: g.client_id.clone(),
            sub: g.sub.clone(),
            session_pk: None,
            session_sk: None,
            companions: true,
            status: FamilyStatus::Active,
            current_token: f.token_hash.clone(),
            created_at: f.issued_at,
            refreshed_at: None,
            revoked_at: None,
            access_until: Some(f.access_expires_at),
            expires_at: f.family_expires_at,
            retired: None,
            live: f.live().map(LiveItem::new),
        }
    }

    pub(super) fn family(self) -> Result<StoredFamily, String> {
        let family_id = self
            .pk
            .strip_prefix("family#")
            .ok_or("pk is not a family key")?;
        let live = self.live.map(|l| l.live(&self.client_id, &self.sub));
        Ok(StoredFamily {
            family_id: family_id.to_owned(),
            client_id: self.client_id,
            sub: self.sub,
            revoked: self.status == FamilyStatus::Revoked,
            current_token: self.current_token,
            created_at: self.created_at,
            refreshed_at: self.refreshed_at,
            access_until: self.access_until,
            expires_at: self.expires_at,
            retired: self.retired.map(RetiredItem::retired),
            live,
        })
    }
}

impl TokenItem {
    pub(super) fn new(t: &StoredToken) -> Self {
        let g = &t.grant;
        Self {
            pk: token_key(&t.token_hash),
            kind: Kind::Token,
            family_id: t.family_id.clone(),
            client_id: g.client_id.clone(),
            sub: g.sub.clone(),
            scope: g.scope.clone(),
            details: g.details.clone(),
            auth_time: g.auth_time,
            status: match t.status {
                TokenStatus::Active => Status::Active,
                TokenStatus::Rotated => Status::Rotated,
            },
            issued_at: t.issued_at,
            expires_at: t.expires_at,
            family_expires_at: t.family_expires_at,
            rotated_at: t.rotated_at,
            sealed_successor: t.sealed_successor.clone(),
            successor_hash: t.successor_hash.clone(),
            unconfirmed: t.unconfirmed,
        }
    }

    pub(super) fn token(self) -> Result<StoredToken, String> {
        let token_hash = self
            .pk
            .strip_prefix("token#")
            .ok_or("pk is not a token key")?;
        Ok(StoredToken {
            token_hash: token_hash.to_owned(),
            family_id: self.family_id,
            grant: RefreshGrant {
                client_id: self.client_id,
                sub: self.sub,
                scope: self.scope,
                details: self.details,
                auth_time: self.auth_time,
            },
            status: match self.status {
                Status::Active => TokenStatus::Active,
                Status::Rotated => TokenStatus::Rotated,
            },
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            family_expires_at: self.family_expires_at,
            rotated_at: self.rotated_at,
            sealed_successor: self.sealed_successor,
            successor_hash: self.successor_hash,
            unconfirmed: self.unconfirmed,
            in_family: false,
        })
    }
}

impl SessionItem {
    /// The companion that finds the family by its client.
    pub(super) fn by_client(family_id: &str, client_id: &str, expires_at: u64) -> Self {
        Self {
            pk: session_key(family_id),
            kind: Kind::Session,
            family_id: family_id.to_owned(),
            session_pk: client_key(client_id),
            session_sk: family_key(family_id),
            expires_at,
        }
    }

    /// The companion that finds the family by its user, sorted by client as a family's own
    /// index keys are ([`family_index_keys`]).
    pub(super) fn by_user(f: &NewFamily) -> Self {
        let g = &f.grant;
        let (_, sort) = family_index_keys(&g.sub, &g.client_id, &f.family_id);
        Self {
            pk: user_session_key(&f.family_id),
            kind: Kind::UserSession,
            family_id: f.family_id.clone(),
            session_pk: user_key(&g.sub),
            session_sk: sort,
            expires_at: f.family_expires_at,
        }
    }

    /// The companion that finds `f` by its client.
    pub(super) fn client_of(f: &NewFamily) -> Self {
        Self::by_client(&f.family_id, &f.grant.client_id, f.family_expires_at)
    }
}

/// An item the sessions index found: a family written before the companions (its own entry),
/// or a companion naming one.
pub(super) enum IndexEntry {
    Family(Box<FamilyItem>),
    Companion(String),
}

impl IndexEntry {
    pub(super) fn read(item: Item) -> Result<Self, String> {
        match item
            .get("kind")
            .and_then(|k| k.as_s().ok())
            .map(String::as_str)
        {
            Some("family") => Ok(Self::Family(Box::new(from_item(item)?))),
            _ => Ok(Self::Companion(from_item::<SessionItem>(item)?.family_id)),
        }
    }
}

/// An item as stored.
pub(super) fn to_item<T: Serialize>(value: &T) -> Result<Item, String> {
    serde_dynamo::to_item(value).map_err(|e| format!("refresh-token item: {e}"))
}

/// A stored item; a missing or mistyped attribute is an error that names it.
pub(super) fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> Result<T, String> {
    serde_dynamo::from_item(item).map_err(|e| format!("refresh-token item: {e}"))
}

pub(super) mod json_text;
mod live;
pub(super) mod scope_text;

pub(super) use live::LiveItem;

#[cfg(test)]
mod tests;
