//! How long one client's tokens live: resolved here only, from its record and the deployment's
//! policy, under the hard maximums.

use super::GrantPolicy;
use crate::client;

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
