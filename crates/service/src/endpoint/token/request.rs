//! What a `/token` request asks for, in the domain's terms: the form as the edge read it
//! ([`TokenRequest`]: credentials taken out, `grant_type` read once), and, once the client has
//! authenticated and may use the grant, one typed request per grant ([`GrantRequest`]). Each
//! grant then reads fields, never parameters by name.

use std::collections::HashMap;

use tollgate_oauth::error::{Description, ErrorCode, Fact, OAuthError};
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::audit::UsernameHash;

use crate::client::{ClientCredentials, GrantType};
use crate::lockout::{clean_username, username_hash};

/// The `grant_type` a request named, read once at the edge: the handler logs it (by a name
/// Tollgate knows, never the caller's string) and the domain decides on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedGrant {
    Missing,
    /// A value that names no grant Tollgate has.
    Unsupported,
    Known(GrantType),
}

impl RequestedGrant {
    pub fn read(value: Option<&str>) -> Self {
        match value {
            None => Self::Missing,
            Some(v) => GrantType::parse(v).map_or(Self::Unsupported, Self::Known),
        }
    }

    /// How the logs and metrics name it: `None` when absent, `other` for an unknown value.
    pub fn log_name(self) -> Option<&'static str> {
        match self {
            Self::Missing => None,
            Self::Unsupported => Some("other"),
            Self::Known(g) => Some(g.as_str()),
        }
    }

    /// The grant, or the RFC 6749 §5.2 error for a request that names none Tollgate has.
    pub(crate) fn grant(self) -> Result<GrantType, OAuthError> {
        match self {
            Self::Known(g) => Ok(g),
            Self::Missing => Err(OAuthError::invalid_request("grant_type is required")),
            Self::Unsupported => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "grant_type is not supported",
            )),
        }
    }
}

/// A token request after form parsing: the client's credentials and `grant_type` taken out, the
/// other parameters kept for the grant to read once it is known. `Debug` names the parameters
/// but shows no value: they include passwords and tokens.
#[derive(Clone)]
pub struct TokenRequest {
    pub credentials: Option<ClientCredentials>,
    pub grant_type: RequestedGrant,
    /// Every other parameter, each at most once; empty values were dropped (RFC 6749 §3.1).
    pub params: HashMap<String, String>,
    /// A password grant's username as the audit trail holds it, made here once: the edge's
    /// `token_refused` line and the grant's `lockout_started` event both carry this value.
    pub username_hash: Option<UsernameHash>,
}

impl TokenRequest {
    /// From a parsed form whose credentials were taken out: `grant_type` is read here, once.
    pub fn new(
        credentials: Option<ClientCredentials>,
        mut params: HashMap<String, String>,
    ) -> Self {
        let grant_type = RequestedGrant::read(params.remove("grant_type").as_deref());
        let username_hash = match grant_type {
            RequestedGrant::Known(GrantType::Password) => {
                params.get("username").map(|u| username_hash(u))
            }
            _ => None,
        };
        Self {
            credentials,
            grant_type,
            params,
            username_hash,
        }
    }

    fn param(&self, name: &str) -> Option<String> {
        self.params.get(name).cloned()
    }

    fn required(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.params.get(name).map(String::as_str).ok_or_else(|| {
            OAuthError::invalid_request(Description::with("{} is required", &[Fact::Name(name)]))
        })
    }
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.params.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("TokenRequest")
            .field("credentials", &self.credentials)
            .field("grant_type", &self.grant_type)
            .field("params", &names)
            .finish()
    }
}

/// One grant's parameters (RFC 6749 §4.3.2, §6, §4.4.2), read only after the client
/// authenticated and was found to allow the grant: a caller learns which parameters a grant
/// needs only then.
#[derive(Debug)]
pub(crate) enum GrantRequest {
    Password(PasswordRequest),
    Refresh(RefreshRequest),
    ClientCredentials { scope: Option<String> },
    AuthorizationCode(CodeExchangeRequest),
}

/// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5). `Debug` shows neither the
/// code nor the verifier.
pub(crate) struct CodeExchangeRequest {
    pub code: Secret,
    pub redirect_uri: Option<String>,
    pub code_verifier: String,
}

impl std::fmt::Debug for CodeExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeExchangeRequest")
            .field("code", &self.code)
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &"<redacted>")
            .finish()
    }
}

/// `grant_type=password`. `Debug` shows neither the username (the logs only ever hold its
/// hash) nor the password.
pub(crate) struct PasswordRequest {
    /// Trimmed and checked ([`clean_username`]): what the lockout counts and the auth endpoint
    /// is asked about.
    pub username: String,
    /// Its audit form, as the request made it ([`TokenRequest::username_hash`]).
    pub username_hash: UsernameHash,
    pub password: Secret,
    pub scope: Option<String>,
}

impl std::fmt::Debug for PasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordRequest")
            .field("username", &"<redacted>")
            .field("password", &self.password)
            .field("scope", &self.scope)
            .finish()
    }
}

/// `grant_type=refresh_token`.
#[derive(Debug)]
pub(crate) struct RefreshRequest {
    pub refresh_token: Secret,
    pub scope: Option<String>,
}

