//! The authorizer's configuration, read once at cold start; a missing or malformed variable
//! stops the cold start with its name.

use tollgate_common::route::{RouteRules, Unlisted};
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
        let unlisted = match opt("UNLISTED_ROUTES").as_deref() {
            None | Some("allow") => Unlisted::Allow,
            Some("deny") => Unlisted::Deny,
            Some(other) => anyhow::bail!("UNLISTED_ROUTES must be allow or deny, not {other:?}"),
        };
        let routes = RouteRules::parse(&opt("ROUTE_SCOPES").unwrap_or_default(), unlisted)
            .map_err(|e| anyhow::anyhow!("ROUTE_SCOPES: {e}"))?;
        let http_api_response = match opt("HTTP_API_RESPONSE").as_deref() {
            None | Some("simple") => HttpApiResponse::Simple,
            Some("iam") => HttpApiResponse::Iam,
            Some(other) => anyhow::bail!("HTTP_API_RESPONSE must be simple or iam, not {other:?}"),
        };
        Ok(Self {
            verifier,
            routes,
            http_api_response,
        })
    }
}
