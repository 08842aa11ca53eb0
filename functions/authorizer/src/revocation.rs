//! The revocation state this instance decides with (`tollgate_revocation`): read from the
//! revocations table with Lambda's own credentials and no AWS SDK, first at cold start (while the
//! rest of the cold start goes on), then from the request path at most once per interval. A
//! decision never uses a state read longer ago than `REVOCATION_MAX_STALENESS_SECONDS`; when no
//! read succeeds, `REVOCATION_UNAVAILABLE` says what decides.

use std::sync::Arc;
use std::time::Duration;

use tollgate_oauth::verify::VerifiedToken;
use tollgate_revocation::Facts;
use tollgate_revocation::dynamo::{DynamoReader, ReaderConfig};
use tollgate_revocation::entry::MAX_LEEWAY_SECONDS;
use tollgate_revocation::feed::{Feed, Policy, SystemClock, View, WhenUnreadable};
use tollgate_telemetry::config::Env;
use tollgate_telemetry::metrics::RevocationFigures;

/// The freshness bound unless `REVOCATION_MAX_STALENESS_SECONDS` says otherwise.
pub const DEFAULT_MAX_STALENESS_SECONDS: u64 = 5;
/// How long the last state read may still decide when none can be read (`allow`), unless
/// `REVOCATION_UNAVAILABLE_MAX_SECONDS` says otherwise.
pub const DEFAULT_UNAVAILABLE_MAX_SECONDS: u64 = 300;
/// Longest freshness bound and longest stale use accepted.
const MAX_SECONDS: u64 = 3_600;
/// How long a decision waits for a read it needs (the function's timeout is 3 s).
pub const DECISION_WAIT: Duration = Duration::from_millis(2_000);
/// How long the cold start waits for the first read.
pub const COLD_START_WAIT: Duration = Duration::from_millis(3_000);

/// What `REVOCATIONS_TABLE` and the variables beside it configure.
#[derive(Debug, Clone)]
pub struct Settings {
    pub reader: ReaderConfig,
    pub policy: Policy,
}

impl Settings {
    /// `None` without `REVOCATIONS_TABLE` (the authorizer then checks signatures and claims
    /// only). A malformed variable stops the cold start with its name.
    pub fn from_lookup<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
    ) -> anyhow::Result<Option<Self>> {
        let Some(table) = env.opt("REVOCATIONS_TABLE") else {
            return Ok(None);
        };
        let bound = bounded(
            env,
            "REVOCATION_MAX_STALENESS_SECONDS",
            DEFAULT_MAX_STALENESS_SECONDS,
        )?;
        let stale_for = bounded(
            env,
            "REVOCATION_UNAVAILABLE_MAX_SECONDS",
            DEFAULT_UNAVAILABLE_MAX_SECONDS,
        )?;
        let allow = env.choice(
            "REVOCATION_UNAVAILABLE",
            true,
            &[("allow", true), ("deny", false)],
        )?;
        let when_unreadable = if allow {
            // The last state read decides while it is younger than this: never less than the
            // bound itself.
            WhenUnreadable::Allow {
                for_at_most_ms: stale_for.max(bound) * 1000,
            }
        } else {
            WhenUnreadable::Deny
        };
        let leeway = env.num("LEEWAY_SECONDS", 30)?;
        if leeway > MAX_LEEWAY_SECONDS {
            anyhow::bail!(
                "LEEWAY_SECONDS may be at most {MAX_LEEWAY_SECONDS} with REVOCATIONS_TABLE: a revocation is kept only that long past its tokens' expiry"
            );
        }
        let reader = ReaderConfig::from_lookup(table, &env.0)?;
        Ok(Some(Self {
            reader,
            policy: Policy {
                max_staleness_ms: bound * 1000,
                when_unreadable,
                wait_ms: u64::try_from(DECISION_WAIT.as_millis()).unwrap_or(u64::MAX),
            },
        }))
    }

    /// Starts reading the state (in the background: the cold start goes on). Inside a Tokio
    /// runtime only.
    pub fn start(self) -> anyhow::Result<Revocation> {
        let reader = DynamoReader::new(self.reader)
            .map_err(|e| anyhow::anyhow!("REVOCATIONS_TABLE: {e}"))?;
        Ok(Revocation {
            feed: Feed::start(reader, self.policy, Arc::new(SystemClock::default())),
        })
    }
}

/// A whole number of seconds from 1 to [`MAX_SECONDS`].
fn bounded<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    name: &'static str,
    default: u64,
) -> anyhow::Result<u64> {
    let v = env.positive(name, default)?;
    if v > MAX_SECONDS {
        anyhow::bail!("{name} may be at most {MAX_SECONDS}");
    }
    Ok(v)
}

/// The state of one instance.
#[derive(Debug)]
pub struct Revocation {
    pub feed: Feed<DynamoReader>,
}

/// What a token says that revocation is keyed on.
pub fn facts(t: &VerifiedToken) -> Facts<'_> {
    Facts {
        sid: t.sid.as_deref(),
        jti: t.jti.as_deref(),
        sub: &t.sub,
        client_id: &t.client_id,
        iat: t.iat,
    }
}

/// The state's age when it decides past its bound (or cannot), for the decision's log line.
pub fn age_past_bound(view: Option<&View>) -> Option<u64> {
    match view {
        Some(View::Stale { age_ms, .. }) => Some(*age_ms),
        Some(View::Unavailable { age_ms }) => *age_ms,
        _ => None,
    }
}

/// What a decision made with `view` tells the metrics, with the reads since the last decision.
pub fn figures(revocation: Option<&Revocation>, view: Option<&View>) -> RevocationFigures {
    let Some(r) = revocation else {
        return RevocationFigures::default();
    };
    let stats = r.feed.take_stats();
    RevocationFigures {
        reads: stats.requests,
        read_failures: stats.failures,
        stale: matches!(view, Some(View::Stale { .. })),
        unavailable: matches!(view, Some(View::Unavailable { .. })),
    }
}
