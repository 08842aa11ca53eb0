//! Refresh tokens of the system Tollgate replaces, accepted once (issue 21): a refresh token
//! Tollgate did not issue is sent to the organisation's legacy endpoint (`LEGACY_REFRESH_URL`),
//! and its answer `{sub, details, scope}` becomes a new session, written in one transaction with
//! a marker on the legacy token's hash, so the token starts at most one session, ever.
//!
//! The ports are here: the legacy endpoint ([`LegacyRefresh`], HTTP adapter
//! `adapters::http::legacy_refresh`) and the markers ([`LegacyStore`], the tokens table). The
//! grant is `endpoint::token::legacy`.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::Secret;

use crate::password::AuthEndpointError;
use crate::refresh::{NewFamily, RefreshStoreError, in_family};

/// The legacy endpoint and the markers, wired together: present only when `LEGACY_REFRESH_URL`
/// is set.
pub struct LegacyPorts {
    pub endpoint: Arc<dyn LegacyRefresh>,
    pub store: Arc<dyn LegacyStore>,
}

/// How long a marker is kept after its session started (DynamoDB TTL removes it then): a year,
/// longer than the refresh tokens of the systems Tollgate replaces are expected to live. An old
/// system whose tokens live longer is retired (its URL emptied) within that year.
pub const MARKER_MEMORY: u64 = 365 * 24 * 3600;

/// Whether `token` has the shape of a refresh token Tollgate issues: `<family id>~<tag>~<secret>`
/// (`crate::refresh::in_family`), or, issued before, 32 random bytes in base64url without
/// padding (43 characters). Such a token is never sent to the legacy endpoint, even when no
/// record has its hash: a forged or expired Tollgate token is refused as it always was, and
/// Tollgate's own tokens never leave it.
pub fn tollgate_shaped(token: &str) -> bool {
    in_family::parts(token).is_some()
        || token.len() == 43
            && URL_SAFE_NO_PAD
                .decode(token)
                .is_ok_and(|bytes| bytes.len() == 32)
}

/// What the legacy endpoint says a token stood for.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyUser {
    pub sub: String,
    /// The user details stored on the legacy token; the allow-list is applied by the grant.
    pub details: Map<String, Value>,
    /// The legacy token's scope: the new session's original scope.
    pub scope: Scopes,
}

/// The legacy endpoint's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum LegacyAnswer {
    /// `200 {sub, details, scope}`.
    Valid(LegacyUser),
    /// A `4xx`: the old system does not know the token (or not for this client).
    Refused(u16),
}

/// The organisation's endpoint in front of its old system. Its failures are the auth
/// endpoint's kind (no answer, another status, a body that is not the contract's): a `503`,
/// nothing written, the legacy token still usable.
#[async_trait]
pub trait LegacyRefresh: Send + Sync {
    async fn redeem(
        &self,
        token: &Secret,
        client_id: &str,
    ) -> Result<LegacyAnswer, AuthEndpointError>;
}

/// A `200` body: `sub` a non-empty string (or a number), `details` an object (absent: none),
/// `scope` a space-delimited string of valid scopes (absent: none).
pub fn parse_answer(bytes: &[u8]) -> Result<LegacyUser, AuthEndpointError> {
    let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(AuthEndpointError::BadBody("not a JSON object"));
    };
    let sub = match body.remove("sub") {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(AuthEndpointError::BadBody("sub is not a non-empty string")),
    };
    let details = match body.remove("details") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(d)) => d,
        Some(_) => return Err(AuthEndpointError::BadBody("details is not an object")),
    };
    let scope = match body.remove("scope") {
        None | Some(Value::Null) => Scopes::default(),
        Some(Value::String(s)) => {
            Scopes::parse(&s).map_err(|_| AuthEndpointError::BadBody("scope is malformed"))?
        }
        Some(_) => return Err(AuthEndpointError::BadBody("scope is not a string")),
    };
    Ok(LegacyUser {
        sub,
        details,
        scope,
    })
}

