//! Changes to a client record, as the admin CLI asks for them and the store writes them.

use serde::Serialize;
use tollgate_oauth::scope::Scopes;

use super::{Client, GrantType, PasswordGrantSunset, PreviousSecret, ResponseProfile};

/// Changes to a client record; `None` leaves a field as it is.
///
/// Serialized, it holds only the fields it names, under the attribute names of [`Client`]; a
/// cleared lifetime (`Some(None)`) serializes as null, which the store turns into a removal.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClientUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<String>,
    /// `Some(None)` drops the previous secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<Option<PreviousSecret>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<GrantType>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_scopes: Option<Scopes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_scopes: Option<Scopes>,
    /// `Some(None)` returns the lifetime to the deployment's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<Option<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl: Option<Option<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_family_ttl: Option<Option<u64>>,
    /// `Some(None)` returns the limit to the deployment's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<Option<u32>>,
    /// `Some(None)` clears the sunset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_grant_sunset: Option<Option<PasswordGrantSunset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_profile: Option<ResponseProfile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspect_any: Option<bool>,
    /// `Some(None)` returns the grace window to the deployment's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_reuse_grace: Option<Option<u64>>,
    /// Set when the client is created (`create-client --public`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
}

impl ClientUpdate {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The record as it will be after the update.
    pub fn apply_to(&self, c: &Client) -> Client {
        let mut c = c.clone();
        if let Some(v) = &self.name {
            c.name.clone_from(v);
        }
        if let Some(v) = &self.secret_hash {
            c.secret_hash.clone_from(v);
        }
        if let Some(v) = &self.previous_secret {
            c.previous_secret.clone_from(v);
        }
        if let Some(v) = self.enabled {
            c.enabled = v;
        }
        if let Some(v) = &self.grant_types {
            c.grant_types.clone_from(v);
        }
        if let Some(v) = &self.allowed_scopes {
            c.allowed_scopes = v.clone();
        }
        if let Some(v) = &self.default_scopes {
            c.default_scopes = v.clone();
        }
        if let Some(v) = self.access_token_ttl {
            c.access_token_ttl = v;
        }
        if let Some(v) = self.refresh_token_ttl {
            c.refresh_token_ttl = v;
        }
        if let Some(v) = self.refresh_family_ttl {
            c.refresh_family_ttl = v;
        }
        if let Some(v) = self.rate_limit {
            c.rate_limit = v;
        }
        if let Some(v) = self.password_grant_sunset {
            c.password_grant_sunset = v;
        }
        if let Some(v) = self.response_profile {
            c.response_profile = v;
        }
        if let Some(v) = self.introspect_any {
            c.introspect_any = v;
        }
        if let Some(v) = self.refresh_reuse_grace {
            c.refresh_reuse_grace = v;
        }
        self.apply_sign_in(&mut c);
        c
    }

    /// The code flow's settings: public or not, and the redirect URIs.
    fn apply_sign_in(&self, c: &mut Client) {
        if let Some(v) = self.public {
            c.public = v;
        }
        if let Some(v) = &self.redirect_uris {
            c.redirect_uris.clone_from(v);
        }
        if let Some(v) = &self.post_logout_redirect_uris {
            c.post_logout_redirect_uris.clone_from(v);
        }
    }
}
