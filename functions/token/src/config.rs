//! The token function's configuration, read once at cold start through the common [`Env`]
//! helper. `from_env` fails fast and names the variable that is missing or malformed.

use std::time::Duration;

use tollgate_oauth::keys::SigningAlg;
use tollgate_oauth::secret::Secret;
use tollgate_service::adapters::http::auth_endpoint::AuthEndpointConfig;
use tollgate_service::endpoint::GrantPolicy;
use tollgate_service::lockout::LockoutPolicy;
use tollgate_service::store::tables;
pub use tollgate_telemetry::config::{ConfigError, Env};

use crate::page::Branding;

mod legacy;
pub use legacy::LegacyRefreshConfig;

/// Where the signing key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    Pem(Secret),
    File(String),
    /// The ARN (or name) of an AWS Secrets Manager secret whose text is the PEM.
    SecretsManager(String),
}

/// The auth endpoint's shared credential, when it lives in AWS Secrets Manager: the header it
/// goes in and the secret that holds it, read at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSecret {
    pub header: String,
    pub secret_id: String,
}

/// Where a secret value (a client-secret pepper, the legacy endpoint's credential) comes from:
/// the environment (development) or a Secrets Manager secret (AWS), read at cold start.
#[derive(Debug, Clone)]
pub enum SecretSource {
    Value(Secret),
    SecretsManager(String),
}

impl SecretSource {
    /// `{PREFIX}` holds the value, `{PREFIX}_SECRET_ARN` names a secret; at most one of them.
    pub(crate) fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        value: &'static str,
        arn: &'static str,
    ) -> Result<Option<Self>, ConfigError> {
        match (env.opt(value), env.opt(arn)) {
            (None, None) => Ok(None),
            (Some(v), None) => Ok(Some(Self::Value(Secret::new(v)))),
            (None, Some(a)) => Ok(Some(Self::SecretsManager(a))),
            (Some(_), Some(_)) => Err(ConfigError::Malformed {
                name: arn,
                why: format!("set {value} or {arn}, not both"),
            }),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub issuer: String,
    pub audience: String,
    pub clients_table: String,
    pub tokens_table: String,
    pub lockouts_table: String,
    /// Where ended sessions, cut-offs and revoked access tokens go for the authorizers.
    pub revocations_table: String,
    pub dynamodb_timeout: Duration,
    pub auth_endpoint: AuthEndpointConfig,
    /// The user-status endpoint (`USER_STATUS_URL`), asked on every refresh: the auth
    /// endpoint's timeouts and credential, its own URL.
    pub user_status_url: Option<String>,
    pub policy: GrantPolicy,
    pub signing_alg: SigningAlg,
    pub signing_key: KeySource,
    pub signing_key_id: Option<String>,
    /// Other public keys (a JWKS document) published beside the signing key's: a rotation's
    /// next or previous key.
    pub additional_jwks: Option<String>,
    /// Set when the auth endpoint's credential is in Secrets Manager; `auth_endpoint.credential`
    /// is then filled in at cold start.
    pub auth_endpoint_credential_secret: Option<CredentialSecret>,
    /// The pepper new client-secret hashes are made with (HMAC-SHA256), if any.
    pub pepper: Option<SecretSource>,
    /// The pepper before the last rotation, kept to verify the hashes made with it.
    pub previous_pepper: Option<SecretSource>,
    /// A PEM bundle of CA certificates trusted beside the compiled-in roots (a private CA of the
    /// auth endpoint), for every outbound TLS connection.
    pub extra_ca_certs: Option<String>,
    /// The same bundle from a Secrets Manager secret (read at cold start), trusted for the
    /// auth and user-status endpoints: a private CA in AWS without a layer.
    pub extra_ca_certs_secret: Option<String>,
    /// The legacy refresh endpoint (`LEGACY_REFRESH_URL`), asked about refresh tokens Tollgate
    /// did not issue; `None` when it is not set.
    pub legacy_refresh: Option<LegacyRefreshConfig>,
    /// The sign-in page's title and logo (`SIGN_IN_TITLE`, `SIGN_IN_LOGO_URL`).
    pub sign_in: Branding,
    /// Where a client told its password grant ends can read how to move
    /// (`PASSWORD_GRANT_SUNSET_LINK`): the `Link` of a sunset's answers.
    pub sunset_link: Option<String>,
}

impl TokenConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&Env::process())
    }

    pub fn from_lookup<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let signing_key = signing_key(env)?;
        let signing_alg = env
            .opt("SIGNING_ALG")
            .unwrap_or_else(|| "ES256".into())
            .parse()
            .map_err(|e: tollgate_oauth::keys::KeyError| ConfigError::Malformed {
                name: "SIGNING_ALG",
                why: e.to_string(),
            })?;
        let (credential, credential_secret) = credential(env)?;
        Ok(Self {
            issuer: env.req("ISSUER")?,
            audience: env.req("AUDIENCE")?,
            clients_table: env.req(tables::CLIENTS.env_var)?,
            tokens_table: env.req(tables::TOKENS.env_var)?,
            lockouts_table: env.req(tables::LOCKOUTS.env_var)?,
            revocations_table: env.req(tables::REVOCATIONS.env_var)?,
            dynamodb_timeout: Duration::from_millis(env.positive("DYNAMODB_TIMEOUT_MS", 2000)?),
            auth_endpoint: AuthEndpointConfig {
                url: env.req("AUTH_ENDPOINT_URL")?,
                connect_timeout: Duration::from_millis(
                    env.positive("AUTH_ENDPOINT_CONNECT_TIMEOUT_MS", 1000)?,
                ),
                timeout: Duration::from_millis(env.positive("AUTH_ENDPOINT_TIMEOUT_MS", 3000)?),
                credential,
            },
            user_status_url: user_status_url(env)?,
            policy: policy(env)?,
            signing_alg,
            signing_key,
            signing_key_id: env.opt("SIGNING_KEY_ID"),
            extra_ca_certs: env.opt("EXTRA_CA_CERTS"),
            extra_ca_certs_secret: env.opt("EXTRA_CA_CERTS_SECRET_ARN"),
            legacy_refresh: legacy::legacy_refresh(env)?,
            sign_in: branding(env)?,
            sunset_link: https_url(env, "PASSWORD_GRANT_SUNSET_LINK")?,
            additional_jwks: env.opt("ADDITIONAL_JWKS"),
            auth_endpoint_credential_secret: credential_secret,
            pepper: SecretSource::from_env(
                env,
                "CLIENT_SECRET_PEPPER",
                "CLIENT_SECRET_PEPPER_SECRET_ARN",
            )?,
            previous_pepper: SecretSource::from_env(
                env,
                "CLIENT_SECRET_PREVIOUS_PEPPER",
                "CLIENT_SECRET_PREVIOUS_PEPPER_SECRET_ARN",
            )?,
        })
    }
}

