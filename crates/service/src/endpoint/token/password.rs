//! The password grant (RFC 6749 §4.3): the lockout guard is asked before the password check,
//! every attempt counted, so parallel guesses cannot outrun the limit.
//!
//! Its I/O chain is client record -> attempt reservation -> auth endpoint -> (counter reset ||
//! new refresh family). The reservation is not started beside the client lookup: a caller
//! whose client credentials fail must not touch a user's attempts (holding them "in flight"
//! would let anyone without a client make a user's logins wait).

use tollgate_oauth::access_token::allowed_details;
use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::OAuthError;
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::Secret;
use tollgate_telemetry::audit::{Event, UsernameHash};
use tollgate_telemetry::observe;
use tracing::info;

use super::{PasswordRequest, TokenResponse};
use crate::client::Client;
use crate::endpoint::TokenService;
use crate::error::{TokenError, Unavailable};
use crate::lockout::{LockoutGuard, Reservation};
use crate::password::{PasswordCheck, VerifiedUser};
use crate::refresh::RefreshGrant;

impl TokenService {
    pub(super) async fn password_grant(
        &self,
        client: &Client,
        req: PasswordRequest,
        deadline: Deadline,
    ) -> Result<TokenResponse, TokenError> {
        let scope = Scopes::resolve(
            req.scope.as_deref(),
            &client.allowed_scopes,
            &client.default_scopes,
        )?;
        let now = self.clock.now();
        let guard = LockoutGuard::new(self.lockout.as_ref(), &self.policy.lockout, &req.username);
        let attempt = SignInAttempt {
            username: &req.username,
            username_hash: &req.username_hash,
            password: &req.password,
        };
        let user = match self
            .check_sign_in(client, &guard, &attempt, now, deadline)
            .await?
        {
            SignInCheck::Valid(user) => user,
            SignInCheck::Wrong => {
                return Err(OAuthError::invalid_grant("the username or password is wrong").into());
            }
            SignInCheck::Locked => return Err(locked_error().into()),
        };
        let details = allowed_details(&user.details, &self.policy.user_claims);
        let grant = RefreshGrant {
            client_id: client.client_id.clone(),
            sub: user.sub,
            scope,
            details,
            auth_time: now,
        };
        // Forgetting the failure count and issuing the tokens depend only on the good password,
        // not on each other: they run concurrently (one store round trip instead of two). The
        // reset never fails the grant, so the answer is the issue's.
        let ((), issued) =
            tokio::join!(guard.succeeded(), self.issue(client, grant, now, deadline));
        issued
    }

    /// The password path every sign-in takes, the password grant's and the sign-in page's: the
    /// username's attempt reserved before the check (refused when locked), then the auth
    /// endpoint asked. `Err` is a `503`: a store or the endpoint gave no answer, or every
    /// attempt of the window is being checked right now.
    pub(in crate::endpoint) async fn check_sign_in(
        &self,
        client: &Client,
        guard: &LockoutGuard<'_>,
        attempt: &SignInAttempt<'_>,
        now: u64,
        deadline: Deadline,
    ) -> Result<SignInCheck, TokenError> {
        if !self.reserve_attempt(client, guard, now, deadline).await? {
            return Ok(SignInCheck::Locked);
        }
        self.check_password(client, guard, attempt, now, deadline)
            .await
    }

    /// Asks the auth endpoint; a wrong password counts against the username (and may lock
    /// it), no answer gives the reserved attempt back.
    async fn check_password(
        &self,
        client: &Client,
        guard: &LockoutGuard<'_>,
        req: &SignInAttempt<'_>,
        now: u64,
        deadline: Deadline,
    ) -> Result<SignInCheck, TokenError> {
        let check = self
            .verifier
            .verify(req.username, req.password, &client.client_id);
        let check = match self.within(deadline, "auth endpoint", check).await {
            Ok(Ok(check)) => Ok(check),
            Ok(Err(e)) => Err(Unavailable::AuthEndpoint(Box::new(e)).into()),
            Err(e) => Err(e),
        };
        let check = match check {
            Ok(check) => check,
            Err(e) => {
                // No answer: nobody learnt anything from this attempt, so it is given back.
                guard.release().await;
                return Err(e);
            }
        };
        match check {
            PasswordCheck::Valid(user) => Ok(SignInCheck::Valid(user)),
            PasswordCheck::Invalid => {
                if guard.failed(now).await {
                    info!(client_id = %client.client_id, "username locked after repeated failures");
                    observe::event(&Event::LockoutStarted {
                        client_id: &client.client_id,
                        username_hash: req.username_hash.clone(),
                        locked_for_seconds: self.policy.lockout.lockout_secs,
                    });
                    return Ok(SignInCheck::Locked);
                }
                Ok(SignInCheck::Wrong)
            }
        }
    }

    /// Takes one of the username's attempts before its password is checked: `false` when the
    /// username is locked, `503` when every attempt of the window is in flight.
    async fn reserve_attempt(
        &self,
        client: &Client,
        guard: &LockoutGuard<'_>,
        now: u64,
        deadline: Deadline,
    ) -> Result<bool, TokenError> {
        let reservation = self
            .within(deadline, "lockout store", guard.reserve(now))
            .await?
            .map_err(|e| Unavailable::LockoutStore(Box::new(e)))?;
        match reservation {
            Reservation::Granted => Ok(true),
            Reservation::Locked => {
                info!(client_id = %client.client_id, "password grant refused: username locked");
                Ok(false)
            }
            Reservation::Busy => {
                // Every attempt of the window is being checked right now: this one waits its
                // turn (503 with Retry-After) rather than be told its password is wrong.
                info!(client_id = %client.client_id, "password grant deferred: all attempts in flight");
                Err(OAuthError::unavailable().into())
            }
        }
    }
}

/// A username and password to check, with the username's audit form.
pub(in crate::endpoint) struct SignInAttempt<'a> {
    /// Cleaned (`crate::lockout::clean_username`): what the lockout counts and the endpoint is
    /// asked about.
    pub username: &'a str,
    pub username_hash: &'a UsernameHash,
    pub password: &'a Secret,
}

/// What the password path came to.
pub(in crate::endpoint) enum SignInCheck {
    Valid(VerifiedUser),
    /// A wrong username or password, counted.
    Wrong,
    /// The username is locked (now, or by this failure).
    Locked,
}

fn locked_error() -> OAuthError {
    OAuthError::invalid_grant("too many failed attempts for this username; try again later")
}
