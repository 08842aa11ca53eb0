//! How a token, revocation or introspection request ends when it does not succeed: the
//! domain's view (rejected with the OAuth error the client may know, a dependency unavailable
//! with its source, Tollgate's own failure). The edge (the token function's handler) turns it
//! into a response and logs the cause once.

use tollgate_oauth::error::{Description, ErrorCode, Fact, OAuthError};

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
    #[error("revocation store failed")]
    RevocationStore(#[source] BoxError),
    #[error("refresh token rotation refused with its family unchanged")]
    RotationRefused,
    #[error("legacy refresh endpoint failed")]
    LegacyRefresh(#[source] BoxError),
    #[error("legacy refresh token take-over still contended after retries")]
    LegacyContended,
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