/// `SIGNING_KEY_SECRET_ARN`, `SIGNING_KEY_FILE` or `SIGNING_KEY_PEM`: exactly one.
fn signing_key<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<KeySource, ConfigError> {
    Ok(
        match (
            env.opt("SIGNING_KEY_PEM"),
            env.opt("SIGNING_KEY_FILE"),
            env.opt("SIGNING_KEY_SECRET_ARN"),
        ) {
            (Some(pem), None, None) => KeySource::Pem(Secret::new(pem)),
            (None, Some(path), None) => KeySource::File(path),
            (None, None, Some(arn)) => KeySource::SecretsManager(arn),
            (None, None, None) => {
                return Err(ConfigError::Missing(
                    "SIGNING_KEY_SECRET_ARN, SIGNING_KEY_FILE or SIGNING_KEY_PEM",
                ));
            }
            _ => {
                return Err(ConfigError::Malformed {
                    name: "SIGNING_KEY_SECRET_ARN",
                    why: "set one of SIGNING_KEY_SECRET_ARN, SIGNING_KEY_FILE and SIGNING_KEY_PEM"
                        .into(),
                });
            }
        },
    )
}

/// The auth endpoint's shared credential: a header with a value (local) or a secret (AWS).
#[allow(clippy::type_complexity)]
fn credential<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<(Option<(String, Secret)>, Option<CredentialSecret>), ConfigError> {
    Ok(
        match (
            env.opt("AUTH_ENDPOINT_CREDENTIAL_HEADER"),
            env.opt("AUTH_ENDPOINT_CREDENTIAL"),
            env.opt("AUTH_ENDPOINT_CREDENTIAL_SECRET_ARN"),
        ) {
            (None, None, None) => (None, None),
            (Some(h), Some(v), None) => (Some((h, Secret::new(v))), None),
            (Some(header), None, Some(secret_id)) => {
                (None, Some(CredentialSecret { header, secret_id }))
            }
            (Some(_), None, None) => {
                return Err(ConfigError::Missing(
                    "AUTH_ENDPOINT_CREDENTIAL or AUTH_ENDPOINT_CREDENTIAL_SECRET_ARN",
                ));
            }
            (None, _, _) => return Err(ConfigError::Missing("AUTH_ENDPOINT_CREDENTIAL_HEADER")),
            (Some(_), Some(_), Some(_)) => {
                return Err(ConfigError::Malformed {
                    name: "AUTH_ENDPOINT_CREDENTIAL_SECRET_ARN",
                    why: "set AUTH_ENDPOINT_CREDENTIAL or AUTH_ENDPOINT_CREDENTIAL_SECRET_ARN, not both"
                        .into(),
                });
            }
        },
    )
}

