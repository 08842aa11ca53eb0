//! The revocation state as sets, and the one question asked of it: does it refuse this token?
//! A lookup per kind of entry, and none at all for a kind that has no entry (the usual case for
//! user cut-offs, so a decision hashes no `sub`).

use std::collections::HashMap;

use crate::entry::{Entry, Key, subject_hash};

/// What a token says that revocation is keyed on.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub sid: Option<&'a str>,
    pub jti: Option<&'a str>,
    pub sub: &'a str,
    pub client_id: &'a str,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its session was ended.
    Session,
    /// It was revoked itself (by `jti`).
    Token,
    /// Its user's tokens up to a cut-off were revoked.
    Subject,
    /// Its client's tokens up to a cut-off were revoked.
    Client,
}

impl Refusal {
    /// The reason a refusal is logged with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session revoked",
            Self::Token => "token revoked",
            Self::Subject => "user tokens revoked",
            Self::Client => "client tokens revoked",
        }
    }
}

/// A cut-off and how long it must be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cut {
    cutoff: u64,
    expires_at: u64,
}

/// Every entry in force, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revoked {
    sessions: HashMap<Box<str>, u64>,
    tokens: HashMap<Box<str>, u64>,
    subjects: HashMap<[u8; 32], Cut>,
    clients: HashMap<Box<str>, Cut>,
}

impl Revoked {
    /// Adds `e` unless it expired by `now`: a key seen again keeps the later cut-off and the
    /// later expiry (entries only ever widen what is refused). Whether anything changed.
    pub fn insert(&mut self, e: &Entry, now: u64) -> bool {
        if e.expires_at <= now {
            return false;
        }
        let widen = |old: Option<Cut>, cutoff: u64| {
            let new = Cut {
                cutoff: old.map_or(cutoff, |o| o.cutoff.max(cutoff)),
                expires_at: old.map_or(e.expires_at, |o| o.expires_at.max(e.expires_at)),
            };
            (old != Some(new)).then_some(new)
        };
        match &e.key {
            Key::Session(s) => keep_later(&mut self.sessions, s, e.expires_at),
            Key::Token(j) => keep_later(&mut self.tokens, j, e.expires_at),
            Key::Subject(h) => {
                let cutoff = e.cutoff.unwrap_or(0);
                widen(self.subjects.get(h).copied(), cutoff)
                    .map(|c| self.subjects.insert(*h, c))
                    .is_some()
            }
            Key::Client(c) => {
                let cutoff = e.cutoff.unwrap_or(0);
                widen(self.clients.get(c.as_str()).copied(), cutoff)
                    .map(|cut| self.clients.insert(c.as_str().into(), cut))
                    .is_some()
            }
        }
    }

    /// Forgets every entry expired by `now`; how many.
    pub fn prune(&mut self, now: u64) -> usize {
        let before = self.len();
        self.sessions.retain(|_, exp| *exp > now);
        self.tokens.retain(|_, exp| *exp > now);
        self.subjects.retain(|_, c| c.expires_at > now);
        self.clients.retain(|_, c| c.expires_at > now);
        before - self.len()
    }

