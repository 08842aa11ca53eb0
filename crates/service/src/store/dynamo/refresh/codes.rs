//! Authorization codes in the refresh-token table: `code#<sha256>`, read and written through the
//! serde shape [`CodeItem`]. The exchange consumes the code and creates the session (family,
//! first token, its two companions) in one transaction whose conditions also accept the same
//! exchange sent again, so a write whose answer was lost can be repeated.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tollgate_oauth::pkce::CodeChallenge;
use tollgate_oauth::scope::Scopes;

use super::DynamoRefreshStore;
use super::items::{
    FamilyItem, Kind, SessionItem, TokenItem, from_item, json_text, scope_text, to_item,
};
use crate::code::{
    CODE_TTL, CONSUMED_CODE_MEMORY, CodeRequest, CodeStore, Exchange, ExchangeWrite, Exchanged,
    NewCode, StoredCode,
};
use crate::refresh::{NewFamily, RefreshGrant, RefreshStoreError};
use crate::store::dynamo::{BoxError, Item, n, s};

pub fn code_key(code_hash: &str) -> String {
    format!("code#{code_hash}")
}

/// `code#<sha256>`: what the code stands for; `family_id` and `exchanged_at` once it is used,
/// `unconfirmed` and `sealed_refresh` when its exchange was sent again after a lost answer.
/// `expires_at` (TTL) is a minute for the code and the memory of its use after that.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct CodeItem {
    pk: String,
    kind: Kind,
    client_id: String,
    sub: String,
    #[serde(with = "scope_text")]
    scope: Scopes,
    #[serde(with = "json_text")]
    details: Map<String, Value>,
    auth_time: u64,
    redirect_uri: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    redirect_uri_sent: bool,
    code_challenge: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    issued_at: u64,
    code_expires_at: u64,
    expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    family_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exchanged_at: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unconfirmed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed_refresh: Option<String>,
}

impl CodeItem {
    fn new(c: &NewCode) -> Self {
        let r = &c.request;
        let g = &r.grant;
        Self {
            pk: code_key(&c.code_hash),
            kind: Kind::Code,
            client_id: g.client_id.clone(),
            sub: g.sub.clone(),
            scope: g.scope.clone(),
            details: g.details.clone(),
            auth_time: g.auth_time,
            redirect_uri: r.redirect_uri.clone(),
            redirect_uri_sent: r.redirect_uri_sent,
            code_challenge: r.code_challenge.as_str().to_owned(),
            nonce: r.nonce.clone(),
            issued_at: c.issued_at,
            code_expires_at: c.expires_at(),
            expires_at: c.issued_at + CODE_TTL + CONSUMED_CODE_MEMORY,
            family_id: None,
            exchanged_at: None,
            unconfirmed: false,
            sealed_refresh: None,
        }
    }

    fn code(self) -> Result<StoredCode, String> {
        let code_hash = self
            .pk
            .strip_prefix("code#")
            .ok_or("pk is not a code key")?;
        let exchange = match (self.family_id, self.exchanged_at) {
            (Some(family_id), Some(at)) => Some(Exchanged {
                family_id,
                at,
                unconfirmed: self.unconfirmed,
                sealed_refresh: self.sealed_refresh,
            }),
            (None, None) => None,
            _ => return Err("a code's family_id and exchanged_at go together".into()),
        };
        Ok(StoredCode {
            code_hash: code_hash.to_owned(),
            request: CodeRequest {
                grant: RefreshGrant {
                    client_id: self.client_id,
                    sub: self.sub,
                    scope: self.scope,
                    details: self.details,
                    auth_time: self.auth_time,
                },
                redirect_uri: self.redirect_uri,
                redirect_uri_sent: self.redirect_uri_sent,
                code_challenge: CodeChallenge::stored(self.code_challenge),
                nonce: self.nonce,
            },
            issued_at: self.issued_at,
            expires_at: self.code_expires_at,
            exchange,
        })
    }
}

#[async_trait]
impl CodeStore for DynamoRefreshStore {
    async fn put_code(&self, code: &NewCode) -> Result<(), RefreshStoreError> {
        let item = to_item(&CodeItem::new(code)).map_err(RefreshStoreError::Malformed)?;
        self.put_new(item).await
    }

    async fn get_code(&self, code_hash: &str) -> Result<Option<StoredCode>, RefreshStoreError> {
        let item = self.get(code_key(code_hash)).await?;
        item.map(|i| {
            from_item::<CodeItem>(i)
                .and_then(CodeItem::code)
                .map_err(RefreshStoreError::Malformed)
        })
        .transpose()
    }

