//! Audit events: one JSON line on stdout per security decision, in a stable, versioned schema
//! (docs/audit.md). Every field is a name Tollgate chose, an identifier, or a short hash: no
//! constructor here takes a `Secret`, a password or a token, and what a client sent before it
//! authenticated (its claimed client_id, its User-Agent) appears only as a short hash.

use serde::Serialize;

use crate::grant::short_hash;
use crate::lockout::canonical_username;

/// The schema version every line carries as `"audit": 1`. Adding a field keeps the version;
/// renaming or removing one, or changing a type, bumps it.
pub const SCHEMA_VERSION: u8 = 1;

/// Longest User-Agent kept (characters); longer ones are cut.
pub const MAX_USER_AGENT: usize = 256;

/// Members every line has: the version, the event name, the time (milliseconds since the
/// epoch); and, when the event came with a request, where it came from.
pub const COMMON_FIELDS: &[&str] = &[
    "audit",
    "event",
    "time",
    "source_ip",
    "user_agent",
    "user_agent_hash",
];

/// Each event's own members (some optional: docs/audit.md says which).
pub const SCHEMA: &[(&str, &[&str])] = &[
    (
        "token_issued",
        &["grant_type", "client_id", "subject", "scope", "family"],
    ),
    (
        "token_refused",
        &[
            "grant_type",
            "client_id",
            "client_id_hash",
            "reason",
            "status",
            "username_hash",
        ],
    ),
    (
        "refresh_rotated",
        &["grant_type", "client_id", "subject", "family"],
    ),
    (
        "refresh_reuse_detected",
        &["client_id", "family", "cause", "family_revoked"],
    ),
    ("token_revoked", &["client_id", "family"]),
    (
        "lockout_started",
        &["client_id", "username_hash", "locked_for_seconds"],
    ),
    ("session_revoked", &["actor", "subject"]),
    ("admin_change", &["actor", "action", "target", "changes"]),
];

/// Where a request came from, as API Gateway saw it (its request context).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    pub fn new(source_ip: Option<&str>, user_agent: Option<&str>) -> Self {
        Self {
            source_ip: source_ip.map(|ip| ip.chars().take(64).collect()),
            user_agent: user_agent.map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
        }
    }
}

/// The client an event concerns. An id that names none of our clients may be a secret pasted
/// into the wrong field, so it is kept as a short hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client<'a> {
    /// Authenticated with its secret.
    Authenticated(&'a str),
    /// One of our clients, but its secret was wrong or it is disabled: named (it is our own
    /// record's id), while what the caller sent besides stays hashed.
    Named(&'a str),
    /// An id that names no client, or one refused before lookup.
    Unauthenticated(&'a str),
    /// The same, already hashed with [`short_hash`] (as the request's log line has it).
    Hashed(&'a str),
    /// No client credentials at all.
    Absent,
}

impl Client<'_> {
    fn authenticated(self) -> bool {
        matches!(self, Self::Authenticated(_))
    }
}

/// One security decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// `/token` answered 200. `family` is the refresh-token family (one login).
    TokenIssued {
        grant_type: &'a str,
        client_id: &'a str,
        subject: &'a str,
        scope: &'a str,
        family: Option<&'a str>,
    },
    /// `/token` answered an error. `reason` is the OAuth error code; the username (password
    /// grant, when sent) is kept only as a short hash: people type passwords into it.
    TokenRefused {
        grant_type: Option<&'a str>,
        client: Client<'a>,
        reason: &'a str,
        status: u16,
        /// [`username_hash`] of the username sent, if any.
        username_hash: Option<&'a str>,
    },
    /// A refresh grant rotated the family's token.
    RefreshRotated {
        client_id: &'a str,
        subject: &'a str,
        family: &'a str,
    },
    /// A used refresh token came back (or lost a race): the family is revoked.
    RefreshReuseDetected {
        client_id: &'a str,
        family: &'a str,
        cause: &'a str,
    },
    /// `POST /revoke` revoked a family.
    TokenRevoked { client_id: &'a str, family: &'a str },
    /// A username reached the failure limit and is locked.
    LockoutStarted {
        client_id: &'a str,
        username: &'a str,
        locked_for_seconds: u64,
    },
    /// Reserved: revoking a user's sessions does not exist yet.
    SessionRevoked { actor: &'a str, subject: &'a str },
    /// The admin CLI changed a client or a key. `changes` names the fields, never their values.
    AdminChange {
        actor: &'a str,
        action: &'a str,
        target: &'a str,
        changes: &'a [&'a str],
    },
}