/// Lifetimes, lockout and the user claims allowed into tokens.
fn policy<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<GrantPolicy, ConfigError> {
    let access_token_ttl = env.positive("ACCESS_TOKEN_TTL", 900)?;
    let refresh_family_ttl = env.positive("REFRESH_FAMILY_TTL", 30 * 24 * 3600)?;
    let refresh_token_ttl = env.positive("REFRESH_TOKEN_TTL", 14 * 24 * 3600)?;
    let max_failures = env.num("LOCKOUT_MAX_FAILURES", 5)?;
    let max_failures = u32::try_from(max_failures).map_err(|_| ConfigError::Malformed {
        name: "LOCKOUT_MAX_FAILURES",
        why: "too large".into(),
    })?;
    Ok(GrantPolicy {
        access_token_ttl,
        refresh_token_ttl,
        refresh_family_ttl,
        lockout: LockoutPolicy {
            max_failures,
            window_secs: env.positive("LOCKOUT_WINDOW_SECONDS", 900)?,
            lockout_secs: env.positive("LOCKOUT_DURATION_SECONDS", 900)?,
        },
        user_claims: user_claims(env.opt("USER_CLAIMS"))?,
        rate_limit: rate_limit(env)?,
        refresh_reuse_grace: refresh_reuse_grace(env)?,
        lost_answer_window: lost_answer_window(env)?,
        max_claims_age: match env.num("MAX_CLAIMS_AGE", 0)? {
            0 => None,
            age => Some(age),
        },
    })
}

/// `REFRESH_REUSE_GRACE_SECONDS`: 0 (off, the default) to 60.
fn refresh_reuse_grace<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<u64, ConfigError> {
    let max = tollgate_service::client::MAX_GRACE_SECONDS;
    let grace = env.num("REFRESH_REUSE_GRACE_SECONDS", 0)?;
    if grace > max {
        return Err(ConfigError::Malformed {
            name: "REFRESH_REUSE_GRACE_SECONDS",
            why: format!("at most {max} seconds"),
        });
    }
    Ok(grace)
}

/// `LOST_ANSWER_WINDOW_SECONDS`: how long a retry after a rotation whose answer was lost still
/// gets the successor that landed (1 to 300; default 30: the function's 10 s timeout, the
/// 5 s `Retry-After` of a `503`, and a margin for the client's own retry delay).
fn lost_answer_window<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<u64, ConfigError> {
    let window = env.positive("LOST_ANSWER_WINDOW_SECONDS", 30)?;
    if window > 300 {
        return Err(ConfigError::Malformed {
            name: "LOST_ANSWER_WINDOW_SECONDS",
            why: "at most 300 seconds".into(),
        });
    }
    Ok(window)
}

/// `USER_STATUS_URL`, which replaces `MAX_CLAIMS_AGE`: with the directory asked on every
/// refresh, a bound on the age of sign-in claims would only log users out for nothing.
fn user_status_url<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<String>, ConfigError> {
    let url = env.opt("USER_STATUS_URL");
    if url.is_some() && env.num("MAX_CLAIMS_AGE", 0)? > 0 {
        return Err(ConfigError::Malformed {
            name: "MAX_CLAIMS_AGE",
            why: "set USER_STATUS_URL or MAX_CLAIMS_AGE, not both".into(),
        });
    }
    Ok(url)
}

