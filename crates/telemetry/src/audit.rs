//! Audit events: one JSON line on stdout per security decision, in a stable, versioned schema
//! (docs/audit.md). Every field is a name Tollgate chose, an identifier, or a short hash: no
//! constructor here takes a `Secret`, a password or a token, and what a client sent before it
//! authenticated (its claimed client_id, its User-Agent) appears only as a short hash.

use serde::Serialize;

use crate::hash::short_hash;

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
        &[
            "grant_type",
            "client_id",
            "subject",
            "scope",
            "family",
            "password_grant_sunset",
        ],
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
    ("access_token_revoked", &["client_id", "jti"]),
    (
        "lockout_started",
        &["client_id", "username_hash", "locked_for_seconds"],
    ),
    (
        "session_revoked",
        &["actor", "subject", "client_id", "sessions"],
    ),
    ("admin_change", &["actor", "action", "target", "changes"]),
    ("rate_limited", &["client_id", "limit", "window_start"]),
    ("refresh_replayed", &["client_id", "subject", "family"]),
    (
        "session_ended",
        &["client_id", "subject", "family", "cause"],
    ),
    ("code_issued", &["client_id", "subject", "scope"]),
    ("sign_in_refused", &["client_id", "reason", "username_hash"]),
    (
        "code_reuse_detected",
        &["client_id", "family", "family_revoked"],
    ),
    (
        "legacy_refresh_accepted",
        &["client_id", "subject", "family", "token_hash"],
    ),
    (
        "legacy_refresh_reuse",
        &["client_id", "family", "token_hash"],
    ),
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

/// A short hash of a username in its canonical form, the one the lockout counts it under
/// (case, width, surrounding whitespace folded: `tollgate_service::lockout::username_hash` makes
/// it), so one person's attempts correlate. The only way a username enters an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UsernameHash(String);

impl UsernameHash {
    /// The hash of a username already in its canonical form.
    pub fn of_canonical(canonical: &str) -> Self {
        Self(short_hash(canonical))
    }

    /// The hash as audit lines write it.
    pub fn as_str(&self) -> &str {
        &self.0
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

/// Written as `client_id` or `client_id_hash` (or nothing) among the event's members.
impl Serialize for Client<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        match *self {
            Self::Authenticated(id) | Self::Named(id) => map.serialize_entry("client_id", id)?,
            Self::Unauthenticated(id) => map.serialize_entry("client_id_hash", &short_hash(id))?,
            Self::Hashed(hash) => map.serialize_entry("client_id_hash", hash)?,
            Self::Absent => {}
        }
        map.end()
    }
}

