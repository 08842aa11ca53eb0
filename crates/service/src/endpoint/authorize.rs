//! `GET /authorize` (RFC 6749 §4.1.1, RFC 7636, RFC 9207, OAuth 2.1 §4.1): the authorization
//! request checked in the order that keeps answers where they belong. The client and its
//! redirect URI first: a request that names no usable client, or a redirect URI the client did
//! not register (compared as exact strings), ends on an error page and is never sent anywhere.
//! Every later error goes back to that redirect URI (§4.1.2.1) with `state` and `iss`. A good
//! request gets the sign-in page (`sign_in` reads its post). The shapes the edge and this file
//! share are in `request`.

mod request;
mod sign_in;

pub use request::{
    Again, AuthorizationQuery, AuthorizationRequest, Authorized, MAX_NONCE, MAX_PARAM, MAX_STATE,
    NotRedirectable, Notice, Redirect, SignedIn,
};

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::{Description, ErrorCode, Fact, OAuthError};
use tollgate_oauth::pkce::CodeChallenge;
use tollgate_oauth::scope::Scopes;
use tracing::info;

use crate::client::{self, Client, GrantType, redirect};
use crate::endpoint::TokenService;

/// The parameters an error may name when one is sent twice or is too long: every other name is
/// the caller's text and is never repeated back.
const NAMED: [&str; 9] = [
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "response_mode",
    "max_age",
];

impl TokenService {
    /// `GET /authorize`: an error page, a redirect back to the client with an error, or the
    /// sign-in page for a checked request.
    pub async fn authorize(&self, q: &AuthorizationQuery, deadline: Deadline) -> Authorized {
        let client = match self.client_of(q, deadline).await {
            Ok(c) => c,
            Err(page) => return Authorized::Page(page),
        };
        let asked = q.params.get("redirect_uri").map(String::as_str);
        let Some(redirect_uri) = redirect::select(&client.redirect_uris, asked) else {
            info!(client_id = %client.client_id, "authorization request refused: redirect_uri not registered");
            return Authorized::Page(match asked {
                Some(_) => NotRedirectable::UnregisteredRedirect,
                None => NotRedirectable::MissingRedirect,
            });
        };
        let state = q.state();
        let back = |e: OAuthError| {
            info!(client_id = %client.client_id, error = e.code.as_str(), "authorization request refused");
            Authorized::Redirect(Redirect::error(redirect_uri, &e, state, self.issuer_url()))
        };
        let checked = check(q, &client).map(|(scope, challenge)| AuthorizationRequest {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            redirect_uri_sent: asked.is_some(),
            scope,
            state: state.map(str::to_owned),
            code_challenge: challenge.as_str().to_owned(),
            nonce: q.params.get("nonce").cloned(),
        });
        match checked {
            Ok(request) => Authorized::SignIn {
                client_name: client.display_name().to_owned(),
                request,
            },
            Err(e) => back(e),
        }
    }

    /// The client a request names, if it may use the code flow; else why not, for the page.
    async fn client_of(
        &self,
        q: &AuthorizationQuery,
        deadline: Deadline,
    ) -> Result<Client, NotRedirectable> {
        if q.repeated_any(&["client_id", "redirect_uri"])
            || q.params
                .get("redirect_uri")
                .is_some_and(|u| u.len() > MAX_PARAM)
        {
            return Err(NotRedirectable::Malformed);
        }
        let id = q.params.get("client_id").map(String::as_str).unwrap_or("");
        if !client::is_valid_client_id(id) {
            return Err(NotRedirectable::UnknownClient);
        }
        self.sign_in_client(id, deadline).await
    }

