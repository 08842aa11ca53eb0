//! Everything built once at cold start: the token service with its adapters, and the discovery
//! documents rendered ahead of time.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tollgate_oauth::access_token::AccessTokenIssuer;
use tollgate_oauth::clock::SystemClock;
use tollgate_oauth::id_token::HintVerifier;
use tollgate_oauth::keys::{SigningKey, published_jwks};
use tollgate_oauth::secret::{Secret, SecretHasher};
use tollgate_oauth::verify::{
    AccessTokenVerifier, DEFAULT_MAX_LIFETIME, VerifierConfig, parse_algorithm,
};
use tollgate_service::adapters::aws::sdk::{CONNECT_TIMEOUT, sdk_config_on};
use tollgate_service::adapters::aws::secrets_manager::SecretsManager;
use tollgate_service::adapters::http::auth_endpoint::{AuthEndpointConfig, HttpPasswordVerifier};
use tollgate_service::adapters::http::legacy_refresh::{CREDENTIAL_HEADER, HttpLegacyRefresh};
use tollgate_service::adapters::http::sdk_http::sdk_http_client;
use tollgate_service::adapters::http::tls::{
    Https, RootCertStore, add_pem, https_connector, root_store,
};
use tollgate_service::adapters::http::user_status::HttpUserDirectory;
use tollgate_service::endpoint::TokenService;
use tollgate_service::endpoint::introspect::Introspector;
use tollgate_service::hooked::Measured;
use tollgate_service::legacy::LegacyPorts;
use tollgate_service::store::dynamo::{
    DynamoClient, DynamoClientStore, DynamoLockoutStore, DynamoRateLimitStore, DynamoRefreshStore,
    DynamoRevocationStore,
};
use tollgate_telemetry::metrics::{Dependency, Metrics};

use crate::authorize::SignInState;
use crate::config::{KeySource, SecretSource, TokenConfig};
use crate::discovery;

pub struct AppState {
    pub service: TokenService,
    /// `/introspect`'s public keys (the ones `/.well-known/jwks.json` publishes) and issuer.
    pub introspector: Introspector,
    /// Writes the function's metrics (and, through each request's scope, its audit events).
    pub metrics: Metrics,
    pub jwks: String,
    pub metadata: String,
    /// The sign-in page's key, branding and URLs.
    pub sign_in: SignInState,
    /// The `Link` of a password-grant sunset's answers (`PASSWORD_GRANT_SUNSET_LINK`).
    pub sunset_link: Option<String>,
    /// OpenID Connect Discovery's document, and the check of `/end_session`'s hints.
    pub openid_configuration: String,
    pub hints: HintVerifier,
}

impl AppState {
    pub async fn from_config(mut cfg: TokenConfig) -> anyhow::Result<Self> {
        // One trust store (compiled-in roots, plus EXTRA_CA_CERTS) and one TLS stack for the SDK
        // and the auth endpoint; building them does no I/O beyond that optional file. The auth
        // endpoint's also trusts EXTRA_CA_CERTS_SECRET_ARN's bundle, read below.
        let roots = root_store(cfg.extra_ca_certs.as_deref())?;
        let sdk_https = https_connector(roots.clone(), CONNECT_TIMEOUT)?;
        // One SDK configuration for every AWS client. Loading it reads only the environment:
        // nothing reaches AWS until a client makes a call, so the local stack never does.
        let aws = sdk_config_on(cfg.dynamodb_timeout, sdk_http_client(sdk_https)).await;
        let metrics = Metrics::from_env("token");
        let secrets_manager = || MeasuredSecrets(SecretsManager::new(&aws), &metrics);
        let roots = with_secret_ca(
            roots,
            cfg.extra_ca_certs_secret.as_deref(),
            &secrets_manager(),
        )
        .await?;
        let auth_https = https_connector(roots, cfg.auth_endpoint.connect_timeout)?;
        let pem = match &cfg.signing_key {
            KeySource::Pem(p) => p.clone(),
            KeySource::File(path) => Secret::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("failed to read SIGNING_KEY_FILE {path}"))?,
            ),
            KeySource::SecretsManager(id) => secrets_manager()
                .read(id)
                .await
                .context("failed to read the signing key (SIGNING_KEY_SECRET_ARN)")?,
        };
        if let Some(c) = &cfg.auth_endpoint_credential_secret {
            let value = secrets_manager().read(&c.secret_id).await.context(
                "failed to read the auth endpoint credential (AUTH_ENDPOINT_CREDENTIAL_SECRET_ARN)",
            )?;
            cfg.auth_endpoint.credential = Some((c.header.clone(), value));
        }
        let secrets = secret_hasher(&cfg, &secrets_manager()).await?;
        let legacy_credential = legacy_credential(&cfg, &secrets_manager()).await?;
        let key = SigningKey::from_pem(pem.expose(), cfg.signing_alg, cfg.signing_key_id.clone())?;
        let jwks = serde_json::to_string(&published_jwks(&key, cfg.additional_jwks.as_deref())?)?;
        let introspector = introspector(&jwks, &cfg)?;
        let hints = HintVerifier::new(&jwks, &cfg.issuer).map_err(anyhow::Error::msg)?;

        let outbound = Outbound::new(&cfg, auth_https, legacy_credential)?;
        let service = service(&cfg, DynamoClient::new(&aws), key, secrets, outbound);
        Ok(Self {
            service,
            introspector,
            metrics,
            jwks,
            metadata: discovery::metadata(&cfg.issuer).to_string(),
            sign_in: SignInState::new(&cfg.issuer, cfg.sign_in.clone(), pem.expose()),
            sunset_link: cfg.sunset_link.clone(),
            openid_configuration: discovery::openid_document(&cfg),
            hints,
        })
    }
}

