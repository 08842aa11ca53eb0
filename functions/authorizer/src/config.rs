//! The authorizer's configuration, read once at cold start; a missing or malformed variable
//! stops the cold start with its name.

use tollgate_telemetry::config::Env;
use tollgate_telemetry::metrics::Metrics;

use crate::answer::Policies;
use crate::cache::VerifiedTokens;
use crate::revocation::Revocation;
use crate::route::{PathCase, RouteRules, Unlisted};
use tollgate_oauth::verify::{
    AccessTokenVerifier, DEFAULT_MAX_LIFETIME, VerifierConfig, parse_algorithm,
};
use tollgate_revocation::feed::View;

/// How answers to HTTP API (payload 2.0) events are shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpApiResponse {
    /// `{isAuthorized, context}` (`EnableSimpleResponses: true`).
    Simple,
    /// An IAM policy, as for REST APIs.
    Iam,
}

/// Everything built at cold start.
#[derive(Debug)]
pub struct State {
    pub verifier: AccessTokenVerifier,
    /// Tokens this instance verified, so a token seen again skips the signature check.
    pub verified: VerifiedTokens,
    /// Policy documents written so far, shared by tokens with the same reach.
    pub policies: Policies,
    pub routes: RouteRules,
    pub http_api_response: HttpApiResponse,
    /// `ALLOWED_APIS`: the APIs and stages this authorizer answers for; `None` is any.
    pub allowed_apis: Option<Vec<ApiStage>>,
    /// One line per decision (its EMF document and log record), by `AWS_LAMBDA_FUNCTION_NAME`.
    pub metrics: Metrics,
    /// The revocation state, when `REVOCATIONS_TABLE` is set ([`State::with_revocation`]).
    pub revocation: Option<Revocation>,
}

/// `ROUTE_SCOPES`, `UNLISTED_ROUTES` (default deny) and `PATH_CASE` (default lower).
/// The metrics writer: named after the function (`AWS_LAMBDA_FUNCTION_NAME`, set by Lambda and
/// cargo lambda: the `FunctionName` dimension), a line per decision by default; with
/// `ALLOW_LINES=batched`, allows counted per instance (`tollgate_telemetry::metrics::allows`).
fn read_metrics<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> anyhow::Result<Metrics> {
    let metrics = Metrics::new(
        &env.opt("AWS_LAMBDA_FUNCTION_NAME")
            .unwrap_or_else(|| "authorizer".into()),
    );
    let batched = env.choice("ALLOW_LINES", false, &[("each", false), ("batched", true)])?;
    Ok(if batched {
        metrics.batching_allows()
    } else {
        metrics
    })
}

fn read_routes<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> anyhow::Result<RouteRules> {
    let unlisted = env.choice(
        "UNLISTED_ROUTES",
        Unlisted::Deny,
        &[("deny", Unlisted::Deny), ("allow", Unlisted::Allow)],
    )?;
    let case = env.choice(
        "PATH_CASE",
        PathCase::Lower,
        &[("lower", PathCase::Lower), ("exact", PathCase::Exact)],
    )?;
    RouteRules::parse_with(&env.opt("ROUTE_SCOPES").unwrap_or_default(), unlisted, case)
        .map_err(|e| anyhow::anyhow!("ROUTE_SCOPES: {e}"))
}

/// One `apiId/stage` entry of `ALLOWED_APIS`; a stage of `*` is every stage of that API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiStage {
    pub api: String,
    pub stage: String,
}

impl ApiStage {
    fn parse_list(raw: &str) -> anyhow::Result<Vec<Self>> {
        let list = raw
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| match e.split_once('/') {
                Some((api, stage))
                    if !api.is_empty()
                        && !stage.is_empty()
                        && !api.contains('*')
                        && !stage.contains('/') =>
                {
                    Ok(Self {
                        api: api.to_owned(),
                        stage: stage.to_owned(),
                    })
                }
                _ => anyhow::bail!("ALLOWED_APIS entry {e:?} is not apiId/stage"),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if list.is_empty() {
            anyhow::bail!("ALLOWED_APIS is set but names no apiId/stage");
        }
        Ok(list)
    }

    /// Whether `prefix` (`arn:...:{api}/{stage}/`) is this entry's API and stage.
    pub fn covers(&self, prefix: &str) -> bool {
        let Some(tail) = prefix.rsplit(':').next() else {
            return false;
        };
        let mut it = tail.split('/');
        let (api, stage) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
        api == self.api && (self.stage == "*" || stage == self.stage)
    }
}

impl State {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let env = Env(get);
        let jwks = match (env.opt("JWKS"), env.opt("JWKS_FILE")) {
            (Some(j), None) => j,
            (None, Some(path)) => std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("JWKS_FILE {path} could not be read: {e}"))?,
            (None, None) => anyhow::bail!("JWKS or JWKS_FILE is required"),
            (Some(_), Some(_)) => anyhow::bail!("set JWKS or JWKS_FILE, not both"),
        };
        let algorithms = env
            .opt("ALLOWED_ALGORITHMS")
            .unwrap_or_else(|| "ES256,RS256,EdDSA".into())
            .split(',')
            .filter(|a| !a.trim().is_empty())
            .map(parse_algorithm)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("ALLOWED_ALGORITHMS is malformed: {e}"))?;
        let cfg = VerifierConfig {
            issuer: env.req("ISSUER")?,
            audience: env.req("AUDIENCE")?,
            leeway: env.num("LEEWAY_SECONDS", 30)?,
            algorithms,
            max_lifetime: env.positive("MAX_TOKEN_LIFETIME_SECONDS", DEFAULT_MAX_LIFETIME)?,
        };
        let verifier =
            AccessTokenVerifier::new(&jwks, &cfg).map_err(|e| anyhow::anyhow!("JWKS: {e}"))?;
        let routes = read_routes(&env)?;
        // IAM policies by default: a simple yes/no cached per token would serve other routes.
        let http_api_response = env.choice(
            "HTTP_API_RESPONSE",
            HttpApiResponse::Iam,
            &[
                ("iam", HttpApiResponse::Iam),
                ("simple", HttpApiResponse::Simple),
            ],
        )?;
        let allowed_apis = env
            .opt("ALLOWED_APIS")
            .map(|raw| ApiStage::parse_list(&raw))
            .transpose()?;
        Ok(Self {
            metrics: read_metrics(&env)?,
            verifier,
            verified: VerifiedTokens::default(),
            policies: Policies::default(),
            routes,
            http_api_response,
            allowed_apis,
            revocation: None,
        })
    }

    /// The state deciding with `revocation` too.
    pub fn with_revocation(mut self, revocation: Option<Revocation>) -> Self {
        self.revocation = revocation;
        self
    }

    /// The revocation state a decision made now may use, as it is: no read is started or
    /// waited for (tests, benchmarks, fuzzing). `None` when revocation is off.
    pub fn revocation_now(&self) -> Option<View> {
        self.revocation.as_ref().map(|r| r.feed.peek())
    }

    /// The revocation state a decision made now may use: reads it first when it is past its
    /// bound (at most [`crate::revocation::DECISION_WAIT`]), starts a read in the background
    /// when it nears it. `None` when revocation is off.
    pub async fn revocation_view(&self) -> Option<View> {
        match &self.revocation {
            Some(r) => Some(r.feed.view().await),
            None => None,
        }
    }
}
