//! Which endpoint a request came to: the one place a path is read, and what each endpoint's
//! requests are counted and logged as.

/// Which endpoint a path names. Matched by suffix, so the function works behind any stage or
/// base path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Jwks,
    Metadata,
    SessionsRevoke,
    Introspect,
    Token,
    Revoke,
    /// The sign-in page of the code flow (`GET` shows it, `POST` is its form).
    Authorize,
    /// OpenID Connect: the user's claims, RP-initiated logout, the discovery document.
    Userinfo,
    EndSession,
    OpenIdConfiguration,
    Unknown,
}

impl Route {
    pub fn of(path: &str) -> Self {
        let path = path.trim_end_matches('/');
        let ends = |suffix: &str| path.ends_with(suffix);
        if ends("/.well-known/jwks.json") {
            Self::Jwks
        } else if ends("/.well-known/oauth-authorization-server") {
            Self::Metadata
        } else if ends("/.well-known/openid-configuration") {
            Self::OpenIdConfiguration
        } else if ends("/sessions/revoke") {
            // Before `/revoke`, which it ends with.
            Self::SessionsRevoke
        } else if ends("/introspect") {
            Self::Introspect
        } else if ends("/token") {
            Self::Token
        } else if ends("/revoke") {
            Self::Revoke
        } else if ends("/authorize") {
            Self::Authorize
        } else if ends("/userinfo") {
            Self::Userinfo
        } else if ends("/end_session") {
            Self::EndSession
        } else {
            Self::Unknown
        }
    }

    /// The `route` of its log lines.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jwks => "jwks",
            Self::Metadata => "metadata",
            Self::SessionsRevoke => "sessions_revoke",
            Self::Introspect => "introspect",
            Self::Token => "token",
            Self::Revoke => "revoke",
            Self::Authorize => "authorize",
            Self::Userinfo => "userinfo",
            Self::EndSession => "end_session",
            Self::OpenIdConfiguration => "openid_configuration",
            Self::Unknown => "unknown",
        }
    }

    /// Whether its requests are counted (the `Requests`, `Unavailable` and `Latency` metrics):
    /// the endpoints that authenticate a client or a user. The discovery documents and unknown
    /// paths are not.
    pub fn counted(self) -> bool {
        matches!(
            self,
            Self::Token
                | Self::Revoke
                | Self::Introspect
                | Self::SessionsRevoke
                | Self::Authorize
                | Self::Userinfo
                | Self::EndSession
        )
    }
}