/// The organisation's endpoints, all on one connector (one TLS stack, one trust store): the
/// password check, the user-status check when `USER_STATUS_URL` is set, and the legacy refresh
/// endpoint when `LEGACY_REFRESH_URL` is.
struct Outbound {
    verifier: HttpPasswordVerifier,
    directory: Option<HttpUserDirectory>,
    legacy: Option<HttpLegacyRefresh>,
}

impl Outbound {
    fn new(
        cfg: &TokenConfig,
        https: Https,
        legacy_credential: Option<Secret>,
    ) -> anyhow::Result<Self> {
        let legacy = match (&cfg.legacy_refresh, legacy_credential) {
            (Some(l), Some(credential)) => {
                let endpoint = AuthEndpointConfig {
                    url: l.url.clone(),
                    credential: Some((CREDENTIAL_HEADER.to_owned(), credential)),
                    ..cfg.auth_endpoint.clone()
                };
                Some(
                    HttpLegacyRefresh::with_connector(&endpoint, https.clone())
                        .context("LEGACY_REFRESH_URL")?,
                )
            }
            _ => None,
        };
        let verifier = HttpPasswordVerifier::with_connector(&cfg.auth_endpoint, https.clone())
            .context("AUTH_ENDPOINT_URL")?;
        let directory = match &cfg.user_status_url {
            None => None,
            Some(url) => {
                let endpoint = AuthEndpointConfig {
                    url: url.clone(),
                    ..cfg.auth_endpoint.clone()
                };
                Some(
                    HttpUserDirectory::with_connector(&endpoint, https)
                        .context("USER_STATUS_URL")?,
                )
            }
        };
        Ok(Self {
            verifier,
            directory,
            legacy,
        })
    }
}

/// The token service on the stack's stores and auth endpoint, each port measured (one
/// `Dependency*` metric line per call).
fn service(
    cfg: &TokenConfig,
    dynamo: DynamoClient,
    key: SigningKey,
    secrets: SecretHasher,
    outbound: Outbound,
) -> TokenService {
    TokenService {
        clients: Arc::new(Measured::new(
            Dependency::DynamoDb,
            DynamoClientStore::new(dynamo.clone(), &cfg.clients_table),
        )),
        refresh: Arc::new(Measured::new(
            Dependency::DynamoDb,
            DynamoRefreshStore::new(dynamo.clone(), &cfg.tokens_table),
        )),
        codes: Arc::new(Measured::new(
            Dependency::DynamoDb,
            DynamoRefreshStore::new(dynamo.clone(), &cfg.tokens_table),
        )),
        lockout: Arc::new(Measured::new(
            Dependency::DynamoDb,
            DynamoLockoutStore::new(dynamo.clone(), &cfg.lockouts_table),
        )),
        rate_limits: Arc::new(Measured::new(
            Dependency::DynamoDb,
            DynamoRateLimitStore::new(dynamo.clone(), &cfg.lockouts_table),
        )),
        revocations: Arc::new(Measured::new(
            Dependency::DynamoDb,
            DynamoRevocationStore::new(dynamo.clone(), &cfg.revocations_table),
        )),
        verifier: Arc::new(Measured::new(Dependency::AuthEndpoint, outbound.verifier)),
        directory: outbound
            .directory
            .map(|d| Arc::new(Measured::new(Dependency::UserStatus, d)) as _),
        legacy: outbound.legacy.map(|endpoint| LegacyPorts {
            endpoint: Arc::new(Measured::new(Dependency::LegacyRefresh, endpoint)),
            store: Arc::new(Measured::new(
                Dependency::DynamoDb,
                DynamoRefreshStore::new(dynamo.clone(), &cfg.tokens_table),
            )),
        }),
        issuer: AccessTokenIssuer::new(cfg.issuer.clone(), cfg.audience.clone(), Arc::new(key)),
        policy: cfg.policy.clone(),
        clock: Arc::new(SystemClock),
        secrets,
        known_limits: Default::default(),
    }
}

