//! Authorization codes (RFC 6749 §4.1.2, RFC 7636, RFC 9700 §2.1.1): 256 random bits handed to
//! the client once, stored only as their SHA-256 in the tokens table, valid for a minute, bound
//! to the client, its redirect URI, the PKCE challenge, the scope, the user and the sign-in, and
//! used at most once. The exchange consumes the code and starts the session (the refresh-token
//! family) in one transaction, so a code is never consumed without its session nor a session
//! started twice from one code.
//!
//! A second use refuses and ends the session the first use started (RFC 6749 §4.1.2), except a
//! retry after an exchange whose answer the function lost (the client was told `503`): that
//! exchange is marked *unconfirmed*, with its refresh token sealed under the code and the
//! verifier, and the same code and verifier get the same session back within the lost-answer
//! window, as a refresh rotation does (`crate::grace`).

use async_trait::async_trait;

use crate::refresh::{NewFamily, RefreshGrant, RefreshStoreError};
use tollgate_oauth::pkce::CodeChallenge;
use tollgate_oauth::secret::Secret;

/// How long a code may be exchanged after it was issued (RFC 6749 §4.1.2: ten minutes at most,
/// one recommended; OAuth 2.1 and the security BCP: short).
pub const CODE_TTL: u64 = 60;

/// How long a consumed code's record is kept after its exchange (DynamoDB TTL removes it then):
/// a second use within it is detected and ends the session; after it the code is simply unknown.
pub const CONSUMED_CODE_MEMORY: u64 = 600;

/// A new code, and what it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCode {
    pub code_hash: String,
    pub request: CodeRequest,
    pub issued_at: u64,
}

/// What a code was issued for: the authorization request and the sign-in.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRequest {
    /// The client, the user, the scope granted, the allowed user details and `auth_time`: what
    /// the session will stand for.
    pub grant: RefreshGrant,
    pub redirect_uri: String,
    /// Whether the authorization request named `redirect_uri` (the token request must then name
    /// the same, RFC 6749 §4.1.3); when it did not, the client has one and it may be omitted.
    pub redirect_uri_sent: bool,
    pub code_challenge: CodeChallenge,
    /// OpenID Connect's `nonce`, returned in the ID token.
    pub nonce: Option<String>,
}

/// A code as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCode {
    pub code_hash: String,
    pub request: CodeRequest,
    pub issued_at: u64,
    /// The end of its validity: `issued_at + CODE_TTL`.
    pub expires_at: u64,
    /// Its exchange, once it was used.
    pub exchange: Option<Exchanged>,
}

/// The exchange that consumed a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchanged {
    /// The session it started.
    pub family_id: String,
    pub at: u64,
    /// The exchange's answer was lost and its write sent again: a retry of the same code and
    /// verifier within the lost-answer window gets the same session back.
    pub unconfirmed: bool,
    /// The session's first refresh token sealed under the code and the verifier (written by a
    /// re-sent exchange only).
    pub sealed_refresh: Option<String>,
}

/// Why a presented code cannot be exchanged. Each is `invalid_grant` with one description, so
/// a caller learns nothing about a code that is not its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unexchangeable {
    /// Issued to another client.
    OtherClient,
    /// The token request's `redirect_uri` differs from the authorization request's, or is
    /// missing when that request named one.
    RedirectMismatch,
    /// Past its minute.
    Expired,
    /// No `code_verifier`, or one that does not hash to the challenge.
    VerifierMismatch,
    /// Used already.
    Used,
}

impl Unexchangeable {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OtherClient => "other_client",
            Self::RedirectMismatch => "redirect_uri_mismatch",
            Self::Expired => "expired",
            Self::VerifierMismatch => "verifier_mismatch",
            Self::Used => "used",
        }
    }
}

impl NewCode {
    /// A fresh code for `request` at `now`: the code to hand the client, and its record.
    pub fn issue(request: CodeRequest, now: u64) -> (Secret, Self) {
        let code = Secret::generate();
        let record = Self {
            code_hash: code.hash(),
            request,
            issued_at: now,
        };
        (code, record)
    }

    pub fn expires_at(&self) -> u64 {
        self.issued_at.saturating_add(CODE_TTL)
    }

    /// The record as a store reads it back before its exchange.
    pub fn stored(&self) -> StoredCode {
        StoredCode {
            code_hash: self.code_hash.clone(),
            request: self.request.clone(),
            issued_at: self.issued_at,
            expires_at: self.expires_at(),
            exchange: None,
        }
    }
}

impl StoredCode {
    /// Whether `client_id` may exchange this code with `redirect_uri` and `verifier` at `now`.
    /// Ownership first (another client learns nothing), then whether it was used (a second use
    /// is reuse whatever else is wrong with it), then the redirect URI, the lifetime and the
    /// verifier.
    pub fn exchangeable_by(
        &self,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: &str,
        now: u64,
    ) -> Result<(), Unexchangeable> {
        let r = &self.request;
        if r.grant.client_id != client_id {
            return Err(Unexchangeable::OtherClient);
        }
        if self.exchange.is_some() {
            return Err(Unexchangeable::Used);
        }
        let redirect_ok = match redirect_uri {
            Some(u) => u == r.redirect_uri,
            None => !r.redirect_uri_sent,
        };
        if !redirect_ok {
            return Err(Unexchangeable::RedirectMismatch);
        }
        if now >= self.expires_at {
            return Err(Unexchangeable::Expired);
        }
        if !r.code_challenge.verified_by(verifier) {
            return Err(Unexchangeable::VerifierMismatch);
        }
        Ok(())
    }

