//! The per-client flags `create-client` and `update-client` share, and how they become a
//! domain [`ClientUpdate`]: parsing here, the rules a record keeps in the domain.

use anyhow::Context;
use clap::Args;
use tollgate_oauth::clock::{Clock, SystemClock};
use tollgate_oauth::scope::Scopes;
use tollgate_service::client::{ClientUpdate, GrantType, PasswordGrantSunset, ResponseProfile};

/// A lifetime in seconds, or `default` for the deployment's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lifetime(Option<u64>);

fn parse_lifetime(s: &str) -> Result<Lifetime, String> {
    match s {
        "default" => Ok(Lifetime(None)),
        _ => match s.parse::<u64>() {
            Ok(0) | Err(_) => Err("a number of seconds greater than 0, or `default`".into()),
            Ok(n) => Ok(Lifetime(Some(n))),
        },
    }
}

/// A per-minute limit (`Some(0)` unlimited), or `None` for the deployment's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RateLimit(Option<u32>);

/// A sunset date in seconds since the epoch, or `None` to clear it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sunset(Option<u64>);

/// `--rate-limit`: requests a minute (0 unlimited), or `default` for the deployment's.
fn parse_rate_limit(s: &str) -> Result<RateLimit, String> {
    let why = || {
        format!(
            "a number of requests a minute up to {} (0 is unlimited), or `default`",
            tollgate_service::client::MAX_RATE_LIMIT
        )
    };
    match s {
        "default" => Ok(RateLimit(None)),
        _ => match s.parse::<u32>() {
            Ok(n) if n <= tollgate_service::client::MAX_RATE_LIMIT => Ok(RateLimit(Some(n))),
            _ => Err(why()),
        },
    }
}

/// `--password-grant-sunset`: an RFC 3339 date or date-time, or `none`.
fn parse_sunset(s: &str) -> Result<Sunset, String> {
    match s {
        "none" => Ok(Sunset(None)),
        _ => tollgate_service::sunset::parse_date(s).map(|t| Sunset(Some(t))),
    }
}

fn parse_profile(s: &str) -> Result<ResponseProfile, String> {
    ResponseProfile::parse(s).ok_or_else(|| "rfc6749 or apigee".into())
}

/// The per-client settings `create-client` and `update-client` share.
#[derive(Args)]
pub(crate) struct ClientSettings {
    /// A human-readable name.
    #[arg(long)]
    name: Option<String>,
    /// Space-separated scopes the client may request, e.g. "profile orders:read".
    #[arg(long)]
    scopes: Option<String>,
    /// Space-separated scopes granted when a request names none (must be within --scopes).
    #[arg(long)]
    default_scopes: Option<String>,
    /// Comma-separated grant types the client may use: password, refresh_token (the default
    /// both), authorization_code (the sign-in page; needs --redirect-uris), or
    /// client_credentials alone (a machine client).
    #[arg(long, value_delimiter = ',')]
    grant_types: Option<Vec<String>>,
    /// Space-separated redirect URIs of the code flow, each compared as an exact string:
    /// https, http to 127.0.0.1 or [::1], or an app's own scheme (com.example.app:/cb); never a
    /// fragment or a wildcard. "" removes them all.
    #[arg(long, value_delimiter = ' ')]
    redirect_uris: Option<Vec<String>>,
    /// Space-separated URIs the browser may be sent to after signing out (/end_session's
    /// post_logout_redirect_uri), by the same rules. "" removes them all.
    #[arg(long, value_delimiter = ' ')]
    post_logout_redirect_uris: Option<Vec<String>>,
    /// Access-token lifetime in seconds for this client, or `default` for the deployment's.
    #[arg(long, value_parser = parse_lifetime)]
    access_token_ttl: Option<Lifetime>,
    /// Lifetime of one refresh token in seconds, or `default`.
    #[arg(long, value_parser = parse_lifetime)]
    refresh_token_ttl: Option<Lifetime>,
    /// Absolute lifetime of a refresh-token family (one login) in seconds, or `default`.
    #[arg(long, value_parser = parse_lifetime)]
    refresh_family_ttl: Option<Lifetime>,
    /// `/token` requests a minute this client may make: a number (0 is unlimited), or
    /// `default` for the deployment's RATE_LIMIT_PER_MINUTE.
    #[arg(long, value_parser = parse_rate_limit, allow_negative_numbers = true)]
    rate_limit: Option<RateLimit>,
    /// When this client's password grant ends: an RFC 3339 date (2026-03-31, midnight UTC) or
    /// date-time (2026-03-31T12:00:00Z); `none` clears it. Until then its password-grant
    /// answers carry Deprecation and Sunset headers; from then it is refused.
    #[arg(long, value_parser = parse_sunset)]
    password_grant_sunset: Option<Sunset>,
    /// How `/token` answers this client: `rfc6749` (the default) or `apigee` (Apigee's
    /// OAuthV2 shape, docs/apigee-migration.md).
    #[arg(long, value_parser = parse_profile)]
    response_profile: Option<ResponseProfile>,
    /// true: the client may introspect (POST /introspect) tokens issued to any client, e.g. a
    /// resource server; false (the default): only its own.
    #[arg(long)]
    introspect_any: Option<bool>,
    /// Seconds after a rotation during which a retry with the rotated refresh token gets the
    /// same successor back (0 = off for this client, at most 60), or `default` for the
    /// deployment's REFRESH_REUSE_GRACE_SECONDS.
    #[arg(long, value_parser = parse_grace)]
    refresh_reuse_grace: Option<Lifetime>,
}