/// Secrets Manager at cold start, each read measured (there is no request scope yet).
struct MeasuredSecrets<'a>(SecretsManager, &'a Metrics);

/// The client-secret hasher: the pepper and the previous one, each a value or a secret's.
async fn secret_hasher(
    cfg: &TokenConfig,
    sm: &MeasuredSecrets<'_>,
) -> anyhow::Result<SecretHasher> {
    let mut peppers = Vec::new();
    for source in [&cfg.pepper, &cfg.previous_pepper] {
        peppers.push(match source {
            None => None,
            Some(SecretSource::Value(v)) => Some(v.clone()),
            Some(SecretSource::SecretsManager(id)) => Some(
                sm.read(id)
                    .await
                    .context("failed to read the client-secret pepper")?,
            ),
        });
    }
    let previous: Vec<Secret> = peppers.pop().flatten().into_iter().collect();
    SecretHasher::new(peppers.pop().flatten().as_ref(), &previous).context("CLIENT_SECRET_PEPPER")
}

impl MeasuredSecrets<'_> {
    async fn read(&self, id: &str) -> anyhow::Result<Secret> {
        let started = Instant::now();
        let value = self.0.read(id).await;
        self.1
            .dependency(Dependency::SecretsManager, value.is_ok(), started.elapsed());
        Ok(value?)
    }
}

/// The legacy refresh endpoint's shared credential, when one is configured: a value, or a
/// secret read now.
async fn legacy_credential(
    cfg: &TokenConfig,
    sm: &MeasuredSecrets<'_>,
) -> anyhow::Result<Option<Secret>> {
    let Some(legacy) = &cfg.legacy_refresh else {
        return Ok(None);
    };
    Ok(Some(match &legacy.credential {
        SecretSource::Value(v) => v.clone(),
        SecretSource::SecretsManager(id) => sm.read(id).await.context(
            "failed to read the legacy refresh credential (LEGACY_REFRESH_CREDENTIAL_SECRET_ARN)",
        )?,
    }))
}

/// `roots` plus the PEM bundle in the secret `id` (`EXTRA_CA_CERTS_SECRET_ARN`), if one is named.
async fn with_secret_ca(
    mut roots: RootCertStore,
    id: Option<&str>,
    secrets: &MeasuredSecrets<'_>,
) -> anyhow::Result<RootCertStore> {
    let Some(id) = id else {
        return Ok(roots);
    };
    let pem = secrets
        .read(id)
        .await
        .context("failed to read the auth endpoint's CA bundle (EXTRA_CA_CERTS_SECRET_ARN)")?;
    add_pem(
        &mut roots,
        pem.expose().as_bytes(),
        "EXTRA_CA_CERTS_SECRET_ARN",
    )?;
    Ok(roots)
}

/// Seconds `/introspect` lets an access token's `iat` be ahead of its clock.
const INTROSPECTION_SKEW: u64 = 5;

/// Verifies access tokens for `/introspect` with every published public key (the signing key's
/// and, during a key rotation, the others), as the authorizer does.
fn introspector(jwks: &str, cfg: &TokenConfig) -> anyhow::Result<Introspector> {
    let algorithms = ["ES256", "RS256", "EdDSA"]
        .into_iter()
        .map(parse_algorithm)
        .collect::<Result<Vec<_>, _>>()?;
    let verifier = AccessTokenVerifier::new(
        jwks,
        &VerifierConfig {
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            // Lets `iat` be a few seconds ahead: another instance may have issued the token in
            // what is, to its clock, already the next second. `exp` is checked strictly by the
            // introspection itself, and Tollgate never sets `nbf`.
            leeway: INTROSPECTION_SKEW,
            algorithms,
            // Every token these keys verify is Tollgate's own.
            max_lifetime: DEFAULT_MAX_LIFETIME,
        },
    )
    .context("the published JWKS cannot verify access tokens for /introspect")?;
    Ok(Introspector {
        verifier,
        issuer: cfg.issuer.clone(),
    })
}
