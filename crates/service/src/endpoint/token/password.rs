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
use tollgate_telemetry::audit::Event;
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
        self.reserve_attempt(client, &guard, now, deadline).await?;
        let user = self
            .check_password(client, &guard, &req, now, deadline)
            .await?;
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

    /// Asks the auth endpoint; a wrong password counts against the username (and may lock
    /// it), no answer gives the reserved attempt back.
    async fn check_password(
        &self,
        client: &Client,
        guard: &LockoutGuard<'_>,
        req: &PasswordRequest,
        now: u64,
        deadline: Deadline,
    ) -> Result<VerifiedUser, TokenError> {
        let check = self
            .verifier
            .verify(&req.username, &req.password, &client.client_id);
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
            PasswordCheck::Valid(user) => Ok(user),
            PasswordCheck::Invalid => {
                if guard.failed(now).await {
                    info!(client_id = %client.client_id, "username locked after repeated failures");
                    observe::event(&Event::LockoutStarted {
                        client_id: &client.client_id,
                        username_hash: req.username_hash.clone(),
                        locked_for_seconds: self.policy.lockout.lockout_secs,
                    });
                    return Err(locked_error().into());
                }
                Err(OAuthError::invalid_grant("the username or password is wrong").into())
            }
        }
    }

    /// Takes one of the username's attempts before its password is checked; refused when
    /// locked or none is left.
    async fn reserve_attempt(
        &self,
        client: &Client,
        guard: &LockoutGuard<'_>,
        now: u64,
        deadline: Deadline,
    ) -> Result<(), TokenError> {
        let reservation = self
            .within(deadline, "lockout store", guard.reserve(now))
            .await?
            .map_err(|e| Unavailable::LockoutStore(Box::new(e)))?;
        match reservation {
            Reservation::Granted => Ok(()),
            Reservation::Locked => {
                info!(client_id = %client.client_id, "password grant refused: username locked");
                Err(locked_error().into())
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

fn locked_error() -> OAuthError {
    OAuthError::invalid_grant("too many failed attempts for this username; try again later")
}