/// `RATE_LIMIT_PER_MINUTE`: `/token` requests a client may make per minute unless its record
/// says otherwise; 0 (the default) is unlimited.
fn rate_limit<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<u32, ConfigError> {
    let limit = env.num("RATE_LIMIT_PER_MINUTE", 0)?;
    u32::try_from(limit)
        .ok()
        .filter(|&l| l <= tollgate_service::client::MAX_RATE_LIMIT)
        .ok_or_else(|| ConfigError::Malformed {
            name: "RATE_LIMIT_PER_MINUTE",
            why: format!(
                "at most {} (0 is unlimited)",
                tollgate_service::client::MAX_RATE_LIMIT
            ),
        })
}

/// `SIGN_IN_TITLE` (default "Sign in", at most 100 characters) and `SIGN_IN_LOGO_URL` (an
/// `https` URL of at most 1024 characters without spaces, quotes, `;` or `,`: it is named as it
/// is in the page's `Content-Security-Policy`).
fn branding<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Branding, ConfigError> {
    let title = env.opt("SIGN_IN_TITLE").unwrap_or_else(|| "Sign in".into());
    if title.chars().count() > 100 || title.chars().any(char::is_control) {
        return Err(ConfigError::Malformed {
            name: "SIGN_IN_TITLE",
            why: "at most 100 characters, none of them a control character".into(),
        });
    }
    Ok(Branding {
        title,
        logo_url: https_url(env, "SIGN_IN_LOGO_URL")?,
    })
}

/// An optional `https` URL of at most 1024 characters without spaces, quotes, `;`, `,`, `<`,
/// `>` or `\`: one a header (`Content-Security-Policy`, `Link`) can carry as it is.
fn https_url<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    name: &'static str,
) -> Result<Option<String>, ConfigError> {
    let url = env.opt(name);
    let well_formed = |u: &str| {
        u.len() <= 1024
            && u.strip_prefix("https://").is_some_and(|r| r.len() > 1)
            && u.bytes()
                .all(|b| b.is_ascii_graphic() && !b"\"';,<>`\\".contains(&b))
    };
    if url.as_deref().is_some_and(|u| !well_formed(u)) {
        return Err(ConfigError::Malformed {
            name,
            why: "an https URL without spaces, quotes, ';' or ','".into(),
        });
    }
    Ok(url)
}

