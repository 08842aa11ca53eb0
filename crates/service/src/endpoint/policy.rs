//! What the deployment decides for every client (`GrantPolicy`), and what one client gets of it
//! (`Lifetimes`): resolved here only, from its record and the deployment's policy, under the hard
//! maximums.

use crate::client;
use crate::lockout::LockoutPolicy;

/// Lifetimes and limits that apply to every client unless its record overrides them.
#[derive(Debug, Clone)]
pub struct GrantPolicy {
    pub access_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub refresh_family_ttl: u64,
    pub lockout: LockoutPolicy,
    /// User-detail claims from the auth endpoint that may go into tokens.
    pub user_claims: Vec<String>,
    /// `/token` requests a client may make per minute unless its record says otherwise; 0 is
    /// unlimited.
    pub rate_limit: u32,
    /// Seconds after a rotation during which the rotated token may be retried and gets the same
    /// successor back (`crate::refresh::grace`); 0 is off. Clients may override it.
    pub refresh_reuse_grace: u64,
    /// Seconds after a rotation whose answer was lost (the client was told `503`) during which
    /// a retry with the rotated token gets the successor that landed, whatever the grace window
    /// (`LOST_ANSWER_WINDOW_SECONDS`): the function's timeout, the `Retry-After`, and a margin.
    pub lost_answer_window: u64,
    /// Without a user-status endpoint: the most seconds after sign-in that a refresh may still
    /// copy the details captured then (`MAX_CLAIMS_AGE`); `None` is no limit.
    pub max_claims_age: Option<u64>,
}

/// The lifetimes one client gets: its overrides where it has them, else the deployment's, and
/// never more than the hard maximums (a record written by hand cannot exceed them either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_token: u64,
    pub refresh_token: u64,
    pub refresh_family: u64,
}

impl Lifetimes {
    pub fn of(client: &client::Client, policy: &GrantPolicy) -> Self {
        let pick = |own: Option<u64>, default: u64, max: u64| own.unwrap_or(default).clamp(1, max);
        let refresh_family = pick(
            client.refresh_family_ttl,
            policy.refresh_family_ttl,
            client::MAX_REFRESH_FAMILY_TTL,
        );
        Self {
            access_token: pick(
                client.access_token_ttl,
                policy.access_token_ttl,
                client::MAX_ACCESS_TOKEN_TTL,
            ),
            refresh_token: pick(
                client.refresh_token_ttl,
                policy.refresh_token_ttl,
                client::MAX_REFRESH_TOKEN_TTL,
            )
            .min(refresh_family),
            refresh_family,
        }
    }
}
