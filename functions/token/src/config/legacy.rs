//! The legacy refresh endpoint's settings (`LEGACY_REFRESH_URL` and its credential): refresh
//! tokens of the system Tollgate replaces are asked about there (docs/apigee-migration.md).

use super::{ConfigError, Env, SecretSource};

/// The legacy refresh endpoint: its URL and the shared credential sent with every call.
#[derive(Debug, Clone)]
pub struct LegacyRefreshConfig {
    pub url: String,
    pub credential: SecretSource,
}

/// `LEGACY_REFRESH_URL` (`https`, or `http` to a loopback address for the local stack: legacy
/// refresh tokens travel to it) and its credential, `LEGACY_REFRESH_CREDENTIAL` or
/// `LEGACY_REFRESH_CREDENTIAL_SECRET_ARN` (exactly one). Unset: no legacy tokens are accepted.
pub(super) fn legacy_refresh<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<LegacyRefreshConfig>, ConfigError> {
    let credential = SecretSource::from_env(
        env,
        "LEGACY_REFRESH_CREDENTIAL",
        "LEGACY_REFRESH_CREDENTIAL_SECRET_ARN",
    )?;
    let Some(url) = env.opt("LEGACY_REFRESH_URL") else {
        if credential.is_some() {
            return Err(ConfigError::Missing("LEGACY_REFRESH_URL"));
        }
        return Ok(None);
    };
    let loopback = [
        "http://127.0.0.1:",
        "http://127.0.0.1/",
        "http://[::1]:",
        "http://[::1]/",
        "http://localhost:",
        "http://localhost/",
    ];
    if !url.starts_with("https://") && !loopback.iter().any(|p| url.starts_with(p)) {
        return Err(ConfigError::Malformed {
            name: "LEGACY_REFRESH_URL",
            why: "an https URL (http only to 127.0.0.1, [::1] or localhost)".into(),
        });
    }
    let credential = credential.ok_or(ConfigError::Missing(
        "LEGACY_REFRESH_CREDENTIAL or LEGACY_REFRESH_CREDENTIAL_SECRET_ARN",
    ))?;
    Ok(Some(LegacyRefreshConfig { url, credential }))
}
