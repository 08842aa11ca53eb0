//! In-memory adapters for fast unit tests of domain rules. Every port also has a DynamoDB
//! adapter, and that one is tested against DynamoDB Local; these never stand in for it there.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use tollgate_oauth::secret::Secret;

use crate::client::{Client, ClientStore, ClientStoreError, ClientUpdate};
use crate::code::{CodeStore, Exchange, ExchangeWrite, Exchanged, NewCode, StoredCode};
use crate::legacy::{
    LegacyAnswer, LegacyRefresh, LegacyStore, LegacyUser, StoredMarker, TakeOver, TakenOver,
};
use crate::lockout::{LockoutPolicy, LockoutStore, LockoutStoreError, Reservation};
use crate::password::{AuthEndpointError, PasswordCheck, PasswordVerifier, VerifiedUser};
use crate::rate_limit::{RateLimitStore, RateLimitStoreError, Window};
use crate::refresh::{
    NewFamily, RefreshStore, RefreshStoreError, Rotation, SessionQuery, StoredFamily, StoredToken,
    Successor, TokenRef, TokenStatus,
};
use crate::revocation::{Entry, Key, RevocationStore, RevocationStoreError};
use crate::user_status::{UserDirectory, UserStatus};

#[derive(Debug, Default)]
pub struct MemoryClients(Mutex<HashMap<String, Client>>);

#[async_trait]
impl ClientStore for MemoryClients {
    async fn get(&self, client_id: &str) -> Result<Option<Client>, ClientStoreError> {
        Ok(lock(&self.0).get(client_id).cloned())
    }
    async fn create(&self, client: &Client) -> Result<(), ClientStoreError> {
        let mut map = lock(&self.0);
        if map.contains_key(&client.client_id) {
            return Err(ClientStoreError::AlreadyExists);
        }
        map.insert(client.client_id.clone(), client.clone());
        Ok(())
    }
    async fn list(&self) -> Result<Vec<Client>, ClientStoreError> {
        let mut all: Vec<Client> = lock(&self.0).values().cloned().collect();
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(all)
    }
    async fn update(
        &self,
        client_id: &str,
        update: &ClientUpdate,
    ) -> Result<Client, ClientStoreError> {
        let mut map = lock(&self.0);
        let c = map.get_mut(client_id).ok_or(ClientStoreError::NotFound)?;
        *c = update.apply_to(c);
        Ok(c.clone())
    }
    async fn delete(&self, client_id: &str) -> Result<(), ClientStoreError> {
        lock(&self.0)
            .remove(client_id)
            .map(|_| ())
            .ok_or(ClientStoreError::NotFound)
    }
}

/// Families and tokens in memory, with the same conditional rules as the DynamoDB adapter.
#[derive(Debug, Default)]
pub struct MemoryRefresh {
    pub families: Mutex<HashMap<String, StoredFamily>>,
    pub tokens: Mutex<HashMap<String, StoredToken>>,
    /// Authorization codes by hash (the same store, as in DynamoDB: one table).
    pub codes: Mutex<HashMap<String, StoredCode>>,
    /// Legacy tokens' markers by hash (the same table in DynamoDB).
    pub markers: Mutex<HashMap<String, StoredMarker>>,
}

impl MemoryRefresh {
    /// A presented token as it stands (found through its family, or its record read with its
    /// family), as [`RefreshStore::get_presented`] reads it, without awaiting.
    pub fn token_as_it_stands(&self, token: &Secret) -> Option<StoredToken> {
        let r = TokenRef::of(token);
        if let Some((family_id, tag_hash)) = &r.family {
            return lock(&self.families)
                .get(family_id)?
                .token(&r.token_hash, tag_hash);
        }
        let record = lock(&self.tokens).get(&r.token_hash).cloned()?;
        let family = lock(&self.families).get(&record.family_id).cloned();
        Some(record.as_of(family.as_ref()))
    }

    /// Whether `new` is the one successor of `old` written: the family of `old` is at `new`,
    /// its latest retirement `old` for `new`, and no token has a record of its own (a family
    /// that holds its tokens keeps only those two).
    pub fn holds_one_successor(&self, old: &Secret, new: &Secret) -> bool {
        let Some((family_id, _)) = TokenRef::of(old).family else {
            return false;
        };
        let families = lock(&self.families);
        let Some(f) = families.get(&family_id) else {
            return false;
        };
        lock(&self.tokens).is_empty()
            && f.current_token == new.hash()
            && f.retired
                .as_ref()
                .is_some_and(|r| r.token_hash == old.hash() && r.successor_hash == new.hash())
    }
}

