//! The authorizer's configuration, read once at cold start; a missing or malformed variable
//! stops the cold start with its name.

use tollgate_common::metrics::Metrics;
use tollgate_common::route::{PathCase, RouteRules, Unlisted};
use tollgate_common::verify::{AccessTokenVerifier, VerifierConfig, parse_algorithm};

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
    pub routes: RouteRules,
    pub http_api_response: HttpApiResponse,
    /// `ALLOWED_APIS`: the APIs and stages this authorizer answers for; `None` is any.
    pub allowed_apis: Option<Vec<ApiStage>>,
    /// One EMF line per decision, by `AWS_LAMBDA_FUNCTION_NAME`.
    pub metrics: Metrics,
}

/// `ROUTE_SCOPES`, `UNLISTED_ROUTES` (default deny) and `PATH_CASE` (default lower).
fn read_routes(opt: &impl Fn(&str) -> Option<String>) -> anyhow::Result<RouteRules> {
    let unlisted = match opt("UNLISTED_ROUTES").as_deref() {
        None | Some("deny") => Unlisted::Deny,
        Some("allow") => Unlisted::Allow,
        Some(other) => anyhow::bail!("UNLISTED_ROUTES must be allow or deny, not {other:?}"),
    };
    let case = match opt("PATH_CASE").as_deref() {
        None | Some("lower") => PathCase::Lower,
        Some("exact") => PathCase::Exact,
        Some(other) => anyhow::bail!("PATH_CASE must be lower or exact, not {other:?}"),
    };
    RouteRules::parse_with(&opt("ROUTE_SCOPES").unwrap_or_default(), unlisted, case)
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
        let opt = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let req = |k: &str| opt(k).ok_or_else(|| anyhow::anyhow!("{k} is required"));
        let jwks = match (opt("JWKS"), opt("JWKS_FILE")) {
            (Some(j), None) => j,
            (None, Some(path)) => std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("JWKS_FILE {path} could not be read: {e}"))?,
            (None, None) => anyhow::bail!("JWKS or JWKS_FILE is required"),
            (Some(_), Some(_)) => anyhow::bail!("set JWKS or JWKS_FILE, not both"),
        };
        let algorithms = opt("ALLOWED_ALGORITHMS")
            .unwrap_or_else(|| "ES256,RS256,EdDSA".into())
            .split(',')
            .filter(|a| !a.trim().is_empty())
            .map(parse_algorithm)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("ALLOWED_ALGORITHMS is malformed: {e}"))?;
        let leeway = match opt("LEEWAY_SECONDS") {
            None => 30,
            Some(v) => v
                .parse()
                .map_err(|_| anyhow::anyhow!("LEEWAY_SECONDS is malformed: {v:?}"))?,
        };
        let cfg = VerifierConfig {
            issuer: req("ISSUER")?,
            audience: req("AUDIENCE")?,
            leeway,
            algorithms,
        };
        let verifier =
            AccessTokenVerifier::new(&jwks, &cfg).map_err(|e| anyhow::anyhow!("JWKS: {e}"))?;
        let routes = read_routes(&opt)?;
        // IAM policies by default: a simple yes/no cached per token would serve other routes.
        let http_api_response = match opt("HTTP_API_RESPONSE").as_deref() {
            None | Some("iam") => HttpApiResponse::Iam,
            Some("simple") => HttpApiResponse::Simple,
            Some(other) => anyhow::bail!("HTTP_API_RESPONSE must be simple or iam, not {other:?}"),
        };
        let allowed_apis = opt("ALLOWED_APIS")
            .map(|raw| ApiStage::parse_list(&raw))
            .transpose()?;
        // Set by Lambda (and cargo lambda); the metrics' FunctionName dimension.
        let metrics =
            Metrics::new(&opt("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "authorizer".into()));
        Ok(Self {
            metrics,
            verifier,
            routes,
            http_api_response,
            allowed_apis,
        })
    }
}
