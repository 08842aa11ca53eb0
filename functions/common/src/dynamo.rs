//! DynamoDB adapters for the stores. The same code runs in AWS and against DynamoDB Local:
//! `AWS_ENDPOINT_URL_DYNAMODB` points the SDK at the local server.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};

use crate::client::{
    Client as OAuthClient, ClientStore, ClientStoreError, ClientUpdate, GrantType,
};
use crate::lockout::{LockoutPolicy, LockoutStore, LockoutStoreError, Reservation};
use crate::refresh::{
    NewFamily, RefreshGrant, RefreshStore, RefreshStoreError, Rotation, StoredToken, Successor,
    TokenStatus,
};
use crate::scope::Scopes;

type Item = HashMap<String, AttributeValue>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub use aws_sdk_dynamodb::Client as DynamoClient;

/// A DynamoDB client on the shared SDK configuration (`sdk::sdk_config`), built once at cold start.
pub async fn sdk_client(operation_timeout: Duration) -> Client {
    Client::new(&crate::sdk::sdk_config(operation_timeout).await)
}

/// Whether a call failed only because its condition did not hold (as opposed to a throttle,
/// a timeout or anything else that makes DynamoDB unavailable).
fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn list(items: impl IntoIterator<Item = String>) -> AttributeValue {
    AttributeValue::L(items.into_iter().map(AttributeValue::S).collect())
}

fn get_s(item: &Item, k: &str) -> Result<String, String> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| format!("{k} missing or not a string"))
}
fn get_n(item: &Item, k: &str) -> Result<Option<u64>, String> {
    match item.get(k) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("{k} is not a whole number")),
        Some(_) => Err(format!("{k} is not a number")),
    }
}
fn get_list(item: &Item, k: &str) -> Result<Vec<String>, String> {
    match item.get(k) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(l)) => l
            .iter()
            .map(|v| {
                v.as_s()
                    .cloned()
                    .map_err(|_| format!("{k} holds a non-string"))
            })
            .collect(),
        Some(AttributeValue::Ss(l)) => Ok(l.clone()),
        Some(_) => Err(format!("{k} is not a list")),
    }
}

/// Client records, keyed by `client_id`.
#[derive(Debug, Clone)]
pub struct DynamoClientStore {
    client: Client,
    table: String,
}

impl DynamoClientStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

pub fn client_to_item(c: &OAuthClient) -> Item {
    let mut item = Item::from([
        ("client_id".into(), s(&c.client_id)),
        ("name".into(), s(&c.name)),
        ("secret_hash".into(), s(&c.secret_hash)),
        ("enabled".into(), AttributeValue::Bool(c.enabled)),
        (
            "grant_types".into(),
            list(c.grant_types.iter().map(|g| g.as_str().to_owned())),
        ),
        ("allowed_scopes".into(), list(c.allowed_scopes.to_vec())),
        ("default_scopes".into(), list(c.default_scopes.to_vec())),
        ("created_at".into(), n(c.created_at)),
    ]);
    for (k, v) in [
        ("access_token_ttl", c.access_token_ttl),
        ("refresh_token_ttl", c.refresh_token_ttl),
        ("refresh_family_ttl", c.refresh_family_ttl),
    ] {
        if let Some(v) = v {
            item.insert(k.into(), n(v));
        }
    }
    item
}

pub fn client_from_item(item: &Item) -> Result<OAuthClient, String> {
    let grant_types = get_list(item, "grant_types")?
        .iter()
        .map(|g| GrantType::parse(g).ok_or_else(|| format!("unknown grant type {g:?}")))
        .collect::<Result<_, _>>()?;
    let scopes = |k| -> Result<Scopes, String> {
        let v = get_list(item, k)?;
        let joined = v.join(" ");
        Scopes::parse(&joined).map_err(|_| format!("{k} holds an invalid scope"))
    };
    Ok(OAuthClient {
        client_id: get_s(item, "client_id")?,
        name: get_s(item, "name").unwrap_or_default(),
        secret_hash: get_s(item, "secret_hash")?,
        enabled: item
            .get("enabled")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        grant_types,
        allowed_scopes: scopes("allowed_scopes")?,
        default_scopes: scopes("default_scopes")?,
        access_token_ttl: get_n(item, "access_token_ttl")?,
        refresh_token_ttl: get_n(item, "refresh_token_ttl")?,
        refresh_family_ttl: get_n(item, "refresh_family_ttl")?,
        created_at: get_n(item, "created_at")?.unwrap_or(0),
    })
}