#[async_trait]
impl LegacyStore for MemoryRefresh {
    async fn get_marker(&self, hash: &str) -> Result<Option<StoredMarker>, RefreshStoreError> {
        Ok(lock(&self.markers).get(hash).cloned())
    }

    async fn take_over(&self, w: &TakeOver<'_>) -> Result<TakenOver, RefreshStoreError> {
        let f = w.family;
        {
            // As the DynamoDB adapter: the same take-over written again finds its own work done.
            let markers = lock(&self.markers);
            let families = lock(&self.families);
            let marker_ok = markers
                .get(w.token_hash)
                .is_none_or(|m| m.family_id == f.family_id);
            let family_ok = families
                .get(&f.family_id)
                .is_none_or(|s| !s.revoked && s.current_token == f.token_hash);
            if !marker_ok || !family_ok {
                return Ok(TakenOver::Refused);
            }
        }
        lock(&self.markers).insert(
            w.token_hash.to_owned(),
            StoredMarker {
                family_id: f.family_id.clone(),
                client_id: f.grant.client_id.clone(),
                at: w.now,
                unconfirmed: w.unconfirmed,
                sealed_refresh: w.sealed_refresh.clone(),
            },
        );
        if !lock(&self.families).contains_key(&f.family_id) {
            self.create_family(f).await?;
        }
        Ok(TakenOver::Done)
    }
}

/// A legacy endpoint from a fixed table of tokens: a user (200) or a status (anything else:
/// a `4xx` is a refusal, other statuses fail); counts calls.
#[derive(Debug, Default)]
pub struct MemoryLegacy {
    tokens: HashMap<String, Result<LegacyUser, u16>>,
    calls: Mutex<u32>,
}

impl MemoryLegacy {
    pub fn with(mut self, token: &str, answer: Result<LegacyUser, u16>) -> Self {
        self.tokens.insert(token.to_owned(), answer);
        self
    }
    pub fn calls(&self) -> u32 {
        *lock(&self.calls)
    }
}

#[async_trait]
impl LegacyRefresh for MemoryLegacy {
    async fn redeem(
        &self,
        token: &Secret,
        _client_id: &str,
    ) -> Result<LegacyAnswer, AuthEndpointError> {
        *lock(&self.calls) += 1;
        match self.tokens.get(token.expose()) {
            Some(Ok(user)) => Ok(LegacyAnswer::Valid(user.clone())),
            Some(Err(status)) if (400..500).contains(status) => Ok(LegacyAnswer::Refused(*status)),
            Some(Err(status)) => Err(AuthEndpointError::UnexpectedStatus(*status)),
            None => Ok(LegacyAnswer::Refused(400)),
        }
    }
}

#[async_trait]
impl CodeStore for MemoryRefresh {
    async fn put_code(&self, code: &NewCode) -> Result<(), RefreshStoreError> {
        let mut codes = lock(&self.codes);
        if codes.contains_key(&code.code_hash) {
            return Err(RefreshStoreError::Unavailable("code exists".into()));
        }
        codes.insert(code.code_hash.clone(), code.stored());
        Ok(())
    }

    async fn get_code(&self, hash: &str) -> Result<Option<StoredCode>, RefreshStoreError> {
        Ok(lock(&self.codes).get(hash).cloned())
    }

    async fn exchange(&self, w: &ExchangeWrite<'_>) -> Result<Exchange, RefreshStoreError> {
        let f = w.family;
        {
            // As the DynamoDB adapter: the same exchange written again finds its own work done.
            let codes = lock(&self.codes);
            let families = lock(&self.families);
            let code_ok = codes.get(w.code_hash).is_some_and(|c| {
                c.exchange
                    .as_ref()
                    .is_none_or(|e| e.family_id == f.family_id)
            });
            let family_ok = families
                .get(&f.family_id)
                .is_none_or(|s| !s.revoked && s.current_token == f.token_hash);
            if !code_ok || !family_ok {
                return Ok(Exchange::Refused);
            }
        }
        if let Some(c) = lock(&self.codes).get_mut(w.code_hash) {
            let unconfirmed = c.exchange.as_ref().is_some_and(|e| e.unconfirmed);
            let sealed = c.exchange.as_ref().and_then(|e| e.sealed_refresh.clone());
            c.exchange = Some(Exchanged {
                family_id: f.family_id.clone(),
                at: w.now,
                unconfirmed: unconfirmed || w.unconfirmed,
                sealed_refresh: w.sealed_refresh.clone().or(sealed),
            });
        }
        if !lock(&self.families).contains_key(&f.family_id) {
            self.create_family(f).await?;
        }
        Ok(Exchange::Done)
    }
}

