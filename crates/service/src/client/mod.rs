//! OAuth clients: the record kept in DynamoDB, its grant types and the rules it keeps; how it
//! changes (`update`) and how a client proves who it is (`authenticate`).

mod authenticate;
pub mod redirect;
mod update;

pub use authenticate::{
    AuthenticateError, ClientCredentials, ClientRejection, PreviousSecret, authenticate,
    authenticate_at, authenticate_with,
};
pub use update::ClientUpdate;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tollgate_oauth::scope::Scopes;

/// The grant types a client record may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GrantType {
    #[serde(rename = "password")]
    Password,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    /// RFC 6749 §4.1 with PKCE: the sign-in page (`/authorize`), then the code at `/token`.
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
}

impl GrantType {
    /// Every grant Tollgate serves: the metadata document, the token function and the admin
    /// CLI all read this one list.
    pub const ALL: [Self; 4] = [
        Self::AuthorizationCode,
        Self::Password,
        Self::RefreshToken,
        Self::ClientCredentials,
    ];

    /// What a new client may use unless it names its grants: the user grants. A machine client
    /// (`client_credentials`) is always asked for by name.
    pub const DEFAULT: [Self; 2] = [Self::Password, Self::RefreshToken];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// The names of [`GrantType::ALL`], for documents and messages.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|g| g.as_str()).collect()
    }
}

/// A client, as stored: confidential (only the hash of its secret is kept) or public (no secret;
/// the code flow with PKCE and refresh only).
///
/// The serde mapping is the stored shape (the DynamoDB adapter reads and writes it with
/// `serde_dynamo`): attribute names are the field names; a missing optional attribute reads as
/// its default, and an unset lifetime is left out rather than stored as `NULL`.
///
/// `Default` is no client (an empty id, disabled, no grant): only a base to fill in, as
/// [`Client::create`] does; [`Client::check`] refuses it as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    #[serde(default)]
    pub name: String,
    pub secret_hash: String,
    /// The secret being replaced during a rotation, still accepted until it is retired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<PreviousSecret>,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub grant_types: Vec<GrantType>,
    #[serde(default)]
    pub allowed_scopes: Scopes,
    #[serde(default)]
    pub default_scopes: Scopes,
    /// Overrides of the deployment's lifetimes, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_family_ttl: Option<u64>,
    /// Requests per minute this client may make to `/token`; `Some(0)` is unlimited, `None` the
    /// deployment's `RATE_LIMIT_PER_MINUTE` (see `crate::rate_limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// When this client's password grant ends (and since when it is deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_grant_sunset: Option<PasswordGrantSunset>,
    /// How `/token` answers this client: RFC 6749 (the default) or as Apigee did.
    #[serde(default, skip_serializing_if = "ResponseProfile::is_default")]
    pub response_profile: ResponseProfile,
    /// Override of the deployment's refresh reuse grace window, in seconds (0 = off for this
    /// client, at most [`MAX_GRACE_SECONDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_reuse_grace: Option<u64>,
    #[serde(default)]
    pub created_at: u64,
    /// May introspect (RFC 7662) tokens issued to any client, e.g. a resource server; without
    /// it a client introspects only its own tokens.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub introspect_any: bool,
    /// A public client (`token_endpoint_auth_method` `none`: a browser or native app that
    /// cannot keep a secret): no secret, only the code flow and refresh, its refresh tokens
    /// bound to it as every client's are.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
    /// Where `/authorize` may send its answers: each compared by exact string (`redirect`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// Where `/end_session` may send the browser after signing out (OpenID Connect RP-initiated
    /// logout), compared the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
}

/// The end of a client's password grant (RFC 9700 §2.4: the grant must not be used): from
/// `deprecated_at` its password-grant responses carry `Deprecation` (RFC 9745) and `Sunset`
/// (RFC 8594) headers; from `sunset_at` the grant is refused. Both in seconds since the epoch;
/// stored as one map attribute, so clearing it is one `REMOVE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordGrantSunset {
    pub sunset_at: u64,
    /// When the operator set the sunset: the date the `Deprecation` header announces.
    pub deprecated_at: u64,
}

impl PasswordGrantSunset {
    /// Whether the password grant has ended at `now`.
    pub fn passed_at(&self, now: u64) -> bool {
        now >= self.sunset_at
    }
}

/// The shape of `/token` answers for one client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResponseProfile {
    /// RFC 6749 §5.1 and §5.2.
    #[default]
    #[serde(rename = "rfc6749")]
    Rfc6749,
    /// Apigee's OAuthV2 policy with `RFCCompliantRequestResponse` false (docs/apigee-migration.md).
    #[serde(rename = "apigee")]
    Apigee,
}