/// A URI list as given, without the empty entries (`""` clears the list).
fn uris(v: &Option<Vec<String>>) -> Option<Vec<String>> {
    v.as_ref().map(|l| {
        l.iter()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect()
    })
}

fn parse_grace(s: &str) -> Result<Lifetime, String> {
    let max = tollgate_service::client::MAX_GRACE_SECONDS;
    match s {
        "default" => Ok(Lifetime(None)),
        _ => match s.parse::<u64>() {
            Ok(n) if n <= max => Ok(Lifetime(Some(n))),
            _ => Err(format!("a number of seconds from 0 to {max}, or `default`")),
        },
    }
}

impl ClientSettings {
    pub(super) fn to_update(&self) -> anyhow::Result<ClientUpdate> {
        let scopes = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<Scopes>> {
            v.as_deref()
                .map(|s| Scopes::parse(s).map_err(|e| anyhow::anyhow!("{flag}: {}", e.description)))
                .transpose()
        };
        let grant_types = self
            .grant_types
            .as_ref()
            .map(|gs| {
                gs.iter()
                    .map(|g| {
                        GrantType::parse(g.trim()).with_context(|| {
                            format!(
                                "unknown grant type {g:?} (use {})",
                                GrantType::names().join(", ")
                            )
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?;
        Ok(ClientUpdate {
            name: self.name.clone(),
            secret_hash: None,
            previous_secret: None,
            enabled: None,
            grant_types,
            allowed_scopes: scopes("--scopes", &self.scopes)?,
            default_scopes: scopes("--default-scopes", &self.default_scopes)?,
            access_token_ttl: self.access_token_ttl.map(|l| l.0),
            refresh_token_ttl: self.refresh_token_ttl.map(|l| l.0),
            refresh_family_ttl: self.refresh_family_ttl.map(|l| l.0),
            rate_limit: self.rate_limit.map(|l| l.0),
            // Deprecated from the moment the operator sets the date.
            password_grant_sunset: self.password_grant_sunset.map(|at| {
                at.0.map(|sunset_at| PasswordGrantSunset {
                    sunset_at,
                    deprecated_at: SystemClock.now(),
                })
            }),
            response_profile: self.response_profile,
            introspect_any: self.introspect_any,
            refresh_reuse_grace: self.refresh_reuse_grace.map(|l| l.0),
            public: None,
            redirect_uris: uris(&self.redirect_uris),
            post_logout_redirect_uris: uris(&self.post_logout_redirect_uris),
        })
    }
}