    /// Whether any entry has expired by `now` (and [`Self::prune`] would drop it).
    pub fn has_expired(&self, now: u64) -> bool {
        self.sessions.values().any(|e| *e <= now)
            || self.tokens.values().any(|e| *e <= now)
            || self.subjects.values().any(|c| c.expires_at <= now)
            || self.clients.values().any(|c| c.expires_at <= now)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.sessions.len() + self.tokens.len() + self.subjects.len() + self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the state refuses a token that says `t`, and why.
    pub fn refuses(&self, t: &Facts<'_>) -> Option<Refusal> {
        if let Some(sid) = t.sid
            && self.sessions.contains_key(sid)
        {
            return Some(Refusal::Session);
        }
        if let Some(jti) = t.jti
            && self.tokens.contains_key(jti)
        {
            return Some(Refusal::Token);
        }
        if self
            .clients
            .get(t.client_id)
            .is_some_and(|c| t.iat <= c.cutoff)
        {
            return Some(Refusal::Client);
        }
        if !self.subjects.is_empty()
            && self
                .subjects
                .get(&subject_hash(t.sub))
                .is_some_and(|c| t.iat <= c.cutoff)
        {
            return Some(Refusal::Subject);
        }
        None
    }
}

/// Inserts `key` with `expires_at`, or moves its expiry later; whether anything changed.
fn keep_later(map: &mut HashMap<Box<str>, u64>, key: &str, expires_at: u64) -> bool {
    match map.get_mut(key) {
        Some(exp) if *exp >= expires_at => false,
        Some(exp) => {
            *exp = expires_at;
            true
        }
        None => {
            map.insert(key.into(), expires_at);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(sid: Option<&'a str>, sub: &'a str, client: &'a str, iat: u64) -> Facts<'a> {
        Facts {
            sid,
            jti: Some("j-1"),
            sub,
            client_id: client,
            iat,
        }
    }

    #[test]
    fn each_kind_refuses_its_own_tokens_and_no_others() {
        let mut r = Revoked::default();
        assert_eq!(r.refuses(&facts(Some("s1"), "u1", "app", 100)), None);
        r.insert(&Entry::session("s1", 2_000), 0);
        r.insert(&Entry::token("j-9", 2_000), 0);
        r.insert(&Entry::cut_off(Key::subject("u2"), 100, 900), 0);
        r.insert(&Entry::cut_off(Key::Client("app2".into()), 100, 900), 0);
        assert_eq!(r.len(), 4);
        let cases = [
            (facts(Some("s1"), "u1", "app", 500), Some(Refusal::Session)),
            (facts(Some("s2"), "u1", "app", 500), None),
            (facts(None, "u2", "app", 100), Some(Refusal::Subject)),
            (facts(None, "u2", "app", 101), None),
            (facts(Some("s3"), "u3", "app2", 99), Some(Refusal::Client)),
            (facts(Some("s3"), "u3", "app2", 101), None),
        ];
        for (f, want) in cases {
            assert_eq!(r.refuses(&f), want, "{f:?}");
        }
        let one = Facts {
            jti: Some("j-9"),
            ..facts(None, "u9", "c9", 1)
        };
        assert_eq!(r.refuses(&one), Some(Refusal::Token));
    }

    #[test]
    fn a_key_seen_again_keeps_the_later_cutoff_and_expiry() {
        let mut r = Revoked::default();
        let key = Key::Client("app".into());
        assert!(r.insert(&Entry::cut_off(key.clone(), 200, 900), 0));
        assert!(
            !r.insert(&Entry::cut_off(key.clone(), 100, 900), 0),
            "older"
        );
        assert!(
            !r.insert(&Entry::cut_off(key.clone(), 200, 900), 0),
            "the same"
        );
        assert_eq!(
            r.refuses(&facts(None, "u", "app", 200)),
            Some(Refusal::Client)
        );
        assert!(r.insert(&Entry::cut_off(key, 300, 900), 0));
        assert_eq!(
            r.refuses(&facts(None, "u", "app", 300)),
            Some(Refusal::Client)
        );
        assert!(r.insert(&Entry::session("s", 10), 0));
        assert!(!r.insert(&Entry::session("s", 5), 0), "an earlier expiry");
    }

    #[test]
    fn expired_entries_are_never_added_and_are_pruned() {
        let mut r = Revoked::default();
        let e = Entry::session("s1", 100);
        assert!(!r.insert(&e, e.expires_at), "expired on arrival");
        assert!(r.insert(&e, e.expires_at - 1));
        let cut = Entry::cut_off(Key::subject("u"), 1, 1);
        assert!(cut.expires_at < e.expires_at - 1);
        r.insert(&cut, 0);
        assert_eq!(r.prune(cut.expires_at - 1), 0);
        assert_eq!(r.prune(cut.expires_at), 1);
        assert_eq!(r.prune(e.expires_at - 1), 0);
        assert_eq!(r.prune(e.expires_at), 1);
        assert!(r.is_empty());
        assert_eq!(r.refuses(&facts(Some("s1"), "u", "c", 0)), None);
    }
}