/// `USER_CLAIMS`: a comma list, none of which may collide with a claim or context key.
fn user_claims(raw: Option<String>) -> Result<Vec<String>, ConfigError> {
    let names: Vec<String> = raw
        .map(|v| {
            v.split(',')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .unwrap_or_default();
    tollgate_oauth::access_token::check_user_claims(&names).map_err(|why| {
        ConfigError::Malformed {
            name: "USER_CLAIMS",
            why,
        }
    })?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("ISSUER", "https://auth.example"),
            ("AUDIENCE", "api"),
            ("CLIENTS_TABLE", "c"),
            ("TOKENS_TABLE", "t"),
            ("LOCKOUTS_TABLE", "l"),
            ("REVOCATIONS_TABLE", "r"),
            ("AUTH_ENDPOINT_URL", "http://127.0.0.1:1/auth"),
            ("SIGNING_KEY_FILE", "/dev/null"),
        ])
    }

    fn load(vars: &HashMap<&'static str, &'static str>) -> Result<TokenConfig, ConfigError> {
        TokenConfig::from_lookup(&Env(|k| vars.get(k).map(|v| (*v).to_owned())))
    }

    #[test]
    fn defaults_apply_when_only_required_variables_are_set() {
        let c = load(&base()).unwrap();
        assert_eq!(c.policy.access_token_ttl, 900);
        assert_eq!(c.policy.lockout.max_failures, 5);
        assert_eq!(c.signing_alg, SigningAlg::Es256);
        assert_eq!(c.auth_endpoint.timeout, Duration::from_secs(3));
        assert_eq!(c.policy.rate_limit, 0, "unlimited unless set");
    }

    #[test]
    fn the_deployment_rate_limit_is_a_bounded_whole_number() {
        let mut v = base();
        v.insert("RATE_LIMIT_PER_MINUTE", "120");
        assert_eq!(load(&v).unwrap().policy.rate_limit, 120);
        for bad in ["-1", "ten", "1000001", "99999999999"] {
            v.insert("RATE_LIMIT_PER_MINUTE", bad);
            let msg = load(&v).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                msg.starts_with("RATE_LIMIT_PER_MINUTE is malformed"),
                "{bad}: {msg}"
            );
        }
    }

    #[test]
    fn missing_variable_is_named() {
        let mut v = base();
        v.remove("ISSUER");
        assert_eq!(
            load(&v).err().map(|e| e.to_string()),
            Some("ISSUER is required".into())
        );
    }

    #[test]
    fn malformed_number_is_named() {
        let mut v = base();
        v.insert("ACCESS_TOKEN_TTL", "15m");
        let msg = load(&v).err().map(|e| e.to_string()).unwrap();
        assert!(msg.starts_with("ACCESS_TOKEN_TTL is malformed"), "{msg}");
    }

    #[test]
    fn user_claims_are_a_comma_list() {
        let mut v = base();
        v.insert("USER_CLAIMS", "email, name,,groups");
        assert_eq!(
            load(&v).unwrap().policy.user_claims,
            ["email", "name", "groups"]
        );
    }

    #[test]
    fn user_claims_colliding_with_context_keys_are_refused() {
        for bad in [
            "email, principalId",
            "sub",
            "Client_ID",
            "scope",
            "integrationLatency",
        ] {
            let mut v = base();
            v.insert("USER_CLAIMS", bad);
            let msg = load(&v).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.starts_with("USER_CLAIMS is malformed"), "{bad}: {msg}");
        }
    }

    #[test]
    fn signing_key_comes_from_exactly_one_source() {
        let mut v = base();
        v.remove("SIGNING_KEY_FILE");
        v.insert(
            "SIGNING_KEY_SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf",
        );
        assert!(matches!(
            load(&v).map(|c| c.signing_key),
            Ok(KeySource::SecretsManager(arn)) if arn.ends_with(":secret:k-AbCdEf")
        ));
        v.insert("SIGNING_KEY_FILE", "/dev/null");
        let msg = load(&v).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.starts_with("SIGNING_KEY_SECRET_ARN is malformed"),
            "{msg}"
        );
        v.remove("SIGNING_KEY_FILE");
        v.remove("SIGNING_KEY_SECRET_ARN");
        let msg = load(&v).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("SIGNING_KEY_SECRET_ARN") && msg.ends_with("is required"),
            "{msg}"
        );
    }

    #[test]
    fn auth_endpoint_credential_may_live_in_secrets_manager() {
        let mut v = base();
        v.insert("AUTH_ENDPOINT_CREDENTIAL_HEADER", "x-api-key");
        assert!(
            load(&v).is_err(),
            "a header without a credential is refused"
        );
        v.insert(
            "AUTH_ENDPOINT_CREDENTIAL_SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:c",
        );
        let c = load(&v).unwrap();
        assert_eq!(
            c.auth_endpoint_credential_secret,
            Some(CredentialSecret {
                header: "x-api-key".into(),
                secret_id: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:c".into()
            })
        );
        assert!(c.auth_endpoint.credential.is_none());
        v.insert("AUTH_ENDPOINT_CREDENTIAL", "plain");
        assert!(load(&v).is_err(), "both sources at once are refused");
        v.remove("AUTH_ENDPOINT_CREDENTIAL_HEADER");
        assert!(
            load(&v).is_err(),
            "a credential without a header is refused"
        );
    }

    #[test]
    fn pepper_comes_from_at_most_one_source() {
        let mut v = base();
        assert!(load(&v).unwrap().pepper.is_none());
        v.insert("CLIENT_SECRET_PEPPER_SECRET_ARN", "arn:p");
        assert!(matches!(
            load(&v).unwrap().pepper,
            Some(SecretSource::SecretsManager(a)) if a == "arn:p"
        ));
        v.insert("CLIENT_SECRET_PEPPER", "x");
        assert!(load(&v).is_err());
    }

    #[test]
    fn grace_window_is_off_by_default_and_at_most_sixty_seconds() {
        let mut v = base();
        assert_eq!(load(&v).unwrap().policy.refresh_reuse_grace, 0);
        v.insert("REFRESH_REUSE_GRACE_SECONDS", "60");
        assert_eq!(load(&v).unwrap().policy.refresh_reuse_grace, 60);
        v.insert("LOST_ANSWER_WINDOW_SECONDS", "301");
        let msg = load(&v).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.starts_with("LOST_ANSWER_WINDOW_SECONDS is malformed"),
            "{msg}"
        );
        v.insert("LOST_ANSWER_WINDOW_SECONDS", "0");
        assert!(load(&v).is_err(), "never off");
        v.insert("LOST_ANSWER_WINDOW_SECONDS", "61");
        assert_eq!(load(&v).unwrap().policy.lost_answer_window, 61);
        v.remove("LOST_ANSWER_WINDOW_SECONDS");
        assert_eq!(load(&v).unwrap().policy.lost_answer_window, 30);
        v.insert("REFRESH_REUSE_GRACE_SECONDS", "61");
        let msg = load(&v).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.starts_with("REFRESH_REUSE_GRACE_SECONDS is malformed"),
            "{msg}"
        );
    }

    #[test]
    fn claims_age_and_user_status_exclude_each_other() {
        let mut v = base();
        let c = load(&v).unwrap();
        assert_eq!((c.policy.max_claims_age, c.user_status_url), (None, None));
        v.insert("MAX_CLAIMS_AGE", "86400");
        assert_eq!(load(&v).unwrap().policy.max_claims_age, Some(86_400));
        v.insert("USER_STATUS_URL", "http://127.0.0.1:1/status");
        let msg = load(&v).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.starts_with("MAX_CLAIMS_AGE is malformed"), "{msg}");
        v.insert("MAX_CLAIMS_AGE", "0");
        let c = load(&v).unwrap();
        assert_eq!(c.policy.max_claims_age, None);
        assert_eq!(
            c.user_status_url.as_deref(),
            Some("http://127.0.0.1:1/status")
        );
    }

    #[test]
    fn legacy_refresh_needs_https_and_a_credential() {
        let mut v = base();
        assert!(load(&v).unwrap().legacy_refresh.is_none());
        v.insert("LEGACY_REFRESH_URL", "https://legacy.example/refresh");
        let msg = load(&v).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("LEGACY_REFRESH_CREDENTIAL"), "{msg}");
        v.insert("LEGACY_REFRESH_CREDENTIAL", "shared");
        let c = load(&v).unwrap().legacy_refresh.unwrap();
        assert_eq!(c.url, "https://legacy.example/refresh");
        assert!(matches!(c.credential, SecretSource::Value(s) if s.expose() == "shared"));
        v.insert("LEGACY_REFRESH_URL", "http://127.0.0.1:9001/legacy/refresh");
        assert!(
            load(&v).is_ok(),
            "http to the loopback address: the local stack"
        );
        for url in [
            "http://legacy.example/refresh",
            "http://127.0.0.1.evil.example/r",
            "ftp://legacy.example/",
            "legacy.example",
        ] {
            v.insert("LEGACY_REFRESH_URL", url);
            let msg = load(&v).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                msg.starts_with("LEGACY_REFRESH_URL is malformed"),
                "{url}: {msg}"
            );
        }
        v.remove("LEGACY_REFRESH_URL");
        assert!(load(&v).is_err(), "a credential without a URL is a mistake");
        v.remove("LEGACY_REFRESH_CREDENTIAL");
        v.insert("LEGACY_REFRESH_URL", "https://legacy.example/refresh");
        v.insert("LEGACY_REFRESH_CREDENTIAL_SECRET_ARN", "arn:l");
        assert!(matches!(
            load(&v).unwrap().legacy_refresh.unwrap().credential,
            SecretSource::SecretsManager(a) if a == "arn:l"
        ));
    }

    #[test]
    fn unknown_algorithm_is_refused() {
        let mut v = base();
        v.insert("SIGNING_ALG", "HS256");
        assert!(load(&v).is_err());
    }
}
