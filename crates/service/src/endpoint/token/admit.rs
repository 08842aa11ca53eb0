//! Before a grant runs: the client authenticates while its request is counted against its
//! per-minute limit (the two calls run at once, so the limit adds no round trip; a client this
//! instance knows to be unlimited is not counted at all), and a password grant past its
//! client's sunset is refused.

use tollgate_oauth::clock::Deadline;
use tollgate_oauth::error::{Description, ErrorCode, Fact, OAuthError};
use tollgate_telemetry::audit::Event;
use tollgate_telemetry::observe;
use tracing::{info, warn};

use super::TokenRequest;
use crate::client::{self, Client, PasswordGrantSunset};
use crate::endpoint::TokenService;
use crate::error::{TokenError, Unavailable};
use crate::rate_limit::{self, RateLimitStoreError, Window};

/// A request's count in its window, as the counter answered (its count, its store's failure,
/// or no answer before the deadline), or `None` when it was not counted.
pub(in crate::endpoint) struct Counted {
    window: Window,
    now: u64,
    answer: Option<Result<Result<u64, RateLimitStoreError>, TokenError>>,
}

impl TokenService {
    /// Authenticates the client (always on a fresh read of its record) and counts the request
    /// against its limit, concurrently. The count is kept under the client_id and the
    /// fingerprint of the secret presented (`rate_limit::counter`), so a request with a wrong
    /// secret never touches the real client's count and nothing has to be given back. Only a
    /// client_id that could name a client is counted, and not one this instance knows to be
    /// unlimited (`rate_limit::known`): that costs no write. When it knew it as unlimited but
    /// the record now has a limit, the request is counted after the lookup.
    pub(super) async fn authenticate_counted(
        &self,
        req: &TokenRequest,
        deadline: Deadline,
    ) -> Result<(Client, Counted), TokenError> {
        let now = self.clock.now();
        let window = Window::at(now);
        let counter = req
            .credentials
            .as_ref()
            .filter(|c| client::is_valid_client_id(&c.client_id))
            .map(|c| {
                let key = c.secret.as_ref().map(|s| self.secrets.fingerprint(s));
                rate_limit::counter(
                    &c.client_id,
                    key.as_deref().unwrap_or(rate_limit::NO_SECRET),
                )
            });
        let up_front = req
            .credentials
            .as_ref()
            .filter(|c| self.known_limits.get(&c.client_id, now).count_up_front())
            .and(counter.as_ref());
        let (client, answer) = tokio::join!(
            self.authenticate(req.credentials.as_ref(), deadline),
            self.count(up_front, window, deadline)
        );
        let client = client?;
        let limit = rate_limit::limit_of(&client, self.policy.rate_limit);
        self.known_limits.remember(&client.client_id, limit, now);
        let answer = match answer {
            // Known as unlimited, but an operator has given it a limit since: count it now.
            None if limit > 0 => self.count(counter.as_ref(), window, deadline).await,
            answer => answer,
        };
        Ok((
            client,
            Counted {
                window,
                now,
                answer,
            },
        ))
    }

    /// Counts a request in `counter` (not at all when `None`) within the deadline.
    pub(in crate::endpoint) async fn count_request(
        &self,
        counter: Option<String>,
        deadline: Deadline,
    ) -> Counted {
        let now = self.clock.now();
        let window = Window::at(now);
        let answer = self.count(counter.as_ref(), window, deadline).await;
        Counted {
            window,
            now,
            answer,
        }
    }

    /// Counts the request in `counter` (if any) within the deadline.
    async fn count(
        &self,
        counter: Option<&String>,
        window: Window,
        deadline: Deadline,
    ) -> Option<Result<Result<u64, RateLimitStoreError>, TokenError>> {
        let counter = counter?;
        let count = self.rate_limits.count(counter, window);
        Some(self.within(deadline, "rate-limit store", count).await)
    }

    /// Refuses the request when its count is over the client's limit. A client without a limit
    /// goes on whatever the counter said; one with a limit gets 503 when the counter failed, and
    /// goes on uncounted when the counter gave no answer (it may have counted the request: a
    /// retry must not pay for it twice, and the limit steers clients, it guards nothing).
    pub(in crate::endpoint) fn check_limit(
        &self,
        client: &Client,
        counted: Counted,
    ) -> Result<(), TokenError> {
        let Counted {
            window,
            now,
            answer,
        } = counted;
        let limit = rate_limit::limit_of(client, self.policy.rate_limit);
        if limit == 0 {
            if let Some(Ok(Err(e))) = &answer {
                // Counted before the lookup said it has no limit: it goes on.
                warn!(client_id = %client.client_id, error = %e, "rate-limit counter failed");
            }
            return Ok(());
        }
        let count = match answer {
            Some(Ok(Ok(count))) => count,
            Some(Ok(Err(e @ RateLimitStoreError::Unavailable(_)))) => {
                return Err(Unavailable::RateLimitStore(Box::new(e)).into());
            }
            Some(Ok(Err(RateLimitStoreError::OutcomeUnknown(_)))) | Some(Err(_)) => {
                warn!(client_id = %client.client_id, "rate-limit count got no answer: the request goes on uncounted");
                return Ok(());
            }
            // An authenticated client always has a valid client_id, so it was counted.
            None => return Err(OAuthError::unavailable().into()),
        };
        if rate_limit::admits(count, limit) {
            return Ok(());
        }
        let retry_after = window.retry_after(now);
        info!(client_id = %client.client_id, limit, count, "token request over the client's rate limit");
        observe::event(&Event::RateLimited {
            client_id: &client.client_id,
            limit,
            window_start: window.start,
        });
        Err(TokenError::RateLimited { limit, retry_after })
    }

    /// The client's password-grant sunset still to come, for the answer's headers; refused
    /// with `unauthorized_client` once it has passed.
    pub(super) fn password_grant_sunset(
        &self,
        client: &Client,
    ) -> Result<Option<PasswordGrantSunset>, TokenError> {
        let Some(s) = client.password_grant_sunset else {
            return Ok(None);
        };
        if !s.passed_at(self.clock.now()) {
            return Ok(Some(s));
        }
        info!(client_id = %client.client_id, "password grant refused: past its sunset");
        Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            Description::with(
                "the password grant for this client ended at {} (its sunset date); use another grant",
                &[Fact::Time(s.sunset_at)],
            ),
        )
        .into())
    }
}
