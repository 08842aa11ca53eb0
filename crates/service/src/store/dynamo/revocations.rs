//! The revocations table (`tollgate_revocation::entry` names its items): each entry goes on the
//! feed the authorizers poll, and a cut-off or a revoked token also under its key, which
//! `/introspect` reads. A feed write whose answer took longer than [`RESTAMP_AFTER_MS`] is
//! written again with a new time, so no entry lands further behind the time it carries than an
//! authorizer's read overlaps (`tollgate_revocation::feed::FEED_OVERLAP_MS`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::{Deserialize, Serialize};
use tollgate_revocation::entry::{FEED, KEY_ITEM_SK, attr, live_until};

use super::{BoxError, Item, condition_failed, n, s};
use crate::revocation::{Entry, Key, RevocationStore, RevocationStoreError};

/// A feed write answered later than this after the time it carries is written again.
pub const RESTAMP_AFTER_MS: u64 = 10_000;
/// Sends of one feed entry at most (each slower than [`RESTAMP_AFTER_MS`]).
const FEED_SENDS: u32 = 3;
/// Keys one BatchGetItem may ask for.
const BATCH: usize = 100;

#[derive(Debug, Clone)]
pub struct DynamoRevocationStore {
    client: Client,
    table: String,
}

impl DynamoRevocationStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// `pk` = `feed`, `sk` = `<written ms>#<key>`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct FeedItem {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cutoff: Option<u64>,
    expires_at: u64,
    live_until: String,
}

/// `pk` = the key, `sk` = `key`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct KeyItem {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cutoff: Option<u64>,
    expires_at: u64,
}

/// The `Date` of DynamoDB's answer, kept by an interceptor on the call.
#[derive(Debug, Clone, Default)]
struct ServerDate(Arc<Mutex<Option<u64>>>);

impl ServerDate {
    fn ms(&self) -> Option<u64> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "ServerDate"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let date = context
            .response()
            .headers()
            .get("date")
            .and_then(http_date_ms);
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = date;
        Ok(())
    }
}

