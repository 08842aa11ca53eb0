//! A family's `live` map: what its live token stands for, on a family that holds its tokens
//! (`crate::refresh::in_family`). The scope and the user details are stored as a `token#`
//! record stores them; a rotation sets `details`, `issued_at` and `expires_at` in place.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tollgate_oauth::scope::Scopes;

use super::{json_text, scope_text};
use crate::refresh::{LiveToken, RefreshGrant};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(in crate::store::dynamo::refresh) struct LiveItem {
    tag_hash: String,
    #[serde(with = "scope_text")]
    scope: Scopes,
    #[serde(with = "json_text")]
    details: Map<String, Value>,
    auth_time: u64,
    issued_at: u64,
    expires_at: u64,
}

impl LiveItem {
    pub(in crate::store::dynamo::refresh) fn new(l: LiveToken) -> Self {
        Self {
            tag_hash: l.tag_hash,
            scope: l.grant.scope,
            details: l.grant.details,
            auth_time: l.grant.auth_time,
            issued_at: l.issued_at,
            expires_at: l.expires_at,
        }
    }

    /// The live token of a family of `client_id` and `sub` (the family's own attributes).
    pub(in crate::store::dynamo::refresh) fn live(self, client_id: &str, sub: &str) -> LiveToken {
        LiveToken {
            tag_hash: self.tag_hash,
            grant: RefreshGrant {
                client_id: client_id.to_owned(),
                sub: sub.to_owned(),
                scope: self.scope,
                details: self.details,
                auth_time: self.auth_time,
            },
            issued_at: self.issued_at,
            expires_at: self.expires_at,
        }
    }
}
