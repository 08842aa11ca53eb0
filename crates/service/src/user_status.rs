//! Claims that follow the directory: on every refresh, the organisation's user-status endpoint
//! (optional, `USER_STATUS_URL`) says whether the user still exists and is enabled, and returns
//! their details as they are now. The port is here; the HTTP adapter is
//! `adapters::user_status_http`. Without an endpoint, `MAX_CLAIMS_AGE` may bound how old the
//! details captured at sign-in get ([`claims_fresh_enough`]).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::password::AuthEndpointError;

/// What the directory says about a user now.
#[derive(Debug, Clone, PartialEq)]
pub enum UserStatus {
    /// Still there and enabled, with their details as they are now (the allow-list is applied
    /// by the grant).
    Active(Map<String, Value>),
    /// No longer exists.
    Gone,
    /// Exists but may not sign in.
    Disabled,
}

impl UserStatus {
    /// The audit `cause` of a session the answer ends.
    pub fn ends_session(&self) -> Option<&'static str> {
        match self {
            Self::Active(_) => None,
            Self::Gone => Some("user_gone"),
            Self::Disabled => Some("user_disabled"),
        }
    }
}

/// The organisation's user-status endpoint. Its failures are the auth endpoint's (the same
/// organisation, the same contract style): a `503`, the session kept.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    async fn status(&self, sub: &str, client_id: &str) -> Result<UserStatus, AuthEndpointError>;
}

/// A `200` body: a JSON object of details whose `sub`, when present, is the user asked about
/// (an endpoint that answers for someone else is answering nonsense).
pub fn parse_status(bytes: &[u8], sub: &str) -> Result<UserStatus, AuthEndpointError> {
    let user = crate::password::parse_user(bytes, sub)?;
    if user.sub != sub {
        return Err(AuthEndpointError::BadBody(
            "sub is not the user asked about",
        ));
    }
    Ok(UserStatus::Active(user.details))
}

/// Without a user-status endpoint: whether details captured at sign-in (`auth_time`) may still
/// be copied into tokens at `now`, when the deployment bounds their age (`MAX_CLAIMS_AGE`).
pub fn claims_fresh_enough(max_age: Option<u64>, auth_time: u64, now: u64) -> bool {
    max_age.is_none_or(|max| now.saturating_sub(auth_time) <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_about_another_user_is_unusable() {
        assert!(matches!(
            parse_status(br#"{"sub":"u-2","email":"x@y"}"#, "u-1"),
            Err(AuthEndpointError::BadBody(_))
        ));
        let ok = parse_status(br#"{"email":"x@y"}"#, "u-1").ok();
        assert!(matches!(ok, Some(UserStatus::Active(d)) if d["email"] == "x@y"));
        assert!(matches!(
            parse_status(br#"{"sub":"u-1"}"#, "u-1"),
            Ok(UserStatus::Active(_))
        ));
        assert!(parse_status(b"[]", "u-1").is_err());
    }

    #[test]
    fn max_age_bounds_claims_and_no_max_age_does_not() {
        assert!(claims_fresh_enough(Some(100), 1_000, 1_100));
        assert!(!claims_fresh_enough(Some(100), 1_000, 1_101));
        assert!(claims_fresh_enough(None, 0, u64::MAX));
    }

    #[test]
    fn gone_and_disabled_end_the_session() {
        assert_eq!(UserStatus::Gone.ends_session(), Some("user_gone"));
        assert_eq!(UserStatus::Disabled.ends_session(), Some("user_disabled"));
        assert_eq!(UserStatus::Active(Map::new()).ends_session(), None);
    }
}