    async fn exchange(&self, w: &ExchangeWrite<'_>) -> Result<Exchange, RefreshStoreError> {
        let items = exchange_items(&self.table, w)?;
        // Refused: another exchange of this code is done or under way.
        Ok(match self.send_transaction(items).await? {
            true => Exchange::Done,
            false => Exchange::Refused,
        })
    }
}

pub(super) enum ItemError {
    Shape(String),
    Build(BoxError),
}

impl From<BoxError> for ItemError {
    fn from(e: BoxError) -> Self {
        Self::Build(e)
    }
}

impl From<ItemError> for RefreshStoreError {
    fn from(e: ItemError) -> Self {
        match e {
            ItemError::Shape(m) => Self::Malformed(m),
            ItemError::Build(b) => Self::Unavailable(b),
        }
    }
}

/// The exchange's five writes: the code consumed by the family (unless another family consumed
/// it), then the family, its first token and its two companions ([`new_session_puts`]).
fn exchange_items(table: &str, w: &ExchangeWrite<'_>) -> Result<Vec<TransactWriteItem>, ItemError> {
    let mut items = vec![
        TransactWriteItem::builder()
            .update(consume(table, w)?)
            .build(),
    ];
    items.extend(new_session_puts(table, w.family)?);
    Ok(items)
}

/// A new session's four puts, each new or exactly as this very write made it before (the
/// family still at its first token and active), so the transaction they are part of can be sent
/// again after a lost answer: the family, its first token, its `session#` and `usersession#`
/// companions.
pub(super) fn new_session_puts(
    table: &str,
    f: &NewFamily,
) -> Result<Vec<TransactWriteItem>, ItemError> {
    let shape = ItemError::Shape;
    let family = to_item(&FamilyItem::new(f)).map_err(shape)?;
    let by_client = to_item(&SessionItem::client_of(f)).map_err(shape)?;
    let by_user = to_item(&SessionItem::by_user(f)).map_err(shape)?;
    let active = || s("active");
    let same_family = || vec![(":family", s(&f.family_id))];
    let mut puts = vec![
        conditional_put(
            table,
            family,
            "attribute_not_exists(pk) OR (#status = :active AND current_token = :first)",
            vec![(":active", active()), (":first", s(&f.token_hash))],
        )?,
        conditional_put(
            table,
            by_client,
            "attribute_not_exists(pk) OR family_id = :family",
            same_family(),
        )?,
        conditional_put(
            table,
            by_user,
            "attribute_not_exists(pk) OR family_id = :family",
            same_family(),
        )?,
    ];
    // A family started before families held their tokens: its first token's own record.
    if f.tag_hash.is_none() {
        let token = to_item(&TokenItem::new(&f.first_token())).map_err(shape)?;
        puts.push(conditional_put(
            table,
            token,
            "attribute_not_exists(pk) OR #status = :active",
            vec![(":active", active())],
        )?);
    }
    Ok(puts)
}

/// One put of a transaction, on `condition` with `values` (`#status` names `status`).
pub(super) fn conditional_put(
    table: &str,
    item: Item,
    condition: &str,
    values: Vec<(&str, AttributeValue)>,
) -> Result<TransactWriteItem, ItemError> {
    let mut p = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    if condition.contains("#status") {
        p = p.expression_attribute_names("#status", "status");
    }
    for (k, v) in values {
        p = p.expression_attribute_values(k, v);
    }
    p.build()
        .map(|p| TransactWriteItem::builder().put(p).build())
        .map_err(|e| ItemError::Build(e.into()))
}

/// The code's update: used by this family, on the condition that it exists and is unused or
/// already used by this family; a re-send marks it unconfirmed and seals the refresh token.
fn consume(table: &str, w: &ExchangeWrite<'_>) -> Result<Update, BoxError> {
    let mut set = "SET family_id = :family, exchanged_at = :now".to_owned();
    if w.unconfirmed {
        set.push_str(", unconfirmed = :unconfirmed");
    }
    if w.sealed_refresh.is_some() {
        set.push_str(", sealed_refresh = :sealed");
    }
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(code_key(w.code_hash)))
        .update_expression(set)
        .condition_expression(
            "attribute_exists(pk) AND (attribute_not_exists(family_id) OR family_id = :family)",
        )
        .expression_attribute_values(":family", s(&w.family.family_id))
        .expression_attribute_values(":now", n(w.now));
    if w.unconfirmed {
        update = update.expression_attribute_values(":unconfirmed", AttributeValue::Bool(true));
    }
    if let Some(sealed) = &w.sealed_refresh {
        update = update.expression_attribute_values(":sealed", s(sealed));
    }
    Ok(update.build()?)
}