impl ResponseProfile {
    pub const ALL: [Self; 2] = [Self::Rfc6749, Self::Apigee];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rfc6749 => "rfc6749",
            Self::Apigee => "apigee",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl Client {
    /// A plain client for tests: enabled, the user grants, scopes `read write` (default
    /// `read`), no overrides. Tests change what they need with `..Client::for_tests(..)`, so a
    /// new field is added here once, not in every test.
    #[cfg(any(test, feature = "testkit"))]
    pub fn for_tests(id: &str, secret: &str) -> Self {
        Self {
            client_id: id.into(),
            name: id.into(),
            secret_hash: tollgate_oauth::secret::Secret::new(secret).hash(),
            enabled: true,
            grant_types: GrantType::DEFAULT.to_vec(),
            allowed_scopes: Scopes::parse("read write").unwrap_or_default(),
            default_scopes: Scopes::parse("read").unwrap_or_default(),
            ..Self::default()
        }
    }

    /// A new client record: enabled, with `settings` applied, allowed the user grants
    /// ([`GrantType::DEFAULT`]) unless `settings` names some, and checked against the record's rules.
    pub fn create(
        client_id: &str,
        secret_hash: String,
        created_at: u64,
        settings: &ClientUpdate,
    ) -> Result<Self, ClientRuleError> {
        let blank = Self {
            client_id: client_id.to_owned(),
            secret_hash,
            enabled: true,
            grant_types: GrantType::DEFAULT.to_vec(),
            created_at,
            ..Self::default()
        };
        let client = settings.apply_to(&blank);
        client.check()?;
        Ok(client)
    }

    /// Only a disabled client may be deleted: disabling first stops its tokens being refreshed
    /// while an operator can still change their mind.
    pub fn may_be_deleted(&self) -> bool {
        !self.enabled
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// How the sign-in page and the audit trail name it: its name, else its id.
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            &self.client_id
        } else {
            &self.name
        }
    }

    /// The rules every stored record keeps; the admin CLI checks them before each write.
    pub fn check(&self) -> Result<(), ClientRuleError> {
        if !is_valid_client_id(&self.client_id) {
            return Err(ClientRuleError::BadId);
        }
        if self.grant_types.is_empty() {
            return Err(ClientRuleError::NoGrantTypes);
        }
        if self.allows(GrantType::ClientCredentials) && self.grant_types.len() > 1 {
            return Err(ClientRuleError::MachineClientMixed);
        }
        if !self.default_scopes.is_subset_of(&self.allowed_scopes) {
            return Err(ClientRuleError::DefaultScopesOutside);
        }
        for (name, ttl) in [
            ("access-token", self.access_token_ttl),
            ("refresh-token", self.refresh_token_ttl),
            ("refresh-family", self.refresh_family_ttl),
        ] {
            if ttl == Some(0) {
                return Err(ClientRuleError::ZeroLifetime(name));
            }
        }
        for (name, ttl, max) in [
            ("access-token", self.access_token_ttl, MAX_ACCESS_TOKEN_TTL),
            (
                "refresh-token",
                self.refresh_token_ttl,
                MAX_REFRESH_TOKEN_TTL,
            ),
            (
                "refresh-family",
                self.refresh_family_ttl,
                MAX_REFRESH_FAMILY_TTL,
            ),
        ] {
            if ttl.is_some_and(|t| t > max) {
                return Err(ClientRuleError::LifetimeTooLong(name, max));
            }
        }
        if self.rate_limit.is_some_and(|l| l > MAX_RATE_LIMIT) {
            return Err(ClientRuleError::RateLimitTooHigh(MAX_RATE_LIMIT));
        }
        if self
            .refresh_reuse_grace
            .is_some_and(|g| g > MAX_GRACE_SECONDS)
        {
            return Err(ClientRuleError::GraceTooLong(MAX_GRACE_SECONDS));
        }
        self.check_sign_in()
    }
}

/// The longest lifetimes any client may have, in seconds: a day for access tokens (they cannot
/// be revoked), 90 days for a refresh token and a year for a family (one login). The token
/// function clamps to them too, so a record edited by hand cannot exceed them.
pub use tollgate_oauth::access_token::MAX_ACCESS_TOKEN_TTL;
pub const MAX_REFRESH_TOKEN_TTL: u64 = 90 * 24 * 3600;
pub const MAX_REFRESH_FAMILY_TTL: u64 = 365 * 24 * 3600;