#[async_trait]
impl ClientStore for DynamoClientStore {
    async fn get(&self, client_id: &str) -> Result<Option<OAuthClient>, ClientStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("client_id", s(client_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ClientStoreError::Unavailable(e.into()))?;
        match out.item {
            None => Ok(None),
            Some(item) => client_from_item(&item)
                .map(Some)
                .map_err(ClientStoreError::Malformed),
        }
    }

    async fn create(&self, c: &OAuthClient) -> Result<(), ClientStoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(client_to_item(c)))
            .condition_expression("attribute_not_exists(client_id)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(ClientStoreError::AlreadyExists),
            Err(e) => Err(ClientStoreError::Unavailable(e.into())),
        }
    }

    async fn list(&self) -> Result<Vec<OAuthClient>, ClientStoreError> {
        let mut clients = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| ClientStoreError::Unavailable(e.into()))?;
            for item in page.items() {
                clients.push(client_from_item(item).map_err(ClientStoreError::Malformed)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(clients)
    }

    async fn update(
        &self,
        client_id: &str,
        u: &ClientUpdate,
    ) -> Result<OAuthClient, ClientStoreError> {
        if u.is_empty() {
            return self.get(client_id).await?.ok_or(ClientStoreError::NotFound);
        }
        // Every attribute goes through a placeholder: `name` is a DynamoDB reserved word.
        let mut set: Vec<(&str, AttributeValue)> = Vec::new();
        let mut remove: Vec<&str> = Vec::new();
        if let Some(v) = &u.name {
            set.push(("name", s(v)));
        }
        if let Some(v) = &u.secret_hash {
            set.push(("secret_hash", s(v)));
        }
        if let Some(v) = u.enabled {
            set.push(("enabled", AttributeValue::Bool(v)));
        }
        if let Some(v) = &u.grant_types {
            let v = list(v.iter().map(|g| g.as_str().to_owned()));
            set.push(("grant_types", v));
        }
        if let Some(v) = &u.allowed_scopes {
            set.push(("allowed_scopes", list(v.to_vec())));
        }
        if let Some(v) = &u.default_scopes {
            set.push(("default_scopes", list(v.to_vec())));
        }
        for (name, ttl) in [
            ("access_token_ttl", u.access_token_ttl),
            ("refresh_token_ttl", u.refresh_token_ttl),
            ("refresh_family_ttl", u.refresh_family_ttl),
        ] {
            match ttl {
                Some(Some(v)) => set.push((name, n(v))),
                Some(None) => remove.push(name),
                None => {}
            }
        }
        let mut clauses = Vec::new();
        if !set.is_empty() {
            let parts: Vec<String> = set.iter().map(|(k, _)| format!("#{k} = :{k}")).collect();
            clauses.push(format!("SET {}", parts.join(", ")));
        }
        if !remove.is_empty() {
            let parts: Vec<String> = remove.iter().map(|k| format!("#{k}")).collect();
            clauses.push(format!("REMOVE {}", parts.join(", ")));
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("client_id", s(client_id))
            .update_expression(clauses.join(" "))
            .condition_expression("attribute_exists(client_id)")
            .return_values(ReturnValue::AllNew);
        for k in set.iter().map(|(k, _)| k).chain(&remove) {
            req = req.expression_attribute_names(format!("#{k}"), *k);
        }
        for (k, v) in set {
            req = req.expression_attribute_values(format!(":{k}"), v);
        }
        match req.send().await {
            Ok(out) => client_from_item(&out.attributes.unwrap_or_default())
                .map_err(ClientStoreError::Malformed),
            Err(e) if condition_failed(&e) => Err(ClientStoreError::NotFound),
            Err(e) => Err(ClientStoreError::WriteFailed(e.into())),
        }
    }

    async fn delete(&self, client_id: &str) -> Result<(), ClientStoreError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("client_id", s(client_id))
            .condition_expression("attribute_exists(client_id)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(ClientStoreError::NotFound),
            Err(e) => Err(ClientStoreError::WriteFailed(e.into())),
        }
    }
}