/// One security decision, serialized as its `event` name and its own members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// `/token` answered 200. `family` is the refresh-token family (one login).
    TokenIssued {
        grant_type: &'a str,
        client_id: &'a str,
        subject: &'a str,
        scope: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        family: Option<&'a str>,
        /// A password grant of a client whose password grant ends: that date (RFC 3339, UTC),
        /// so the uses still to move off it can be counted.
        #[serde(skip_serializing_if = "Option::is_none")]
        password_grant_sunset: Option<String>,
    },
    /// `/token` answered an error. `reason` is the OAuth error code; the username (password
    /// grant, when sent) is kept only as a short hash: people type passwords into it.
    TokenRefused {
        #[serde(skip_serializing_if = "Option::is_none")]
        grant_type: Option<&'a str>,
        #[serde(flatten)]
        client: Client<'a>,
        reason: &'a str,
        status: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        username_hash: Option<UsernameHash>,
    },
    /// A refresh grant rotated the family's token (`grant_type` is `refresh_token`).
    RefreshRotated {
        grant_type: &'a str,
        client_id: &'a str,
        subject: &'a str,
        family: &'a str,
    },
    /// A used refresh token came back (or lost a race): the family is revoked, so
    /// `family_revoked` is always true.
    RefreshReuseDetected {
        client_id: &'a str,
        family: &'a str,
        cause: &'a str,
        family_revoked: bool,
    },
    /// A rotated refresh token came back within the client's grace window, before its
    /// successor was used: the same successor was returned with a new access token.
    RefreshReplayed {
        client_id: &'a str,
        subject: &'a str,
        family: &'a str,
    },
    /// The user-status endpoint said the user is gone or disabled: the family is revoked.
    SessionEnded {
        client_id: &'a str,
        subject: &'a str,
        family: &'a str,
        cause: &'a str,
    },
    /// `POST /revoke` revoked a family.
    TokenRevoked { client_id: &'a str, family: &'a str },
    /// `POST /revoke` revoked an access token without a session, by its `jti`.
    AccessTokenRevoked { client_id: &'a str, jti: &'a str },
    /// A username reached the failure limit and is locked.
    LockoutStarted {
        client_id: &'a str,
        username_hash: UsernameHash,
        locked_for_seconds: u64,
    },
    /// A `/token` request over its client's per-minute limit, refused with `429`.
    RateLimited {
        client_id: &'a str,
        limit: u32,
        /// The start of the minute it was counted in (seconds since the epoch).
        window_start: u64,
    },
    /// An operator ended sessions (`tollgate-admin revoke-sessions`, or the IAM-only
    /// `POST /sessions/revoke`): a user's (`subject`, optionally only with `client_id`) or every
    /// session of `client_id`. `sessions` is how many were active and are now revoked.
    SessionRevoked {
        actor: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        subject: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<&'a str>,
        sessions: u64,
    },
    /// A user signed in on the sign-in page (`POST /authorize`): the client gets an
    /// authorization code for `subject`.
    CodeIssued {
        client_id: &'a str,
        subject: &'a str,
        scope: &'a str,
    },
    /// The sign-in page refused a post of a known client: `reason` is `wrong_credentials`,
    /// `locked`, `rate_limited` or `unavailable`; the username only as a short hash.
    SignInRefused {
        client_id: &'a str,
        reason: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        username_hash: Option<UsernameHash>,
    },
    /// A used authorization code came back (RFC 6749 §4.1.2): the session its first exchange
    /// started is revoked, so `family_revoked` is always true.
    CodeReuseDetected {
        client_id: &'a str,
        family: &'a str,
        family_revoked: bool,
    },
    /// A refresh token of the system Tollgate replaced was accepted (its first use): `family`
    /// is the session it became; `token_hash` the legacy token's short hash, never the token.
    LegacyRefreshAccepted {
        client_id: &'a str,
        subject: &'a str,
        family: &'a str,
        token_hash: &'a str,
    },
    /// A legacy refresh token that started a session already came back: refused
    /// (`invalid_grant`); `family` is the session its first use started, left as it is.
    LegacyRefreshReuse {
        client_id: &'a str,
        family: &'a str,
        token_hash: &'a str,
    },
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
            Self::RefreshReplayed { .. } => "refresh_replayed",
            Self::SessionEnded { .. } => "session_ended",
            Self::TokenRevoked { .. } => "token_revoked",
            Self::AccessTokenRevoked { .. } => "access_token_revoked",
            Self::LockoutStarted { .. } => "lockout_started",
            Self::RateLimited { .. } => "rate_limited",
            Self::SessionRevoked { .. } => "session_revoked",
            Self::AdminChange { .. } => "admin_change",
            Self::CodeIssued { .. } => "code_issued",
            Self::SignInRefused { .. } => "sign_in_refused",
            Self::CodeReuseDetected { .. } => "code_reuse_detected",
            Self::LegacyRefreshAccepted { .. } => "legacy_refresh_accepted",
            Self::LegacyRefreshReuse { .. } => "legacy_refresh_reuse",
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

/// The line as written: the version and time, the event's members, then the origin.
#[derive(Serialize)]
struct Line<'a> {
    audit: u8,
    time: u64,
    #[serde(flatten)]
    event: &'a Event<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent_hash: Option<String>,
}

/// The event as one JSON line (no newline), at `time` (milliseconds since the epoch).
pub fn render(event: &Event<'_>, origin: &Origin, time: u64) -> String {
    let authenticated = event.authenticated();
    let line = Line {
        audit: SCHEMA_VERSION,
        time,
        event,
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
