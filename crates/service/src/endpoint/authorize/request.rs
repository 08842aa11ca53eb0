//! What `/authorize` reads and answers, in the domain's terms: the query as the edge read it,
//! the checked request the sign-in form carries (sealed by the edge), and the outcomes the edge
//! turns into a page or a redirect.

use std::collections::HashMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use tollgate_oauth::error::OAuthError;
use tollgate_oauth::scope::Scopes;

/// The longest `state` echoed back, `nonce` carried into the ID token, and any other parameter
/// (bytes): enough for every client seen, small enough that the sign-in page stays under 10 KB.
pub const MAX_STATE: usize = 512;
pub const MAX_NONCE: usize = 256;
pub const MAX_PARAM: usize = 1024;

/// The query of `GET /authorize`: each parameter sent once, with a value (RFC 6749 §3.1: an
/// empty one counts as omitted), and apart the names sent more than once (§3.1: "MUST NOT be
/// included more than once"), whose values are not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationQuery {
    pub params: HashMap<String, String>,
    pub repeated: Vec<String>,
}

impl AuthorizationQuery {
    /// From the query's pairs, in any order.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut params: HashMap<String, String> = HashMap::new();
        let mut repeated: Vec<String> = Vec::new();
        let mut seen: HashMap<&str, ()> = HashMap::new();
        for (k, v) in pairs {
            if seen.insert(k, ()).is_some() {
                if !repeated.iter().any(|r| r == k) {
                    repeated.push(k.to_owned());
                }
                params.remove(k);
            } else if !v.is_empty() {
                params.insert(k.to_owned(), v.to_owned());
            }
        }
        repeated.sort_unstable();
        Self { params, repeated }
    }

    pub(super) fn repeated_any(&self, names: &[&str]) -> bool {
        self.repeated.iter().any(|r| names.contains(&r.as_str()))
    }

    /// The `state` to send back: none when it was repeated or is too long to echo.
    pub(super) fn state(&self) -> Option<&str> {
        self.params
            .get("state")
            .map(String::as_str)
            .filter(|s| s.len() <= MAX_STATE)
    }
}

/// A checked authorization request: what the sign-in form carries back (sealed) and what the
/// code is bound to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// A URI the client registered, exactly as registered.
    pub redirect_uri: String,
    /// Whether the request named it (then the token request must name it too).
    pub redirect_uri_sent: bool,
    pub scope: Scopes,
    pub state: Option<String>,
    /// The `S256` code challenge.
    pub code_challenge: String,
    pub nonce: Option<String>,
}

/// An answer sent back to the client's redirect URI (RFC 6749 §4.1.2): a code or an error, the
/// request's `state`, and the issuer (RFC 9207).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub redirect_uri: String,
    pub params: Vec<(&'static str, String)>,
}

/// RFC 3986's unreserved characters stay; everything else in a query value is percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl Redirect {
    pub(super) fn error(
        redirect_uri: &str,
        e: &OAuthError,
        state: Option<&str>,
        issuer: &str,
    ) -> Self {
        let mut params = vec![
            ("error", e.code.as_str().to_owned()),
            ("error_description", e.description.to_string()),
        ];
        params.extend(state.map(|s| ("state", s.to_owned())));
        params.push(("iss", issuer.to_owned()));
        Self {
            redirect_uri: redirect_uri.to_owned(),
            params,
        }
    }

    pub(super) fn code(redirect_uri: &str, code: &str, state: Option<&str>, issuer: &str) -> Self {
        let mut params = vec![("code", code.to_owned())];
        params.extend(state.map(|s| ("state", s.to_owned())));
        params.push(("iss", issuer.to_owned()));
        Self {
            redirect_uri: redirect_uri.to_owned(),
            params,
        }
    }

    /// The `Location`: the registered URI with the parameters added to its query (after `&`
    /// when it has one), each value percent-encoded. A registered URI has no fragment.
    pub fn location(&self) -> String {
        let mut out = self.redirect_uri.clone();
        let mut sep = if out.contains('?') { '&' } else { '?' };
        for (k, v) in &self.params {
            out.push(sep);
            out.push_str(k);
            out.push('=');
            out.extend(utf8_percent_encode(v, QUERY_VALUE));
            sep = '&';
        }
        out
    }

    /// The OAuth error it carries, if it is an error.
    pub fn error_code(&self) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| *k == "error")
            .map(|(_, v)| v.as_str())
    }
}

