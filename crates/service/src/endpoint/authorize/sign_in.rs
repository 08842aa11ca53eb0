//! `POST /authorize`: the sign-in form's username and password, for the request the form was
//! opened for (the edge has checked the form's binding). The same password path as the password
//! grant: the client's per-minute limit (counted under its id alone, as every request without a
//! secret), the username's attempt reserved before the auth endpoint is asked, one failure count
//! per canonical username shared with the password grant, the same audit events. A good
//! password gets a code for the redirect URI; anything else shows the form again with one notice.
//!
//! Its I/O chain is (client record || rate count) -> attempt reservation -> auth endpoint ->
//! (counter reset || the code's write).

use tollgate_oauth::access_token::allowed_details;
use tollgate_oauth::clock::Deadline;
use tollgate_oauth::pkce::CodeChallenge;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;

use super::{Again, AuthorizationRequest, NotRedirectable, Notice, Redirect, SignedIn};
use crate::client::{Client, redirect};
use crate::code::{CodeRequest, NewCode};
use crate::endpoint::TokenService;
use crate::endpoint::token::{SignInAttempt, SignInCheck};
use crate::error::{TokenError, Unavailable};
use crate::lockout::{LockoutGuard, clean_username, username_hash};
use crate::rate_limit;
use crate::refresh::RefreshGrant;

impl TokenService {
    /// The form's post for `request`: a code back to the client, the form again, or an error
    /// page when the client can no longer use the flow.
    pub async fn sign_in(
        &self,
        request: &AuthorizationRequest,
        username: &str,
        password: &Secret,
        deadline: Deadline,
    ) -> SignedIn {
        let counter = rate_limit::counter(&request.client_id, rate_limit::NO_SECRET);
        let (client, counted) = tokio::join!(
            self.sign_in_client(&request.client_id, deadline),
            self.count_request(Some(counter), deadline)
        );
        let client = match client {
            Ok(c) => c,
            Err(NotRedirectable::Unavailable) => {
                return SignedIn::Again(Again {
                    notice: Notice::Unavailable,
                    client_name: request.client_id.clone(),
                    cause: None,
                });
            }
            Err(page) => return SignedIn::Page(page),
        };
        // Registered when the form was opened; the operator may have removed it since.
        if redirect::select(&client.redirect_uris, Some(&request.redirect_uri)).is_none() {
            return SignedIn::Page(NotRedirectable::UnregisteredRedirect);
        }
        let hash = username_hash(username);
        let refused = |notice: Notice, cause: Option<TokenError>| {
            observe::event(&Event::SignInRefused {
                client_id: &client.client_id,
                reason: notice.as_str(),
                username_hash: Some(hash.clone()),
            });
            SignedIn::Again(Again {
                notice,
                client_name: client.display_name().to_owned(),
                cause,
            })
        };
        match self.check_limit(&client, counted) {
            Ok(()) => {}
            Err(TokenError::RateLimited { .. }) => return refused(Notice::Busy, None),
            Err(e) => return refused(Notice::Unavailable, Some(e)),
        }
        // A username that cannot be one is refused as a wrong one: the page names no field.
        let Ok(username) = clean_username(username) else {
            return refused(Notice::WrongCredentials, None);
        };
        let attempt = SignInAttempt {
            username,
            username_hash: &hash,
            password,
        };
        match self.issue_code(&client, request, &attempt, deadline).await {
            Ok(redirect) => SignedIn::Redirect(redirect),
            Err((notice, cause)) => refused(notice, cause),
        }
    }

    /// Checks the password and, when it is right, stores a code for the request: the redirect
    /// that carries it, or the notice the form shows again.
    async fn issue_code(
        &self,
        client: &Client,
        request: &AuthorizationRequest,
        attempt: &SignInAttempt<'_>,
        deadline: Deadline,
    ) -> Result<Redirect, (Notice, Option<TokenError>)> {
        let now = self.clock.now();
        let guard = LockoutGuard::new(
            self.lockout.as_ref(),
            &self.policy.lockout,
            attempt.username,
        );
        let user = match self
            .check_sign_in(client, &guard, attempt, now, deadline)
            .await
        {
            Ok(SignInCheck::Valid(user)) => user,
            Ok(SignInCheck::Wrong) => return Err((Notice::WrongCredentials, None)),
            Ok(SignInCheck::Locked) => return Err((Notice::Locked, None)),
            Err(e) => return Err((Notice::Unavailable, Some(e))),
        };
        let grant = RefreshGrant {
            client_id: client.client_id.clone(),
            sub: user.sub,
            scope: request.scope.clone(),
            details: allowed_details(&user.details, &self.policy.user_claims),
            auth_time: now,
        };
        let (code, record) = NewCode::issue(
            CodeRequest {
                grant,
                redirect_uri: request.redirect_uri.clone(),
                redirect_uri_sent: request.redirect_uri_sent,
                code_challenge: CodeChallenge::stored(request.code_challenge.clone()),
                nonce: request.nonce.clone(),
            },
            now,
        );
        // As the password grant: forgetting the failures and storing the code run at once.
        let put = self.within(
            deadline,
            "refresh-token store",
            self.codes.put_code(&record),
        );
        let ((), stored) = tokio::join!(guard.succeeded(), put);
        stored
            .and_then(|r| r.map_err(|e| Unavailable::RefreshStore(Box::new(e)).into()))
            .map_err(|e| (Notice::Unavailable, Some(e)))?;
        observe::event(&Event::CodeIssued {
            client_id: &client.client_id,
            subject: &record.request.grant.sub,
            scope: &record.request.grant.scope.to_string(),
        });
        Ok(self.code_redirect(request, &code))
    }

    /// The redirect that brings `code` back to the request's client, with its `state` and `iss`.
    fn code_redirect(&self, request: &AuthorizationRequest, code: &Secret) -> Redirect {
        let state = request.state.as_deref();
        Redirect::code(
            &request.redirect_uri,
            code.expose(),
            state,
            self.issuer_url(),
        )
    }
}