impl Event<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::TokenIssued { .. } => "token_issued",
            Self::TokenRefused { .. } => "token_refused",
            Self::RefreshRotated { .. } => "refresh_rotated",
            Self::RefreshReuseDetected { .. } => "refresh_reuse_detected",
            Self::TokenRevoked { .. } => "token_revoked",
            Self::LockoutStarted { .. } => "lockout_started",
            Self::SessionRevoked { .. } => "session_revoked",
            Self::AdminChange { .. } => "admin_change",
        }
    }

    /// Whether the request's client authenticated, which decides how its origin is written.
    fn authenticated(&self) -> bool {
        match self {
            Self::TokenRefused { client, .. } => client.authenticated(),
            _ => true,
        }
    }
}

/// The line as written: fixed members first, then the event's, then the origin.
#[derive(Serialize)]
struct Line<'a> {
    audit: u8,
    event: &'static str,
    time: u64,
    #[serde(flatten)]
    fields: Fields<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent_hash: Option<String>,
}

/// The event's own members. Every field is optional so each event writes only its own.
#[derive(Serialize, Default)]
struct Fields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_revoked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locked_for_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<&'a [&'a str]>,
}

fn fields<'a>(event: &Event<'a>) -> Fields<'a> {
    match *event {
        Event::TokenIssued {
            grant_type,
            client_id,
            subject,
            scope,
            family,
        } => Fields {
            grant_type: Some(grant_type),
            client_id: Some(client_id),
            subject: Some(subject),
            scope: Some(scope),
            family,
            ..Fields::default()
        },
        Event::TokenRefused {
            grant_type,
            client,
            reason,
            status,
            username_hash,
        } => {
            let (client_id, client_id_hash) = match client {
                Client::Authenticated(id) | Client::Named(id) => (Some(id), None),
                Client::Unauthenticated(id) => (None, Some(short_hash(id))),
                Client::Hashed(hash) => (None, Some(hash.to_owned())),
                Client::Absent => (None, None),
            };
            Fields {
                grant_type,
                client_id,
                client_id_hash,
                reason: Some(reason),
                status: Some(status),
                username_hash: username_hash.map(str::to_owned),
                ..Fields::default()
            }
        }
        Event::RefreshRotated {
            client_id,
            subject,
            family,
        } => Fields {
            grant_type: Some("refresh_token"),
            client_id: Some(client_id),
            subject: Some(subject),
            family: Some(family),
            ..Fields::default()
        },
        Event::RefreshReuseDetected {
            client_id,
            family,
            cause,
        } => Fields {
            client_id: Some(client_id),
            family: Some(family),
            cause: Some(cause),
            family_revoked: Some(true),
            ..Fields::default()
        },
        Event::TokenRevoked { client_id, family } => Fields {
            client_id: Some(client_id),
            family: Some(family),
            ..Fields::default()
        },
        Event::LockoutStarted {
            client_id,
            username,
            locked_for_seconds,
        } => Fields {
            client_id: Some(client_id),
            username_hash: Some(username_hash(username)),
            locked_for_seconds: Some(locked_for_seconds),
            ..Fields::default()
        },
        Event::SessionRevoked { actor, subject } => Fields {
            actor: Some(actor),
            subject: Some(subject),
            ..Fields::default()
        },
        Event::AdminChange {
            actor,
            action,
            target,
            changes,
        } => Fields {
            actor: Some(actor),
            action: Some(action),
            target: Some(target),
            changes: Some(changes),
            ..Fields::default()
        },
    }
}

/// Usernames that the lockout counts as one (case, width, surrounding whitespace) hash alike.
pub fn username_hash(username: &str) -> String {
    short_hash(&canonical_username(username.trim()))
}

/// The event as one JSON line (no newline), at `time` (milliseconds since the epoch).
pub fn render(event: &Event<'_>, origin: &Origin, time: u64) -> String {
    let authenticated = event.authenticated();
    let line = Line {
        audit: SCHEMA_VERSION,
        event: event.name(),
        time,
        fields: fields(event),
        source_ip: origin.source_ip.as_deref(),
        user_agent: origin.user_agent.as_deref().filter(|_| authenticated),
        user_agent_hash: origin
            .user_agent
            .as_deref()
            .filter(|_| !authenticated)
            .map(short_hash),
    };
    // Serializing these plain fields cannot fail; an empty line would be noticed in tests.
    serde_json::to_string(&line).unwrap_or_default()
}

#[cfg(test)]
mod tests;