#[async_trait]
impl RefreshStore for MemoryRefresh {
    async fn create_family(&self, f: &NewFamily) -> Result<(), RefreshStoreError> {
        lock(&self.families).insert(
            f.family_id.clone(),
            StoredFamily {
                family_id: f.family_id.clone(),
                client_id: f.grant.client_id.clone(),
                sub: f.grant.sub.clone(),
                revoked: false,
                current_token: f.token_hash.clone(),
                created_at: f.issued_at,
                refreshed_at: None,
                access_until: Some(f.access_expires_at),
                expires_at: f.family_expires_at,
                retired: None,
                live: f.live(),
            },
        );
        // As the DynamoDB adapter: a family that holds its tokens has no record per token.
        if f.tag_hash.is_none() {
            lock(&self.tokens).insert(f.token_hash.clone(), f.first_token());
        }
        Ok(())
    }

    async fn token_record(&self, hash: &str) -> Result<Option<StoredToken>, RefreshStoreError> {
        Ok(lock(&self.tokens).get(hash).cloned())
    }

    async fn rotate(
        &self,
        old: &StoredToken,
        new: &Successor,
        now: u64,
    ) -> Result<Rotation, RefreshStoreError> {
        let mut families = lock(&self.families);
        let mut tokens = lock(&self.tokens);
        // As the DynamoDB adapter: the family is the compare-and-swap (the same successor
        // written again finds its own work done), the old token's record is not written, and
        // a successor of that hash already retired in its own record is not written over.
        let at = |f: &StoredFamily| {
            f.current_token == old.token_hash
                || (f.current_token == new.token_hash
                    && f.retired
                        .as_ref()
                        .is_some_and(|r| r.token_hash == old.token_hash))
        };
        let family_ok = families
            .get(&old.family_id)
            .is_some_and(|f| !f.revoked && at(f) && f.expires_at > now);
        let successor_ok = tokens
            .get(&new.token_hash)
            .is_none_or(|t| t.status == TokenStatus::Active);
        if !family_ok || !successor_ok {
            return Ok(Rotation::Refused);
        }
        if let Some(f) = families.get_mut(&old.family_id) {
            f.current_token = new.token_hash.clone();
            f.refreshed_at = Some(now);
            f.access_until = Some(new.access_until);
            f.retired = Some(new.retiring(old, now));
            if let Some(live) = f.live.as_mut().filter(|_| old.in_family) {
                live.grant.details.clone_from(&new.details);
                live.issued_at = new.issued_at;
                live.expires_at = new.expires_at;
            }
        }
        if !old.in_family {
            tokens.insert(new.token_hash.clone(), new.record(old));
        }
        Ok(Rotation::Rotated)
    }

    async fn get_family(&self, id: &str) -> Result<Option<StoredFamily>, RefreshStoreError> {
        Ok(lock(&self.families).get(id).cloned())
    }

    async fn revoke_family(&self, id: &str, _now: u64) -> Result<(), RefreshStoreError> {
        if let Some(f) = lock(&self.families).get_mut(id) {
            f.revoked = true;
        }
        Ok(())
    }

    async fn list_sessions(
        &self,
        query: &SessionQuery,
    ) -> Result<Vec<StoredFamily>, RefreshStoreError> {
        Ok(lock(&self.families)
            .values()
            .filter(|f| query.matches(f))
            .cloned()
            .collect())
    }
}

/// Revocations in memory: the feed in the order written, and the key items.
#[derive(Debug, Default)]
pub struct MemoryRevocations {
    pub feed: Mutex<Vec<Entry>>,
    keys: Mutex<HashMap<Key, Entry>>,
}

impl MemoryRevocations {
    /// Every entry recorded, in order.
    pub fn recorded(&self) -> Vec<Entry> {
        lock(&self.feed).clone()
    }
}

#[async_trait]
impl RevocationStore for MemoryRevocations {
    async fn record(&self, entry: &Entry) -> Result<(), RevocationStoreError> {
        lock(&self.feed).push(entry.clone());
        if matches!(entry.key, Key::Session(_)) {
            return Ok(());
        }
        let mut keys = lock(&self.keys);
        // As the DynamoDB adapter: a key item's cut-off only ever moves later.
        let older = keys
            .get(&entry.key)
            .is_none_or(|e| e.cutoff < entry.cutoff || entry.cutoff.is_none());
        if older {
            keys.insert(entry.key.clone(), entry.clone());
        }
        Ok(())
    }

