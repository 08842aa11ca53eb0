//! The catalogue: every metric either function writes, with its unit and dimension sets.
//! template.yaml's alarms and dashboard use these names (a test checks).

use super::{FUNCTION_NAME, MetricSpec, Unit};

pub(super) const BY_FUNCTION: &[&[&str]] = &[&[FUNCTION_NAME]];

/// Every `/token` or `/revoke` request (token function).
pub const REQUESTS: MetricSpec = MetricSpec {
    name: "Requests",
    unit: Unit::Count,
    dimensions: BY_FUNCTION,
};
/// 1 when a `/token` or `/revoke` request was answered `503` (or `500`), else 0: its `Average`
/// is the 503 rate.
pub const UNAVAILABLE: MetricSpec = MetricSpec {
    name: "Unavailable",
    unit: Unit::Count,
    dimensions: BY_FUNCTION,
};
/// How long the token function took to answer.
pub const LATENCY: MetricSpec = MetricSpec {
    name: "Latency",
    unit: Unit::Milliseconds,
    dimensions: BY_FUNCTION,
};
/// One per `/token` request, by grant type and outcome (`issued` or the OAuth error code), and
/// by client (the authenticated client_id, else `unauthenticated`).
pub const GRANTS: MetricSpec = MetricSpec {
    name: "Grants",
    unit: Unit::Count,
    dimensions: &[
        &[FUNCTION_NAME, "GrantType", "Outcome"],
        &[FUNCTION_NAME, "ClientId", "GrantType", "Outcome"],
    ],
};
/// A username locked after repeated wrong passwords.
pub const LOCKOUTS: MetricSpec = MetricSpec {
    name: "Lockouts",
    unit: Unit::Count,
    dimensions: BY_FUNCTION,
};
/// A used refresh token presented again: its family was revoked.
pub const REFRESH_REUSE: MetricSpec = MetricSpec {
    name: "RefreshTokenReuse",
    unit: Unit::Count,
    dimensions: &[&[FUNCTION_NAME], &[FUNCTION_NAME, "ClientId"]],
};
/// A `/token` request refused with `429` because its client used up its per-minute limit.
pub const RATE_LIMITED: MetricSpec = MetricSpec {
    name: "RateLimited",
    unit: Unit::Count,
    dimensions: &[&[FUNCTION_NAME], &[FUNCTION_NAME, "ClientId"]],
};
/// A refresh-token family revoked by `POST /revoke`.
pub const REVOCATIONS: MetricSpec = MetricSpec {
    name: "Revocations",
    unit: Unit::Count,
    dimensions: BY_FUNCTION,
};
/// A refresh-token family revoked because the user-status endpoint said the user is gone or
/// disabled.
pub const SESSIONS_ENDED: MetricSpec = MetricSpec {
    name: "SessionsEnded",
    unit: Unit::Count,
    dimensions: BY_FUNCTION,
};
/// One call to a dependency (`Dependency`: `auth_endpoint`, `dynamodb`, `secrets_manager`).
pub const DEPENDENCY_CALLS: MetricSpec = MetricSpec {
    name: "DependencyCalls",
    unit: Unit::Count,
    dimensions: &[&[FUNCTION_NAME, "Dependency"]],
};
/// 1 when that call failed (error, timeout, nonsense answer), else 0.
pub const DEPENDENCY_FAILURES: MetricSpec = MetricSpec {
    name: "DependencyFailures",
    unit: Unit::Count,
    dimensions: &[&[FUNCTION_NAME, "Dependency"]],
};
/// How long that call took.
pub const DEPENDENCY_LATENCY: MetricSpec = MetricSpec {
    name: "DependencyLatency",
    unit: Unit::Milliseconds,
    dimensions: &[&[FUNCTION_NAME, "Dependency"]],
};
/// One authorizer decision: `Decision` `allow`, `deny` or `unauthorized`, and its `Reason`.
pub const AUTHORIZATIONS: MetricSpec = MetricSpec {
    name: "Authorizations",
    unit: Unit::Count,
    dimensions: &[
        &[FUNCTION_NAME, "Decision"],
        &[FUNCTION_NAME, "Decision", "Reason"],
    ],
};
/// How long the authorizer took to decide.
pub const AUTHORIZER_LATENCY: MetricSpec = MetricSpec {
    name: "AuthorizerLatency",
    unit: Unit::Microseconds,
    dimensions: &[&[FUNCTION_NAME]],
};

/// Requests the authorizer made to read the revocation state (Query pages), since its last
/// decision.
pub const REVOCATION_READS: MetricSpec = MetricSpec {
    name: "RevocationReads",
    unit: Unit::Count,
    dimensions: BY_FUNCTION,
};
/// Reads of the revocation state that failed, since the authorizer's last decision.
pub const REVOCATION_READ_FAILURES: MetricSpec = MetricSpec {
    name: "RevocationReadFailures",
    unit: Unit::Count,
    dimensions: BY_FUNCTION,
};
/// A decision made with a revocation state older than its bound, because no read succeeded
/// (`REVOCATION_UNAVAILABLE=allow`).
pub const REVOCATION_STALE: MetricSpec = MetricSpec {
    name: "RevocationStaleDecisions",
    unit: Unit::Count,
    dimensions: BY_FUNCTION,
};
/// A token refused because no revocation state young enough could be read.
pub const REVOCATION_UNAVAILABLE: MetricSpec = MetricSpec {
    name: "RevocationUnavailableDecisions",
    unit: Unit::Count,
    dimensions: BY_FUNCTION,
};

/// The catalogue: every metric either function emits.
pub const ALL: &[&MetricSpec] = &[
    &REQUESTS,
    &UNAVAILABLE,
    &LATENCY,
    &GRANTS,
    &LOCKOUTS,
    &REFRESH_REUSE,
    &REVOCATIONS,
    &RATE_LIMITED,
    &SESSIONS_ENDED,
    &DEPENDENCY_CALLS,
    &DEPENDENCY_FAILURES,
    &DEPENDENCY_LATENCY,
    &AUTHORIZATIONS,
    &AUTHORIZER_LATENCY,
    &REVOCATION_READS,
    &REVOCATION_READ_FAILURES,
    &REVOCATION_STALE,
    &REVOCATION_UNAVAILABLE,
];
