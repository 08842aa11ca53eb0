//! Legacy tokens' markers in the refresh-token table: `legacy#<sha256>`, read and written
//! through the serde shape [`MarkerItem`]. The take-over writes the marker and the new session
//! (family, first token, its two companions) in one transaction whose conditions also accept the
//! same take-over sent again, so a write whose answer was lost can be repeated.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::DynamoRefreshStore;
use super::codes::{conditional_put, new_session_puts};
use super::items::{Kind, from_item, to_item};
use crate::legacy::{LegacyStore, MARKER_MEMORY, StoredMarker, TakeOver, TakenOver};
use crate::refresh::RefreshStoreError;
use crate::store::dynamo::s;

pub fn legacy_key(token_hash: &str) -> String {
    format!("legacy#{token_hash}")
}

/// `legacy#<sha256 of the legacy token>`: the session its first use started; `unconfirmed` and
/// `sealed_refresh` when that take-over was sent again after a lost answer. `expires_at` (TTL)
/// is [`MARKER_MEMORY`] after it.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct MarkerItem {
    pk: String,
    kind: Kind,
    family_id: String,
    client_id: String,
    taken_at: u64,
    expires_at: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unconfirmed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed_refresh: Option<String>,
}

impl MarkerItem {
    fn new(w: &TakeOver<'_>) -> Self {
        Self {
            pk: legacy_key(w.token_hash),
            kind: Kind::Legacy,
            family_id: w.family.family_id.clone(),
            client_id: w.family.grant.client_id.clone(),
            taken_at: w.now,
            expires_at: w.now.saturating_add(MARKER_MEMORY),
            unconfirmed: w.unconfirmed,
            sealed_refresh: w.sealed_refresh.clone(),
        }
    }

    fn marker(self) -> StoredMarker {
        StoredMarker {
            family_id: self.family_id,
            client_id: self.client_id,
            at: self.taken_at,
            unconfirmed: self.unconfirmed,
            sealed_refresh: self.sealed_refresh,
        }
    }
}

#[async_trait]
impl LegacyStore for DynamoRefreshStore {
    async fn get_marker(
        &self,
        token_hash: &str,
    ) -> Result<Option<StoredMarker>, RefreshStoreError> {
        let item = self.get(legacy_key(token_hash)).await?;
        item.map(|i| {
            from_item::<MarkerItem>(i)
                .map(MarkerItem::marker)
                .map_err(RefreshStoreError::Malformed)
        })
        .transpose()
    }

    async fn take_over(&self, w: &TakeOver<'_>) -> Result<TakenOver, RefreshStoreError> {
        let marker = to_item(&MarkerItem::new(w)).map_err(RefreshStoreError::Malformed)?;
        // The marker is new, or this very take-over's (a re-send): never another session's.
        let mut items = vec![conditional_put(
            &self.table,
            marker,
            "attribute_not_exists(pk) OR family_id = :family",
            vec![(":family", s(&w.family.family_id))],
        )?];
        items.extend(new_session_puts(&self.table, w.family)?);
        // Refused: another use of this legacy token is done or under way.
        Ok(match self.send_transaction(items).await? {
            true => TakenOver::Done,
            false => TakenOver::Refused,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    #[test]
    fn a_marker_keeps_its_shape() {
        let item = MarkerItem {
            pk: legacy_key("sha256:abc"),
            kind: Kind::Legacy,
            family_id: "f1".into(),
            client_id: "app".into(),
            taken_at: 10,
            expires_at: 10 + MARKER_MEMORY,
            unconfirmed: false,
            sealed_refresh: None,
        };
        let stored = to_item(&item).unwrap();
        assert_eq!(
            stored.get("kind"),
            Some(&AttributeValue::S("legacy".into()))
        );
        assert!(!stored.contains_key("unconfirmed") && !stored.contains_key("sealed_refresh"));
        let back: MarkerItem = from_item(stored).unwrap();
        assert_eq!(back, item);
        assert_eq!(back.marker().at, 10);
    }
}