    async fn find(&self, keys: &[Key]) -> Result<Vec<Entry>, RevocationStoreError> {
        let stored = lock(&self.keys);
        Ok(keys.iter().filter_map(|k| stored.get(k).cloned()).collect())
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counter {
    attempts: u32,
    failures: u32,
    window_start: u64,
    locked_until: u64,
}

/// Login-failure counters in memory, with the same rules as the DynamoDB adapter.
#[derive(Debug, Default)]
pub struct MemoryLockout(Mutex<HashMap<String, Counter>>);

#[async_trait]
impl LockoutStore for MemoryLockout {
    async fn reserve(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Reservation, LockoutStoreError> {
        let mut map = lock(&self.0);
        let c = map.entry(key.to_owned()).or_default();
        if c.locked_until > now {
            return Ok(Reservation::Locked);
        }
        if c.window_start.saturating_add(p.window_secs) <= now {
            *c = Counter {
                window_start: now,
                ..Counter::default()
            };
        }
        if c.attempts >= p.max_failures {
            return Ok(Reservation::Busy);
        }
        c.attempts += 1;
        Ok(Reservation::Granted)
    }
    async fn record_failure(
        &self,
        key: &str,
        now: u64,
        p: &LockoutPolicy,
    ) -> Result<Option<u64>, LockoutStoreError> {
        let mut map = lock(&self.0);
        let c = map.entry(key.to_owned()).or_default();
        if c.window_start.saturating_add(p.window_secs) <= now {
            *c = Counter {
                window_start: now,
                attempts: 1,
                locked_until: c.locked_until,
                ..Counter::default()
            };
        }
        c.failures += 1;
        if c.failures >= p.max_failures {
            *c = Counter {
                window_start: now,
                locked_until: now.saturating_add(p.lockout_secs),
                ..Counter::default()
            };
            return Ok(Some(c.locked_until));
        }
        Ok(None)
    }
    async fn locked_until(&self, key: &str, now: u64) -> Result<Option<u64>, LockoutStoreError> {
        Ok(lock(&self.0)
            .get(key)
            .map(|c| c.locked_until)
            .filter(|&u| u > now))
    }
    async fn release(&self, key: &str) -> Result<(), LockoutStoreError> {
        if let Some(c) = lock(&self.0).get_mut(key) {
            c.attempts = c.attempts.saturating_sub(1);
        }
        Ok(())
    }
    async fn reset(&self, key: &str) -> Result<(), LockoutStoreError> {
        lock(&self.0).remove(key);
        Ok(())
    }
}

/// Request counters in memory, one per counter per window.
#[derive(Debug, Default)]
pub struct MemoryRateLimits(Mutex<HashMap<(String, u64), u64>>);

#[async_trait]
impl RateLimitStore for MemoryRateLimits {
    async fn count(&self, counter: &str, window: Window) -> Result<u64, RateLimitStoreError> {
        let mut map = lock(&self.0);
        let n = map.entry((counter.to_owned(), window.start)).or_default();
        *n = n.saturating_add(1);
        Ok(*n)
    }
}

/// A password check from a fixed table of users; counts calls so tests can prove the
/// endpoint was not asked.
#[derive(Debug, Default)]
pub struct MemoryVerifier {
    users: HashMap<String, (String, VerifiedUser)>,
    calls: Mutex<u32>,
}

impl MemoryVerifier {
    pub fn with_user(mut self, username: &str, password: &str, user: VerifiedUser) -> Self {
        self.users
            .insert(username.to_owned(), (password.to_owned(), user));
        self
    }
    pub fn calls(&self) -> u32 {
        *lock(&self.calls)
    }
}

#[async_trait]
impl PasswordVerifier for MemoryVerifier {
    async fn verify(
        &self,
        username: &str,
        password: &Secret,
        _client_id: &str,
    ) -> Result<PasswordCheck, AuthEndpointError> {
        *lock(&self.calls) += 1;
        Ok(match self.users.get(username) {
            Some((p, user)) if p == password.expose() => PasswordCheck::Valid(user.clone()),
            _ => PasswordCheck::Invalid,
        })
    }
}

/// A user directory whose answers a test sets: `None` for a user makes the endpoint fail.
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    users: Mutex<HashMap<String, Option<UserStatus>>>,
    calls: Mutex<u32>,
}

impl MemoryDirectory {
    /// From now on, `sub`'s status is `status` (`None`: the endpoint fails).
    pub fn set(&self, sub: &str, status: Option<UserStatus>) {
        lock(&self.users).insert(sub.to_owned(), status);
    }
    pub fn calls(&self) -> u32 {
        *lock(&self.calls)
    }
}

#[async_trait]
impl UserDirectory for MemoryDirectory {
    async fn status(&self, sub: &str, _client_id: &str) -> Result<UserStatus, AuthEndpointError> {
        *lock(&self.calls) += 1;
        match lock(&self.users).get(sub) {
            Some(Some(status)) => Ok(status.clone()),
            Some(None) => Err(AuthEndpointError::UnexpectedStatus(500)),
            None => Ok(UserStatus::Gone),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
