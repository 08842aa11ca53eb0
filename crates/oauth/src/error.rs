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
    /// The authorization endpoint's codes (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6),
    /// sent back to the client's redirect URI: a `response_type` other than `code`; `prompt=none`
    /// without a signed-in user (Tollgate keeps no sign-in between requests); a request object.
    UnsupportedResponseType,
    LoginRequired,
    RequestNotSupported,
    /// A bearer token refused at `/userinfo` (RFC 6750 §3.1): `401` with `WWW-Authenticate`.
    InvalidToken,
    /// A bearer token without the scope `/userinfo` needs (`openid`): `403`.
    InsufficientScope,
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
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }

    /// RFC 6749 §5.2: 400 for everything but client authentication failures (401). A dependency
    /// that is down is 503 so that clients and load balancers retry rather than give up.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
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
