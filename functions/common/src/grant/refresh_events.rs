//! What the refresh grant tells the audit trail, and the one error every bad refresh token gets.

use crate::audit::Event;
use crate::client::{Client, GrantType};
use crate::error::OAuthError;
use crate::observe;
use crate::refresh::StoredToken;

/// The family's token was rotated: a new access token and refresh token were issued.
pub(super) fn rotated(client: &Client, old: &StoredToken, scope: &str) {
    observe::event(&Event::RefreshRotated {
        grant_type: GrantType::RefreshToken.as_str(),
        client_id: &client.client_id,
        subject: &old.grant.sub,
        family: &old.family_id,
    });
    issued(client, old, scope);
}

/// A retry within the grace window got the successor already issued, and a new access token.
pub(super) fn replayed(client: &Client, old: &StoredToken, scope: &str) {
    observe::event(&Event::RefreshReplayed {
        client_id: &client.client_id,
        subject: &old.grant.sub,
        family: &old.family_id,
    });
    issued(client, old, scope);
}

fn issued(client: &Client, old: &StoredToken, scope: &str) {
    observe::event(&Event::TokenIssued {
        grant_type: GrantType::RefreshToken.as_str(),
        client_id: &client.client_id,
        subject: &old.grant.sub,
        scope,
        family: Some(&old.family_id),
        password_grant_sunset: None,
    });
}

/// A used (or raced) refresh token came back and its family is now revoked.
pub(super) fn reuse_detected(client: &Client, family: &str, cause: &str) {
    observe::event(&Event::RefreshReuseDetected {
        client_id: &client.client_id,
        family,
        cause,
        family_revoked: true,
    });
}

/// One answer for every bad refresh token, so a caller cannot tell unknown from revoked.
pub(super) fn bad_refresh_token() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}