/// Why an authorization request is answered with an error page instead of a redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRedirectable {
    /// No usable client: none named, unknown, disabled, or not allowed the code flow.
    UnknownClient,
    /// A `redirect_uri` the client did not register.
    UnregisteredRedirect,
    /// No `redirect_uri`, and the client registered several.
    MissingRedirect,
    /// `client_id` or `redirect_uri` sent twice, or a `redirect_uri` too long to be registered.
    Malformed,
    /// The client store did not answer.
    Unavailable,
}

impl NotRedirectable {
    /// The name its log line and metrics give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownClient => "unknown_client",
            Self::UnregisteredRedirect => "unregistered_redirect_uri",
            Self::MissingRedirect => "missing_redirect_uri",
            Self::Malformed => "malformed_request",
            Self::Unavailable => "temporarily_unavailable",
        }
    }
}

/// What `GET /authorize` came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Authorized {
    Page(NotRedirectable),
    Redirect(Redirect),
    /// The sign-in page for this request, naming the client.
    SignIn {
        request: AuthorizationRequest,
        client_name: String,
    },
}

/// The one message the sign-in page shows again with its form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A wrong username or password (or a username that cannot be one): it does not say which.
    WrongCredentials,
    Locked,
    /// A store or the auth endpoint did not answer.
    Unavailable,
    /// The client is over its per-minute limit.
    Busy,
}

impl Notice {
    /// The `reason` of its audit line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WrongCredentials => "wrong_credentials",
            Self::Locked => "locked",
            Self::Unavailable => "unavailable",
            Self::Busy => "rate_limited",
        }
    }
}

/// What a post of the sign-in form came to.
#[derive(Debug)]
pub enum SignedIn {
    /// The client or its redirect URI is no longer usable: an error page.
    Page(NotRedirectable),
    /// Back to the client with a code.
    Redirect(Redirect),
    /// The form again, with one notice.
    Again(Again),
}

/// The form shown again: why, the client's name for the page, and a dependency's failure for
/// the log when that was the cause.
#[derive(Debug)]
pub struct Again {
    pub notice: Notice,
    pub client_name: String,
    pub cause: Option<crate::error::TokenError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_parameter_keeps_no_value_and_empty_ones_count_as_omitted() {
        let q = AuthorizationQuery::from_pairs([
            ("client_id", "spa"),
            ("state", "a"),
            ("state", "b"),
            ("scope", ""),
            ("state", "c"),
        ]);
        assert_eq!(q.params.get("client_id").map(String::as_str), Some("spa"));
        assert!(!q.params.contains_key("state") && !q.params.contains_key("scope"));
        assert_eq!(q.repeated, ["state"]);
        assert_eq!(q.state(), None);
        let long = "s".repeat(MAX_STATE + 1);
        let q = AuthorizationQuery::from_pairs([("state", long.as_str())]);
        assert_eq!(q.state(), None);
    }

    #[test]
    fn the_location_adds_encoded_parameters_to_the_registered_uri() {
        let r = Redirect::code(
            "https://app.example.com/cb",
            "c0de",
            Some("a b&c=d#e/é"),
            "https://auth.example.com/prod",
        );
        assert_eq!(
            r.location(),
            "https://app.example.com/cb?code=c0de&state=a%20b%26c%3Dd%23e%2F%C3%A9&iss=https%3A%2F%2Fauth.example.com%2Fprod"
        );
        let e = Redirect::error(
            "https://app.example.com/cb?tenant=1",
            &OAuthError::invalid_request("response_type is required"),
            None,
            "i",
        );
        assert_eq!(
            e.location(),
            "https://app.example.com/cb?tenant=1&error=invalid_request&error_description=response_type%20is%20required&iss=i"
        );
        assert_eq!(e.error_code(), Some("invalid_request"));
    }
}