    /// The key the first refresh token of this code's session is sealed under: only someone
    /// holding both the code and its verifier can open it.
    pub fn sealing_key(code: &Secret, verifier: &str) -> Secret {
        Secret::new(format!("{}.{verifier}", code.expose()))
    }
}

/// How an exchange's write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    /// The code is consumed by this exchange and its session exists.
    Done,
    /// The code was consumed by another exchange (or is gone): nothing was written.
    Refused,
}

/// The exchange's write: the code consumed by `family`, and `family` created, in one
/// transaction. `sealed_refresh` and `unconfirmed` are set by a re-send after a lost answer.
#[derive(Debug, Clone)]
pub struct ExchangeWrite<'a> {
    pub code_hash: &'a str,
    pub family: &'a NewFamily,
    pub unconfirmed: bool,
    pub sealed_refresh: Option<String>,
    pub now: u64,
}

/// Where codes are kept: the tokens table in AWS, beside the sessions they start, so the store
/// and its errors are the refresh-token store's.
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores a new code; a code whose hash exists already is an error (never overwritten).
    async fn put_code(&self, code: &NewCode) -> Result<(), RefreshStoreError>;
    /// One code by hash, strongly consistent: a code just consumed reads as consumed.
    async fn get_code(&self, code_hash: &str) -> Result<Option<StoredCode>, RefreshStoreError>;
    /// In one transaction, on the condition that the code exists and is unused or already
    /// consumed by this very family: consume it and create the family with its first token.
    /// Idempotent: sent again after it landed (and before the family's token was used), it
    /// succeeds again; a concurrent exchange of the same code with another family is refused.
    async fn exchange(&self, write: &ExchangeWrite<'_>) -> Result<Exchange, RefreshStoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_oauth::scope::Scopes;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn code(redirect_uri_sent: bool) -> StoredCode {
        let (_, new) = NewCode::issue(
            CodeRequest {
                grant: RefreshGrant {
                    client_id: "spa".into(),
                    sub: "alice".into(),
                    scope: Scopes::parse("read").unwrap_or_default(),
                    details: Default::default(),
                    auth_time: 1000,
                },
                redirect_uri: "https://app.example.com/cb".into(),
                redirect_uri_sent,
                code_challenge: CodeChallenge::of(VERIFIER),
                nonce: None,
            },
            1000,
        );
        new.stored()
    }

    #[test]
    fn codes_are_random_and_stored_only_as_their_hash() {
        let c = code(true);
        let (a, ra) = NewCode::issue(c.request.clone(), 5);
        let (b, rb) = NewCode::issue(c.request.clone(), 5);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43);
        assert!(a.matches(&ra.code_hash) && !a.matches(&rb.code_hash));
        assert!(!format!("{ra:?}").contains(a.expose()));
        assert_eq!(ra.expires_at(), 5 + CODE_TTL);
    }

    #[test]
    fn only_its_client_with_its_redirect_and_verifier_within_the_minute_may_exchange_it() {
        let c = code(true);
        let uri = Some("https://app.example.com/cb");
        assert_eq!(c.exchangeable_by("spa", uri, VERIFIER, 1059), Ok(()));
        use Unexchangeable::*;
        assert_eq!(
            c.exchangeable_by("other", uri, VERIFIER, 1001),
            Err(OtherClient)
        );
        assert_eq!(
            c.exchangeable_by("spa", None, VERIFIER, 1001),
            Err(RedirectMismatch)
        );
        let other = Some("https://app.example.com/cb2");
        assert_eq!(
            c.exchangeable_by("spa", other, VERIFIER, 1001),
            Err(RedirectMismatch)
        );
        assert_eq!(c.exchangeable_by("spa", uri, VERIFIER, 1060), Err(Expired));
        let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj";
        assert_eq!(
            c.exchangeable_by("spa", uri, wrong, 1001),
            Err(VerifierMismatch)
        );
        assert_eq!(
            c.exchangeable_by("spa", uri, "", 1001),
            Err(VerifierMismatch)
        );
        // The challenge itself, as a `plain` client would send it, is not the verifier.
        let challenge = c.request.code_challenge.as_str().to_owned();
        assert_eq!(
            c.exchangeable_by("spa", uri, &challenge, 1001),
            Err(VerifierMismatch)
        );
    }

    #[test]
    fn a_used_code_is_reuse_whatever_else_is_wrong_but_never_for_another_client() {
        let mut c = code(true);
        c.exchange = Some(Exchanged {
            family_id: "f".into(),
            at: 1001,
            unconfirmed: false,
            sealed_refresh: None,
        });
        let uri = Some("https://app.example.com/cb");
        use Unexchangeable::*;
        assert_eq!(c.exchangeable_by("spa", uri, VERIFIER, 1002), Err(Used));
        assert_eq!(c.exchangeable_by("spa", None, "x", 5000), Err(Used));
        assert_eq!(
            c.exchangeable_by("other", uri, VERIFIER, 1002),
            Err(OtherClient)
        );
    }

    #[test]
    fn a_code_issued_without_redirect_uri_may_be_exchanged_without_one() {
        let c = code(false);
        assert_eq!(c.exchangeable_by("spa", None, VERIFIER, 1001), Ok(()));
        let uri = Some("https://app.example.com/cb");
        assert_eq!(c.exchangeable_by("spa", uri, VERIFIER, 1001), Ok(()));
    }
}