/// An HTTP date (RFC 9110 §5.6.7, `Sun, 06 Nov 1994 08:49:37 GMT`) in milliseconds.
fn http_date_ms(date: &str) -> Option<u64> {
    let at = chrono::DateTime::parse_from_rfc2822(date).ok()?;
    u64::try_from(at.timestamp_millis()).ok()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn unavailable(e: impl Into<BoxError>) -> RevocationStoreError {
    RevocationStoreError::Unavailable(e.into())
}

impl DynamoRevocationStore {
    /// Puts `entry` on the feed, again with a new time while a put is answered too late. Late
    /// is by the local clock and by DynamoDB's (the answer's `Date`): a writer whose clock is
    /// behind DynamoDB's (an operator's machine) writes the entry again at DynamoDB's time, so
    /// the authorizers, whose clocks are Lambda's, find it after their cursor.
    async fn put_on_feed(&self, entry: &Entry) -> Result<(), RevocationStoreError> {
        let mut written = now_ms();
        for _ in 0..FEED_SENDS {
            let started = Instant::now();
            let item = FeedItem {
                pk: FEED.to_owned(),
                sk: entry.feed_sort_key(written),
                cutoff: entry.cutoff,
                expires_at: entry.expires_at,
                live_until: live_until(entry.expires_at),
            };
            let item: Item = serde_dynamo::to_item(&item)
                .map_err(|e| RevocationStoreError::Malformed(e.into()))?;
            let date = ServerDate::default();
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .customize()
                .interceptor(date.clone())
                .send()
                .await
                .map_err(unavailable)?;
            let server_ms = date.ms().unwrap_or(0);
            let slow = started.elapsed().as_millis() > u128::from(RESTAMP_AFTER_MS);
            if !slow && server_ms.saturating_sub(written) <= RESTAMP_AFTER_MS {
                return Ok(());
            }
            // The `Date` has whole seconds: a second later is never behind DynamoDB's clock.
            written = now_ms().max(server_ms.saturating_add(1_000));
        }
        Err(unavailable("every feed write was answered too late"))
    }

    /// The key item of a cut-off (only ever moved later) or of a revoked token.
    async fn put_key(&self, entry: &Entry) -> Result<(), RevocationStoreError> {
        let pk = entry.key.encode();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(pk))
            .key(attr::SK, s(KEY_ITEM_SK))
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":exp", n(entry.expires_at));
        update = match entry.cutoff {
            Some(cutoff) => update
                .update_expression("SET #cutoff = :cutoff, #exp = :exp")
                .condition_expression("attribute_not_exists(#cutoff) OR #cutoff < :cutoff")
                .expression_attribute_names("#cutoff", attr::CUTOFF)
                .expression_attribute_values(":cutoff", n(cutoff)),
            None => update.update_expression("SET #exp = :exp"),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            // A later cut-off is there already: it refuses more than this one.
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl RevocationStore for DynamoRevocationStore {
    async fn record(&self, entry: &Entry) -> Result<(), RevocationStoreError> {
        // The feed first: the authorizers refuse from it, and a failure after it is retried
        // whole (both writes are idempotent).
        self.put_on_feed(entry).await?;
        if matches!(entry.key, Key::Session(_)) {
            return Ok(());
        }
        self.put_key(entry).await
    }

    async fn find(&self, keys: &[Key]) -> Result<Vec<Entry>, RevocationStoreError> {
        let mut wanted: Vec<Item> = keys
            .iter()
            .filter(|k| !matches!(k, Key::Session(_)))
            .map(|k| {
                Item::from([
                    (attr::PK.to_owned(), s(k.encode())),
                    (attr::SK.to_owned(), s(KEY_ITEM_SK)),
                ])
            })
            .collect();
        wanted.dedup();
        let mut found = Vec::new();
        for chunk in wanted.chunks(BATCH) {
            found.extend(self.get_batch(chunk.to_vec()).await?);
        }
        Ok(found)
    }
}

impl DynamoRevocationStore {
    /// One BatchGetItem, strongly consistent, asked again for what it left unprocessed.
    async fn get_batch(&self, mut keys: Vec<Item>) -> Result<Vec<Entry>, RevocationStoreError> {
        let mut found = Vec::new();
        for _ in 0..5 {
            if keys.is_empty() {
                return Ok(found);
            }
            let ask = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ask)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                found.push(entry_of(item)?);
            }
            keys = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
        }
        Err(unavailable("keys left unprocessed"))
    }
}

fn entry_of(item: Item) -> Result<Entry, RevocationStoreError> {
    let malformed = |e: BoxError| RevocationStoreError::Malformed(e);
    let k: KeyItem = serde_dynamo::from_item(item).map_err(|e| malformed(e.into()))?;
    let key =
        Key::decode(&k.pk).ok_or_else(|| malformed(format!("{} is not a key", k.pk).into()))?;
    Ok(Entry {
        cutoff: k.cutoff.filter(|_| key.has_cutoff()),
        key,
        expires_at: k.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamodbs_date_is_read_as_its_time() {
        assert_eq!(
            http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(http_date_ms("yesterday"), None);
    }

    #[test]
    fn items_are_written_in_their_stored_shape() {
        let e = crate::revocation::client_cut_off("app", 1_700_000_000);
        let item = FeedItem {
            pk: FEED.into(),
            sk: e.feed_sort_key(1_700_000_000_123),
            cutoff: e.cutoff,
            expires_at: e.expires_at,
            live_until: live_until(e.expires_at),
        };
        let stored: Item = serde_dynamo::to_item(&item).unwrap();
        let want = Item::from([
            ("pk".into(), s("feed")),
            ("sk".into(), s("1700000000123#client#app")),
            ("cutoff".into(), n(1_700_000_000)),
            ("expires_at".into(), n(e.expires_at)),
            ("live_until".into(), s(format!("{:012}", e.expires_at))),
        ]);
        assert_eq!(stored, want);
        let key = Item::from([
            ("pk".into(), s("client#app")),
            ("sk".into(), s("key")),
            ("cutoff".into(), n(1_700_000_000)),
            ("expires_at".into(), n(e.expires_at)),
        ]);
        assert_eq!(entry_of(key).unwrap(), e);
        let stranger = Item::from([
            ("pk".into(), s("user#x")),
            ("sk".into(), s("key")),
            ("expires_at".into(), n(1)),
        ]);
        assert!(entry_of(stranger).is_err());
    }
}