    /// A client that may use the sign-in page now: enabled and allowed the code flow.
    pub(in crate::endpoint) async fn sign_in_client(
        &self,
        client_id: &str,
        deadline: Deadline,
    ) -> Result<Client, NotRedirectable> {
        let lookup = self.clients.get(client_id);
        match self.within(deadline, "client store", lookup).await {
            Ok(Ok(Some(c))) if c.enabled && c.allows(GrantType::AuthorizationCode) => Ok(c),
            Ok(Ok(_)) => {
                info!(
                    client_id_hash = tollgate_telemetry::hash::short_hash(client_id),
                    "authorization request refused: no client may use the code flow under this id"
                );
                Err(NotRedirectable::UnknownClient)
            }
            Ok(Err(e)) => {
                tracing::warn!(reason = %e, "client authentication failed");
                Err(NotRedirectable::Unavailable)
            }
            Err(_) => {
                tracing::warn!(
                    dependency = "client store",
                    "no answer before the function's deadline"
                );
                Err(NotRedirectable::Unavailable)
            }
        }
    }

    /// The issuer, as `iss` on every redirect (RFC 9207).
    pub(in crate::endpoint) fn issuer_url(&self) -> &str {
        &self.issuer.issuer
    }
}

/// Everything after the client and its redirect URI, in order: repeated or oversized
/// parameters, `response_type`, PKCE, `prompt`, the scope. The scope granted and the challenge.
fn check(q: &AuthorizationQuery, client: &Client) -> Result<(Scopes, CodeChallenge), OAuthError> {
    if let Some(name) = q.repeated.first() {
        return Err(OAuthError::invalid_request(named(
            name,
            "{} was sent more than once",
            "a parameter was sent more than once",
        )));
    }
    if let Some((name, _)) = q.params.iter().find(|(n, v)| too_long(n, v)) {
        return Err(OAuthError::invalid_request(named(
            name,
            "{} is too long",
            "a parameter is too long",
        )));
    }
    if q.params.contains_key("request") || q.params.contains_key("request_uri") {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    match q.params.get("response_type").map(String::as_str) {
        Some("code") => {}
        None => return Err(OAuthError::invalid_request("response_type is required")),
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if q.params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(OAuthError::invalid_request(
            "only response_mode=query is supported",
        ));
    }
    let challenge = CodeChallenge::parse(
        q.params.get("code_challenge").map(String::as_str),
        q.params.get("code_challenge_method").map(String::as_str),
    )
    .map_err(|e| e.to_oauth())?;
    prompt(q.params.get("prompt").map(String::as_str))?;
    let scope = Scopes::resolve(
        q.params.get("scope").map(String::as_str),
        &client.allowed_scopes,
        &client.default_scopes,
    )?;
    Ok((scope, challenge))
}

/// OpenID Connect's `prompt`: `none` asks for an answer without showing anything, which needs a
/// sign-in Tollgate does not keep (no single-sign-on session): `login_required`. `login`,
/// `consent` and `select_account` are what the page always does. `none` beside another value is
/// a contradiction (OpenID Connect Core §3.1.2.1).
fn prompt(value: Option<&str>) -> Result<(), OAuthError> {
    let Some(v) = value else {
        return Ok(());
    };
    let values: Vec<&str> = v.split(' ').filter(|p| !p.is_empty()).collect();
    if values.contains(&"none") {
        if values.len() > 1 {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with another prompt",
            ));
        }
        return Err(OAuthError::new(
            ErrorCode::LoginRequired,
            "the user must sign in: this server keeps no sign-in between requests",
        ));
    }
    Ok(())
}

/// Whether a parameter's value is over its limit.
fn too_long(name: &str, value: &str) -> bool {
    let limit = match name {
        "state" => MAX_STATE,
        "nonce" => MAX_NONCE,
        _ => MAX_PARAM,
    };
    value.len() > limit
}

/// A description that names `name` when Tollgate reads it, and says "a parameter" otherwise.
fn named(name: &str, with_name: &'static str, without: &'static str) -> Description {
    match NAMED.iter().find(|n| **n == name) {
        Some(n) => Description::with(with_name, &[Fact::Name(n)]),
        None => Description::fixed(without),
    }
}

#[cfg(test)]
mod tests;