/// Refresh-token families and tokens, in one table keyed by `pk`:
/// `family#<id>` holds the family's state and the hash of its one live token;
/// `token#<sha256>` holds what the token stands for. Both expire through TTL (`expires_at`).
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

pub fn family_key(family_id: &str) -> String {
    format!("family#{family_id}")
}
pub fn token_key(token_hash: &str) -> String {
    format!("token#{token_hash}")
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
        let g = &f.grant;
        let family = Item::from([
            ("pk".into(), s(family_key(&f.family_id))),
            ("kind".into(), s("family")),
            ("client_id".into(), s(&g.client_id)),
            ("sub".into(), s(&g.sub)),
            ("status".into(), s("active")),
            ("current_token".into(), s(&f.token_hash)),
            ("created_at".into(), n(f.issued_at)),
            ("expires_at".into(), n(f.family_expires_at)),
        ]);
        let token = token_to_item(&StoredToken {
            token_hash: f.token_hash.clone(),
            family_id: f.family_id.clone(),
            grant: g.clone(),
            status: TokenStatus::Active,
            issued_at: f.issued_at,
            expires_at: f.token_expires_at,
            family_expires_at: f.family_expires_at,
        })
        .map_err(RefreshStoreError::Malformed)?;
        let items = vec![
            put_new(&self.table, family).map_err(RefreshStoreError::Unavailable)?,
            put_new(&self.table, token).map_err(RefreshStoreError::Unavailable)?,
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
        item.map(|i| token_from_item(token_hash, &i).map_err(RefreshStoreError::Malformed))
            .transpose()
    }

    async fn rotate(
        &self,
        old: &StoredToken,
        new: &Successor,
        now: u64,
    ) -> Result<Rotation, RefreshStoreError> {
        let unavailable = |e: BoxError| RefreshStoreError::Unavailable(e);
        let retire = Update::builder()
            .table_name(&self.table)
            .key("pk", s(token_key(&old.token_hash)))
            .update_expression("SET #status = :rotated, rotated_at = :now")
            .condition_expression("#status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":rotated", s(TokenStatus::Rotated.as_str()))
            .expression_attribute_values(":active", s(TokenStatus::Active.as_str()))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|e| unavailable(e.into()))?;
        let advance = Update::builder()
            .table_name(&self.table)
            .key("pk", s(family_key(&old.family_id)))
            .update_expression("SET current_token = :new")
            .condition_expression(
                "#status = :active AND current_token = :old AND expires_at > :now",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":new", s(&new.token_hash))
            .expression_attribute_values(":old", s(&old.token_hash))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|e| unavailable(e.into()))?;
        let successor = StoredToken {
            token_hash: new.token_hash.clone(),
            status: TokenStatus::Active,
            issued_at: new.issued_at,
            expires_at: new.expires_at,
            ..old.clone()
        };
        let items = vec![
            TransactWriteItem::builder().update(retire).build(),
            TransactWriteItem::builder().update(advance).build(),
            put_new(
                &self.table,
                token_to_item(&successor).map_err(RefreshStoreError::Malformed)?,
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
            Err(e) => {
                // A failed condition, or a concurrent transaction on the same items, means this
                // token lost: it was used already, or is being used right now by someone else.
                let lost = e.as_service_error().and_then(|se| match se {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                        Some(c.cancellation_reasons().iter().any(|r| {
                            matches!(r.code(), Some("ConditionalCheckFailed") | Some("TransactionConflict"))
                        }))
                    }
                    _ => None,
                });
                if lost == Some(true) {
                    Ok(Rotation::Refused)
                } else {
                    Err(RefreshStoreError::Unavailable(e.into()))
                }
            }
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
}

fn token_to_item(t: &StoredToken) -> Result<Item, String> {
    let g = &t.grant;
    let details = serde_json::to_string(&g.details).map_err(|e| e.to_string())?;
    Ok(Item::from([
        ("pk".into(), s(token_key(&t.token_hash))),
        ("kind".into(), s("token")),
        ("family_id".into(), s(&t.family_id)),
        ("client_id".into(), s(&g.client_id)),
        ("sub".into(), s(&g.sub)),
        ("scope".into(), s(g.scope.to_string())),
        ("details".into(), s(details)),
        ("auth_time".into(), n(g.auth_time)),
        ("status".into(), s(t.status.as_str())),
        ("issued_at".into(), n(t.issued_at)),
        ("expires_at".into(), n(t.expires_at)),
        ("family_expires_at".into(), n(t.family_expires_at)),
    ]))
}

fn token_from_item(token_hash: &str, item: &Item) -> Result<StoredToken, String> {
    let details = serde_json::from_str(&get_s(item, "details")?)
        .map_err(|_| "details is not a JSON object".to_owned())?;
    let status = match get_s(item, "status")?.as_str() {
        "active" => TokenStatus::Active,
        "rotated" => TokenStatus::Rotated,
        other => return Err(format!("unknown token status {other:?}")),
    };
    let num = |k| get_n(item, k)?.ok_or_else(|| format!("{k} missing"));
    Ok(StoredToken {
        token_hash: token_hash.to_owned(),
        family_id: get_s(item, "family_id")?,
        grant: RefreshGrant {
            client_id: get_s(item, "client_id")?,
            sub: get_s(item, "sub")?,
            scope: Scopes::parse(&get_s(item, "scope")?)
                .map_err(|_| "scope is invalid".to_owned())?,
            details,
            auth_time: num("auth_time")?,
        },
        status,
        issued_at: num("issued_at")?,
        expires_at: num("expires_at")?,
        family_expires_at: num("family_expires_at")?,
    })
}

/// Login-failure counters keyed by `pk` (a hash of the canonical username): `attempts`
/// reserved and `failures` counted in the window that opened at `window_start`, and
/// `locked_until`.
#[derive(Debug, Clone)]
pub struct DynamoLockoutStore {
    client: Client,
    table: String,
}

impl DynamoLockoutStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> LockoutStoreError {
    LockoutStoreError::Unavailable(Box::new(e))
}

impl DynamoLockoutStore {
    /// One conditional update; the item as written, or `None` when its condition did not hold.
    async fn conditional(
        &self,
        key: &str,
        update: &str,
        condition: &str,
        values: &[(&str, u64)],
    ) -> Result<Option<Item>, LockoutStoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression(update)
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew);
        // DynamoDB refuses values that the expressions do not use.
        for (name, v) in values {
            if update.contains(name) || condition.contains(name) {
                req = req.expression_attribute_values(*name, n(*v));
            }
        }
        match req.send().await {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn window_values(now: u64, p: &LockoutPolicy) -> [(&'static str, u64); 6] {
    [
        (":one", 1),
        (":zero", 0),
        (":now", now),
        (":cutoff", now.saturating_sub(p.window_secs)),
        (":max", u64::from(p.max_failures)),
        (
            ":exp",
            now.saturating_add(p.window_secs)
                .saturating_add(p.lockout_secs),
        ),
    ]
}

/// Count a failure in the open window.
const FAIL_IN_WINDOW: (&str, &str) = (
    "SET failures = if_not_exists(failures, :zero) + :one, expires_at = :exp",
    "window_start > :cutoff",
);
/// Count a failure as the first of a new window (its attempt's window has passed).
const FAIL_NEW_WINDOW: (&str, &str) = (
    "SET attempts = :one, failures = :one, window_start = :now, expires_at = :exp",
    "attribute_not_exists(pk) OR window_start <= :cutoff",
);

/// Take an attempt in the open window, if the key is not locked and one is left.
const RESERVE_IN_WINDOW: (&str, &str) = (
    "SET attempts = if_not_exists(attempts, :zero) + :one, expires_at = :exp",
    "window_start > :cutoff AND (attribute_not_exists(attempts) OR attempts < :max) \
     AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
);
/// Open a new window with this attempt as its first, if there is none or it has passed.
const RESERVE_NEW_WINDOW: (&str, &str) = (
    "SET attempts = :one, failures = :zero, window_start = :now, expires_at = :exp",
    "(attribute_not_exists(pk) OR window_start <= :cutoff) \
     AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
);

#[async_trait]
impl LockoutStore for DynamoLockoutStore {
    async fn reserve(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Reservation, LockoutStoreError> {
        let values = window_values(now, p);
        // Conditional writes only, never read-then-write. The second try of the open window
        // covers losing the race to open it; failing all three means locked or used up, and
        // only then a read tells which.
        for (update, condition) in [RESERVE_IN_WINDOW, RESERVE_NEW_WINDOW, RESERVE_IN_WINDOW] {
            if self
                .conditional(key, update, condition, &values)
                .await?
                .is_some()
            {
                return Ok(Reservation::Granted);
            }
        }
        Ok(match self.locked_until(key, now).await? {
            Some(_) => Reservation::Locked,
            None => Reservation::Busy,
        })
    }

    async fn record_failure(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Option<u64>, LockoutStoreError> {
        let values = window_values(now, p);
        let mut failures = None;
        for (update, condition) in [FAIL_IN_WINDOW, FAIL_NEW_WINDOW, FAIL_IN_WINDOW] {
            if let Some(item) = self.conditional(key, update, condition, &values).await? {
                failures = get_n(&item, "failures").ok().flatten();
                break;
            }
        }
        // Three lost races in a row: others are counting this username right now, and the
        // attempt stays reserved, so the limit holds.
        let Some(failures) = failures else {
            return Ok(None);
        };
        if failures < u64::from(p.max_failures) {
            return Ok(None);
        }
        let until = now.saturating_add(p.lockout_secs);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression(
                "SET locked_until = :until, attempts = :zero, failures = :zero, \
                 window_start = :now, expires_at = :exp",
            )
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":exp", n(until.saturating_add(p.window_secs)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(Some(until))
    }

    async fn release(&self, key: &str) -> Result<(), LockoutStoreError> {
        self.conditional(
            key,
            "SET attempts = attempts - :one",
            "attempts > :zero",
            &[(":one", 1), (":zero", 0)],
        )
        .await
        .map(|_| ())
    }

    async fn locked_until(&self, key: &str, now: u64) -> Result<Option<u64>, LockoutStoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .consistent_read(true)
            .projection_expression("locked_until")
            .send()
            .await
            .map_err(unavailable)?;
        let until = out
            .item
            .as_ref()
            .and_then(|i| get_n(i, "locked_until").ok().flatten());
        Ok(until.filter(|&u| u > now))
    }

    async fn reset(&self, key: &str) -> Result<(), LockoutStoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_record_round_trips() {
        let c = OAuthClient {
            client_id: "c1".into(),
            name: "Demo".into(),
            secret_hash: "sha256:x".into(),
            enabled: true,
            grant_types: vec![GrantType::Password, GrantType::RefreshToken],
            allowed_scopes: Scopes::parse("a b").unwrap(),
            default_scopes: Scopes::parse("a").unwrap(),
            access_token_ttl: Some(60),
            refresh_token_ttl: None,
            refresh_family_ttl: None,
            created_at: 7,
        };
        assert_eq!(client_from_item(&client_to_item(&c)), Ok(c));
    }

    #[test]
    fn malformed_client_record_is_an_error_not_a_panic() {
        let mut item = Item::new();
        item.insert("client_id".into(), s("c1"));
        assert!(client_from_item(&item).is_err());
        item.insert("secret_hash".into(), AttributeValue::N("1".into()));
        assert!(client_from_item(&item).is_err());
    }
}