/// The highest per-minute limit a client may be given (higher is what 0, unlimited, is for).
pub const MAX_RATE_LIMIT: u32 = 1_000_000;

/// The longest grace window, deployment-wide or per client (seconds), as Cognito's
/// `RetryGracePeriodSeconds`: long enough for a retry, short enough that a stolen rotated token
/// is of little use.
pub const MAX_GRACE_SECONDS: u64 = 60;

/// A client_id is 1 to 128 letters, digits, '-', '_' or '.': safe in a Basic header, a log line
/// and a table key without escaping.
pub fn is_valid_client_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Why a client record would break a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientRuleError {
    #[error("a client_id is 1 to 128 letters, digits, '-', '_' or '.'")]
    BadId,
    #[error(
        "a client needs at least one grant type (authorization_code, password, refresh_token, client_credentials)"
    )]
    NoGrantTypes,
    /// A token whose `sub` is its own `client_id` then always means a machine client, never a
    /// user who happens to have that id.
    #[error("client_credentials cannot be combined with other grant types: use a separate client")]
    MachineClientMixed,
    #[error("the default scopes must be within the allowed scopes")]
    DefaultScopesOutside,
    #[error("the {0} lifetime must be greater than 0 (or the deployment's default)")]
    ZeroLifetime(&'static str),
    #[error("the {0} lifetime may be at most {1} seconds")]
    LifetimeTooLong(&'static str, u64),
    #[error("the rate limit may be at most {0} requests a minute (0 means unlimited)")]
    RateLimitTooHigh(u32),
    #[error("the refresh reuse grace window may be at most {0} seconds")]
    GraceTooLong(u64),
    #[error(
        "a public client may use only the authorization_code and refresh_token grants, and may not introspect others' tokens"
    )]
    PublicGrant,
    #[error("the authorization_code grant needs at least one redirect URI (--redirect-uris)")]
    NoRedirectUri,
    #[error("at most {0} redirect URIs of each kind")]
    TooManyRedirectUris(usize),
    #[error("redirect URI {0:?}: {1}")]
    RedirectUri(String, redirect::RedirectUriError),
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    fn client() -> Client {
        Client {
            client_id: "app-1".into(),
            name: "App".into(),
            secret_hash: "sha256:x".into(),
            previous_secret: None,
            enabled: true,
            grant_types: vec![GrantType::Password],
            allowed_scopes: Scopes::parse("a b").unwrap_or_default(),
            default_scopes: Scopes::parse("a").unwrap_or_default(),
            access_token_ttl: Some(60),
            refresh_token_ttl: None,
            refresh_family_ttl: None,
            rate_limit: None,
            password_grant_sunset: None,
            response_profile: ResponseProfile::default(),
            refresh_reuse_grace: None,
            created_at: 1,
            introspect_any: false,
            public: false,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
        }
    }

    #[test]
    fn an_update_changes_only_what_it_names() {
        let u = ClientUpdate {
            enabled: Some(false),
            access_token_ttl: Some(None),
            ..ClientUpdate::default()
        };
        let after = u.apply_to(&client());
        assert!(!after.enabled);
        assert_eq!(after.access_token_ttl, None);
        assert_eq!(
            Client {
                enabled: true,
                access_token_ttl: Some(60),
                ..after
            },
            client()
        );
        assert!(ClientUpdate::default().is_empty() && !u.is_empty());
    }

    #[test]
    fn records_that_break_a_rule_are_refused() {
        assert_eq!(client().check(), Ok(()));
        let narrowed = ClientUpdate {
            allowed_scopes: Scopes::parse("b").ok(),
            ..ClientUpdate::default()
        };
        assert_eq!(
            narrowed.apply_to(&client()).check(),
            Err(ClientRuleError::DefaultScopesOutside)
        );
        let no_grants = ClientUpdate {
            grant_types: Some(vec![]),
            ..ClientUpdate::default()
        };
        assert_eq!(
            no_grants.apply_to(&client()).check(),
            Err(ClientRuleError::NoGrantTypes)
        );
        for mixed in [
            vec![GrantType::ClientCredentials, GrantType::Password],
            vec![GrantType::RefreshToken, GrantType::ClientCredentials],
        ] {
            let u = ClientUpdate {
                grant_types: Some(mixed),
                ..ClientUpdate::default()
            };
            assert_eq!(
                u.apply_to(&client()).check(),
                Err(ClientRuleError::MachineClientMixed)
            );
        }
        let machine = ClientUpdate {
            grant_types: Some(vec![GrantType::ClientCredentials]),
            ..ClientUpdate::default()
        };
        assert_eq!(machine.apply_to(&client()).check(), Ok(()));
        let zero = ClientUpdate {
            refresh_token_ttl: Some(Some(0)),
            ..ClientUpdate::default()
        };
        assert_eq!(
            zero.apply_to(&client()).check(),
            Err(ClientRuleError::ZeroLifetime("refresh-token"))
        );
        for bad in [
            "",
            "has space",
            "ümlaut",
            "a/b",
            "tab\there",
            "nul\0",
            &"x".repeat(129),
            &"x".repeat(3000),
        ] {
            assert!(!is_valid_client_id(bad), "{bad:?}");
        }
        assert!(is_valid_client_id("my-app_2.prod"));
        assert!(is_valid_client_id(&"x".repeat(128)));
    }

    #[test]
    fn a_ten_year_or_overflowing_lifetime_is_refused() {
        let ten_years = 10 * 365 * 24 * 3600;
        for (update, name, max) in [
            (
                ClientUpdate {
                    access_token_ttl: Some(Some(ten_years)),
                    ..ClientUpdate::default()
                },
                "access-token",
                MAX_ACCESS_TOKEN_TTL,
            ),
            (
                ClientUpdate {
                    refresh_token_ttl: Some(Some(u64::MAX)),
                    ..ClientUpdate::default()
                },
                "refresh-token",
                MAX_REFRESH_TOKEN_TTL,
            ),
            (
                ClientUpdate {
                    refresh_family_ttl: Some(Some(ten_years)),
                    ..ClientUpdate::default()
                },
                "refresh-family",
                MAX_REFRESH_FAMILY_TTL,
            ),
        ] {
            assert_eq!(
                update.apply_to(&client()).check(),
                Err(ClientRuleError::LifetimeTooLong(name, max))
            );
        }
        let at_max = ClientUpdate {
            refresh_family_ttl: Some(Some(MAX_REFRESH_FAMILY_TTL)),
            ..ClientUpdate::default()
        };
        assert_eq!(at_max.apply_to(&client()).check(), Ok(()));
    }

    #[test]
    fn a_rate_limit_above_the_maximum_is_refused_and_0_means_unlimited() {
        let limit = |n| ClientUpdate {
            rate_limit: Some(Some(n)),
            ..ClientUpdate::default()
        };
        assert_eq!(
            limit(MAX_RATE_LIMIT + 1).apply_to(&client()).check(),
            Err(ClientRuleError::RateLimitTooHigh(MAX_RATE_LIMIT))
        );
        for ok in [0, 1, MAX_RATE_LIMIT] {
            assert_eq!(limit(ok).apply_to(&client()).check(), Ok(()), "{ok}");
        }
    }

    #[test]
    fn profiles_and_sunsets_read_and_write_their_names() {
        for p in ResponseProfile::ALL {
            assert_eq!(ResponseProfile::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert_eq!(ResponseProfile::parse("Apigee"), None);
        // The default profile is not stored; a record without one reads as RFC 6749.
        let v = serde_json::to_value(client()).unwrap();
        assert!(v.get("response_profile").is_none() && v.get("rate_limit").is_none());
        let s = PasswordGrantSunset {
            sunset_at: 100,
            deprecated_at: 50,
        };
        assert!(!s.passed_at(99) && s.passed_at(100) && s.passed_at(101));
    }
}

/// Failures of a client store. The source is kept so throttling stays distinguishable.
#[derive(Debug, thiserror::Error)]
pub enum ClientStoreError {
    #[error("failed to read client record")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("client record is malformed: {0}")]
    Malformed(String),
    #[error("client already exists")]
    AlreadyExists,
    #[error("no such client")]
    NotFound,
    #[error("failed to write client record")]
    WriteFailed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn get(&self, client_id: &str) -> Result<Option<Client>, ClientStoreError>;
    /// Creates the record; fails with `AlreadyExists` rather than overwrite.
    async fn create(&self, client: &Client) -> Result<(), ClientStoreError>;
    /// Every client, ordered by client_id.
    async fn list(&self) -> Result<Vec<Client>, ClientStoreError>;
    /// Changes an existing record and returns it as stored; `NotFound` if there is none (an
    /// update never creates a client).
    async fn update(
        &self,
        client_id: &str,
        update: &ClientUpdate,
    ) -> Result<Client, ClientStoreError>;
    /// Removes the record; `NotFound` if there is none.
    async fn delete(&self, client_id: &str) -> Result<(), ClientStoreError>;
}

#[cfg(test)]
mod overlap_tests;
