//! The organisation's own password check, as a port (DESIGN.md "External auth endpoint
//! contract"). Tollgate never stores passwords; it only asks. The HTTP adapter is
//! `adapters::auth_http`.

use async_trait::async_trait;
use serde_json::{Map, Value};
use tollgate_oauth::secret::Secret;

/// A user the auth endpoint vouched for.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedUser {
    pub sub: String,
    /// Everything the endpoint returned; the allow-list is applied by the grant.
    pub details: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PasswordCheck {
    Valid(VerifiedUser),
    Invalid,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the endpoint could not give an answer. None of these carries the password or the URL's
/// credentials (HTTP client errors are stripped of their URL).
#[derive(Debug, thiserror::Error)]
pub enum AuthEndpointError {
    #[error("auth endpoint timed out")]
    Timeout(#[source] BoxError),
    #[error("auth endpoint unreachable")]
    Unreachable(#[source] BoxError),
    #[error("auth endpoint answered status {0}")]
    UnexpectedStatus(u16),
    #[error("auth endpoint answered an unusable body: {0}")]
    BadBody(&'static str),
}

#[async_trait]
pub trait PasswordVerifier: Send + Sync {
    async fn verify(
        &self,
        username: &str,
        password: &Secret,
        client_id: &str,
    ) -> Result<PasswordCheck, AuthEndpointError>;
}

/// A `200` body must be a JSON object; its `sub` names the user, else `fallback_sub` does (for
/// a password check, the canonical username: docs/design.md "External auth endpoint contract").
pub fn parse_user(bytes: &[u8], fallback_sub: &str) -> Result<VerifiedUser, AuthEndpointError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|_| AuthEndpointError::BadBody("not JSON"))?;
    let Value::Object(details) = value else {
        return Err(AuthEndpointError::BadBody("not a JSON object"));
    };
    let sub = match details.get("sub") {
        None | Some(Value::Null) => fallback_sub.to_owned(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(AuthEndpointError::BadBody("sub is not a non-empty string")),
    };
    Ok(VerifiedUser { sub, details })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_defaults_to_the_username() {
        let u = parse_user(br#"{"email":"a@b"}"#, "alice").ok();
        assert_eq!(u.map(|u| u.sub), Some("alice".to_owned()));
    }

    #[test]
    fn numeric_sub_becomes_a_string() {
        let u = parse_user(br#"{"sub":42}"#, "alice").ok();
        assert_eq!(u.map(|u| u.sub), Some("42".to_owned()));
    }

    #[test]
    fn non_objects_and_bad_subs_are_unusable() {
        for body in [
            &b"[]"[..],
            b"\"ok\"",
            b"<html>",
            b"",
            br#"{"sub":""}"#,
            br#"{"sub":{}}"#,
        ] {
            assert!(
                matches!(parse_user(body, "a"), Err(AuthEndpointError::BadBody(_))),
                "{body:?}"
            );
        }
    }
}
