//! OAuth 2.0 error responses (RFC 6749 §5.2) and the HTTP status each one carries.

use std::fmt;

pub use description::{Description, Fact, is_description_text};

mod description;

/// The `error` codes Tollgate answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    TemporarilyUnavailable,
    ServerError,
    /// A client over its per-minute limit (`429`). RFC 6749 has no code for it; `slow_down` is
    /// the token-endpoint code of the IANA OAuth Extensions Error Registry (RFC 8628 §3.5) that
    /// says "ask less often" (docs/decisions.md, "Per-client rate limit").
    SlowDown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
            Self::SlowDown => "slow_down",
        }
    }

    /// RFC 6749 §5.2: 400 for everything but client authentication failures (401). A dependency
    /// that is down is 503 so that clients and load balancers retry rather than give up.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::TemporarilyUnavailable => 503,
            Self::ServerError => 500,
            Self::SlowDown => 429,
            _ => 400,
        }
    }
}

/// An error as the client sees it. The description is written for the client and never carries
/// internal detail, a credential, or anything the caller sent ([`Description`] cannot be built
/// from a request's text); internal causes are logged where they happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Description,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Description>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
    pub fn invalid_request(d: impl Into<Description>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<Description>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<Description>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_scope(d: impl Into<Description>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable; try again shortly",
        )
    }
    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a token or revocation request ended when it did not succeed: the domain's view. The
/// edge (the token function's handler) turns it into a response and logs the cause once.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Refused for a reason the client may know: the OAuth error it gets.
    #[error("{0}")]
    Rejected(OAuthError),
    /// A dependency failed or did not answer in time: `503 temporarily_unavailable`.
    #[error(transparent)]
    Unavailable(Unavailable),
    /// Tollgate itself failed: `500 server_error`.
    #[error(transparent)]
    Internal(Internal),
    /// The client used up its requests of this minute: `429 slow_down` with `Retry-After`.
    #[error("client over its rate limit of {limit} requests a minute")]
    RateLimited { limit: u32, retry_after: u64 },
}

/// Which dependency failed, with its error as the source. Each message is a log message
/// (docs/operations.md): operators alarm on them.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("no answer before the function's deadline")]
    Deadline { dependency: &'static str },
    #[error("client authentication failed")]
    ClientStore(#[source] BoxError),
    #[error("lockout check failed")]
    LockoutStore(#[source] BoxError),
    #[error("auth endpoint failed")]
    AuthEndpoint(#[source] BoxError),
    #[error("refresh-token store failed")]
    RefreshStore(#[source] BoxError),
    #[error("failed to store refresh token")]
    NewFamily(#[source] BoxError),
    #[error("rate-limit counter failed")]
    RateLimitStore(#[source] BoxError),
    #[error("user-status endpoint failed")]
    UserStatus(#[source] BoxError),
    #[error("refresh token rotation still contended after retries")]
    RotationContended,
}

/// A failure that is Tollgate's own, never the client's nor a dependency's.
#[derive(Debug, thiserror::Error)]
pub enum Internal {
    #[error("signing failed")]
    Signing(#[source] BoxError),
}

impl TokenError {
    /// The answer the client gets: never any internal detail.
    pub fn to_oauth(&self) -> OAuthError {
        match self {
            Self::Rejected(e) => e.clone(),
            Self::Unavailable(_) => OAuthError::unavailable(),
            Self::Internal(_) => {
                OAuthError::new(ErrorCode::ServerError, "the token could not be issued")
            }
            Self::RateLimited { limit, retry_after } => OAuthError::new(
                ErrorCode::SlowDown,
                Description::with(
                    "this client may make {} token requests a minute; try again in {} s",
                    &[Fact::Number((*limit).into()), Fact::Number(*retry_after)],
                ),
            ),
        }
    }
}

impl From<OAuthError> for TokenError {
    fn from(e: OAuthError) -> Self {
        Self::Rejected(e)
    }
}

impl From<Unavailable> for TokenError {
    fn from(e: Unavailable) -> Self {
        Self::Unavailable(e)
    }
}

/// An error and every source under it, `: `-separated, for the one log line of a failure.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