/// A legacy token's marker as stored: the session it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMarker {
    /// The session (family) the token's first use started.
    pub family_id: String,
    pub client_id: String,
    /// When that session started.
    pub at: u64,
    /// The take-over's answer was lost and its write sent again: a retry with the same token
    /// within the lost-answer window gets that session back.
    pub unconfirmed: bool,
    /// The session's first refresh token sealed under the legacy token (a re-send only).
    pub sealed_refresh: Option<String>,
}

/// The take-over's write: the marker on `token_hash` naming `family`, and `family` created, in
/// one transaction. `unconfirmed` and `sealed_refresh` are set by a re-send after a lost answer.
#[derive(Debug, Clone)]
pub struct TakeOver<'a> {
    pub token_hash: &'a str,
    pub family: &'a NewFamily,
    pub unconfirmed: bool,
    pub sealed_refresh: Option<String>,
    pub now: u64,
}

/// How a take-over's write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakenOver {
    /// The marker names this take-over's session, and that session exists.
    Done,
    /// The marker exists for another session, or a concurrent take-over holds the items:
    /// nothing was written.
    Refused,
}

/// Where markers are kept: the tokens table in AWS, beside the sessions they start, so the
/// store and its errors are the refresh-token store's.
#[async_trait]
pub trait LegacyStore: Send + Sync {
    /// The marker of a legacy token, strongly consistent.
    async fn get_marker(&self, token_hash: &str)
    -> Result<Option<StoredMarker>, RefreshStoreError>;
    /// In one transaction, on the condition that no marker exists for the token or it names this
    /// very family: write the marker and create the family with its first token. Idempotent:
    /// sent again after it landed (and before the family's token was used), it succeeds again.
    async fn take_over(&self, write: &TakeOver<'_>) -> Result<TakenOver, RefreshStoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tollgates_own_shape_is_kept_from_the_legacy_endpoint() {
        let ours = Secret::generate();
        assert!(tollgate_shaped(ours.expose()));
        let now = in_family::mint("AAAAAAAAAAAAAAAAAAAAAA", &in_family::new_tag());
        assert!(tollgate_shaped(now.expose()), "the shape issued now");
        assert!(!tollgate_shaped(&now.expose().replace('~', ".")));
        // Apigee's refresh tokens: 32 alphanumeric characters.
        assert!(!tollgate_shaped("gM6DWHxr9cqhyWPgkEHaxDmUahPcJq7A"));
        // 43 characters that are not base64url of 32 bytes, or padded, or too long.
        let forged_tail = format!("{}B", &ours.expose()[..42]);
        assert!(!tollgate_shaped(&format!("{}=", &ours.expose()[..42])));
        assert!(!tollgate_shaped(&format!("{}!", &ours.expose()[..42])));
        assert!(!tollgate_shaped(&format!("{}A", ours.expose())));
        // The last character of 32 bytes carries 4 bits: most letters there are not canonical.
        assert_eq!(
            tollgate_shaped(&forged_tail),
            URL_SAFE_NO_PAD.decode(&forged_tail).is_ok()
        );
        assert!(!tollgate_shaped(""));
    }

    #[test]
    fn an_answer_needs_a_sub_and_may_omit_details_and_scope() {
        let u = parse_answer(
            br#"{"sub":"u1","details":{"email":"a@b"},"scope":"profile orders:read"}"#,
        )
        .unwrap();
        assert_eq!(u.sub, "u1");
        assert_eq!(u.details.get("email"), Some(&Value::from("a@b")));
        assert_eq!(u.scope.to_string(), "orders:read profile");
        let bare = parse_answer(br#"{"sub":7}"#).unwrap();
        assert_eq!((bare.sub.as_str(), bare.scope.is_empty()), ("7", true));
        for body in [
            &b"[]"[..],
            b"{}",
            b"<html>",
            br#"{"sub":""}"#,
            br#"{"sub":"u","details":[]}"#,
            br#"{"sub":"u","scope":["a"]}"#,
            br#"{"sub":"u","scope":"a\"b"}"#,
        ] {
            assert!(
                matches!(parse_answer(body), Err(AuthEndpointError::BadBody(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