impl GrantRequest {
    /// Reads `grant`'s parameters from `req`, in the order the checks have always run: the
    /// username (present, then well-formed) before the password.
    pub(crate) fn read(grant: GrantType, req: &TokenRequest) -> Result<Self, OAuthError> {
        Ok(match grant {
            GrantType::Password => {
                let raw = req.required("username")?;
                let username = clean_username(raw)
                    .map_err(|e| OAuthError::invalid_request(e.description()))?
                    .to_owned();
                Self::Password(PasswordRequest {
                    // Present whenever a password request has a username: made by `new`.
                    username_hash: req
                        .username_hash
                        .clone()
                        .unwrap_or_else(|| username_hash(raw)),
                    username,
                    password: Secret::new(req.required("password")?),
                    scope: req.param("scope"),
                })
            }
            GrantType::RefreshToken => Self::Refresh(RefreshRequest {
                refresh_token: Secret::new(req.required("refresh_token")?),
                scope: req.param("scope"),
            }),
            GrantType::ClientCredentials => Self::ClientCredentials {
                scope: req.param("scope"),
            },
            GrantType::AuthorizationCode => Self::AuthorizationCode(CodeExchangeRequest {
                code: Secret::new(req.required("code")?),
                redirect_uri: req.param("redirect_uri"),
                code_verifier: req.required("code_verifier")?.to_owned(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> TokenRequest {
        let params = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TokenRequest::new(None, params)
    }

    #[test]
    fn grant_type_is_read_once_and_taken_out_of_the_parameters() {
        let r = form(&[("grant_type", "password"), ("username", "a")]);
        assert_eq!(r.grant_type, RequestedGrant::Known(GrantType::Password));
        assert!(!r.params.contains_key("grant_type"));
        assert_eq!(form(&[]).grant_type, RequestedGrant::Missing);
        let odd = form(&[("grant_type", "urn:x:secret-looking")]);
        assert_eq!(odd.grant_type, RequestedGrant::Unsupported);
        assert_eq!(odd.grant_type.log_name(), Some("other"));
        assert_eq!(RequestedGrant::Missing.log_name(), None);
        assert_eq!(
            RequestedGrant::Known(GrantType::RefreshToken).log_name(),
            Some("refresh_token")
        );
    }

    #[test]
    fn a_request_without_a_known_grant_is_refused_by_rfc_6749s_codes() {
        let missing = RequestedGrant::Missing.grant().unwrap_err();
        assert_eq!(missing.code, ErrorCode::InvalidRequest);
        assert_eq!(missing.description, "grant_type is required");
        let other = RequestedGrant::Unsupported.grant().unwrap_err();
        assert_eq!(other.code, ErrorCode::UnsupportedGrantType);
    }

    #[test]
    fn the_password_grant_reads_the_username_before_the_password() {
        let err = |pairs: &[(&str, &str)]| {
            GrantRequest::read(GrantType::Password, &form(pairs))
                .unwrap_err()
                .description
        };
        assert_eq!(err(&[]), "username is required");
        // A malformed username is named even when the password is missing too.
        assert_ne!(err(&[("username", "a\u{7}b")]), "password is required");
        assert_eq!(err(&[("username", "alice")]), "password is required");
        let Ok(GrantRequest::Password(p)) = GrantRequest::read(
            GrantType::Password,
            &form(&[
                ("username", "  alice "),
                ("password", "pw"),
                ("scope", "read"),
            ]),
        ) else {
            panic!("a complete password request reads")
        };
        assert_eq!(p.username, "alice");
        assert_eq!(p.password.expose(), "pw");
        assert_eq!(p.scope.as_deref(), Some("read"));
        let shown = format!("{p:?}");
        assert!(!shown.contains("alice") && !shown.contains("pw"), "{shown}");
    }

    #[test]
    fn the_code_exchange_needs_the_code_and_its_verifier() {
        let err = |pairs: &[(&str, &str)]| {
            GrantRequest::read(GrantType::AuthorizationCode, &form(pairs))
                .unwrap_err()
                .description
        };
        assert_eq!(err(&[]), "code is required");
        assert_eq!(err(&[("code", "c")]), "code_verifier is required");
        let Ok(GrantRequest::AuthorizationCode(r)) = GrantRequest::read(
            GrantType::AuthorizationCode,
            &form(&[("code", "c0de"), ("code_verifier", "v3rifier")]),
        ) else {
            panic!("a complete exchange reads")
        };
        assert_eq!(
            (r.code.expose(), r.code_verifier.as_str()),
            ("c0de", "v3rifier")
        );
        assert_eq!(r.redirect_uri, None);
        let shown = format!("{r:?}");
        assert!(
            !shown.contains("c0de") && !shown.contains("v3rifier"),
            "{shown}"
        );
    }

    #[test]
    fn the_refresh_grant_needs_its_token_and_client_credentials_nothing() {
        let e = GrantRequest::read(GrantType::RefreshToken, &form(&[("scope", "a")])).unwrap_err();
        assert_eq!(e.description, "refresh_token is required");
        let Ok(GrantRequest::ClientCredentials { scope }) =
            GrantRequest::read(GrantType::ClientCredentials, &form(&[]))
        else {
            panic!("client_credentials needs no parameter")
        };
        assert_eq!(scope, None);
    }
}
