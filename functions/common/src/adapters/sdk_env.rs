//! The AWS SDK's configuration straight from the environment the Lambda runtime gives: the
//! token function's cold start without `aws_config`'s provider chains (profile files, IMDS,
//! SSO, web identity...), which read files and build providers Lambda never needs.
//!
//! Taken only when the environment holds everything (region and static credentials) and names
//! nothing that the chains would read beyond that; otherwise [`super::sdk`] loads the full
//! chain, so behaviour never differs (see docs/decisions.md, "The token function's cold start").

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// Settings the full chain reads that this path does not: with any of them set, the full
/// chain is used.
const NEEDS_FULL_CHAIN: &[&str] = &[
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_SDK_UA_APP_ID",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE",
    "AWS_DISABLE_REQUEST_COMPRESSION",
    "AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES",
    "AWS_REQUEST_CHECKSUM_CALCULATION",
    "AWS_RESPONSE_CHECKSUM_VALIDATION",
    "AWS_AUTH_SCHEME_PREFERENCE",
    "AWS_SIGV4A_SIGNING_REGION_SET",
];

/// What the configuration is made of, read from the environment through `var` (no `Debug`:
/// it holds the secret access key).
pub(crate) struct EnvSettings {
    region: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    /// `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL`, read when a client is built.
    endpoints: EnvEndpoints,
}

impl EnvSettings {
    /// `None` when the full chain is needed: no region, no static credentials, or a setting in
    /// [`NEEDS_FULL_CHAIN`].
    pub(crate) fn read(var: fn(&str) -> Option<String>) -> Option<Self> {
        if NEEDS_FULL_CHAIN.iter().any(|k| var(k).is_some()) {
            return None;
        }
        let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"))?;
        Some(Self {
            region,
            access_key_id: var("AWS_ACCESS_KEY_ID")?,
            secret_access_key: var("AWS_SECRET_ACCESS_KEY")?,
            session_token: var("AWS_SESSION_TOKEN").or_else(|| var("AWS_SECURITY_TOKEN")),
            endpoints: EnvEndpoints(var),
        })
    }

    /// The configuration `aws_config::defaults(BehaviorVersion::latest())` would load from the
    /// same environment, with `timeouts`.
    pub(crate) fn into_builder(self, timeouts: TimeoutConfig) -> aws_types::sdk_config::Builder {
        let credentials = Credentials::new(
            self.access_key_id,
            self.secret_access_key,
            self.session_token,
            None,
            "Environment",
        );
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .retry_config(RetryConfig::standard())
            .timeout_config(timeouts)
            .service_config(self.endpoints)
    }
}

/// The per-service endpoint override, `AWS_ENDPOINT_URL_<SERVICE ID>` (upper case, spaces as
/// underscores: `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`), as the SDK's
/// own environment loader reads it, else the global `AWS_ENDPOINT_URL`.
#[derive(Clone, Copy)]
pub(crate) struct EnvEndpoints(fn(&str) -> Option<String>);

impl std::fmt::Debug for EnvEndpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvEndpoints")
    }
}

impl LoadServiceConfig for EnvEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_ascii_uppercase().replace(' ', "_");
        (self.0)(&format!("{}_{service}", key.env())).or_else(|| (self.0)(key.env()))
    }
}

/// `std::env::var`, an unset or non-UTF-8 or empty value being absent (as the SDK reads them).
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::ProvideCredentials;

    fn lambda_env(name: &str) -> Option<String> {
        let v = match name {
            "AWS_REGION" => "eu-west-1",
            "AWS_DEFAULT_REGION" => "us-east-1",
            "AWS_ACCESS_KEY_ID" => "ASIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY" => "example-secret",
            "AWS_SESSION_TOKEN" => "example-session",
            "AWS_ENDPOINT_URL_DYNAMODB" => "http://127.0.0.1:8001",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER" => "http://127.0.0.1:5001",
            _ => return None,
        };
        Some(v.to_owned())
    }

    fn key<'a>(service: &'a str) -> ServiceConfigKey<'a> {
        ServiceConfigKey::builder()
            .service_id(service)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .expect("complete key")
    }

    fn config(var: fn(&str) -> Option<String>) -> SdkConfig {
        EnvSettings::read(var)
            .expect("fast path")
            .into_builder(TimeoutConfig::builder().build())
            .build()
    }

    #[tokio::test]
    async fn lambda_environment_gives_region_credentials_and_endpoints() {
        let cfg = config(lambda_env);
        assert_eq!(cfg.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(cfg.behavior_version(), Some(BehaviorVersion::latest()));
        assert_eq!(cfg.retry_config(), Some(&RetryConfig::standard()));
        let creds = cfg
            .credentials_provider()
            .expect("credentials")
            .provide_credentials()
            .await
            .expect("static credentials");
        assert_eq!(creds.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(creds.secret_access_key(), "example-secret");
        assert_eq!(creds.session_token(), Some("example-session"));
        let services = cfg.service_config().expect("endpoint overrides");
        assert_eq!(
            services.load_config(key("DynamoDB")).as_deref(),
            Some("http://127.0.0.1:8001")
        );
        assert_eq!(
            services.load_config(key("Secrets Manager")).as_deref(),
            Some("http://127.0.0.1:5001")
        );
        assert_eq!(services.load_config(key("STS")), None);
        assert_eq!(cfg.endpoint_url(), None);
    }

    #[test]
    fn global_endpoint_url_applies_where_no_service_override_is_set() {
        fn env(name: &str) -> Option<String> {
            match name {
                "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:4566".to_owned()),
                "AWS_ENDPOINT_URL_DYNAMODB" => Some("http://127.0.0.1:8001".to_owned()),
                "AWS_ENDPOINT_URL_SECRETS_MANAGER" => None,
                other => lambda_env(other),
            }
        }
        let cfg = config(env);
        let services = cfg.service_config().expect("endpoint overrides");
        assert_eq!(
            services.load_config(key("DynamoDB")).as_deref(),
            Some("http://127.0.0.1:8001")
        );
        assert_eq!(
            services.load_config(key("Secrets Manager")).as_deref(),
            Some("http://127.0.0.1:4566")
        );
    }

    #[tokio::test]
    async fn default_region_and_no_session_token() {
        fn env(name: &str) -> Option<String> {
            match name {
                "AWS_REGION" | "AWS_SESSION_TOKEN" => None,
                other => lambda_env(other),
            }
        }
        let cfg = config(env);
        assert_eq!(cfg.region().map(|r| r.as_ref()), Some("us-east-1"));
        let creds = cfg
            .credentials_provider()
            .expect("credentials")
            .provide_credentials()
            .await
            .expect("static credentials");
        assert_eq!(creds.session_token(), None);
    }

    #[test]
    fn missing_region_or_credentials_needs_the_full_chain() {
        fn no_region(n: &str) -> Option<String> {
            (!n.ends_with("REGION")).then(|| lambda_env(n)).flatten()
        }
        fn no_key(n: &str) -> Option<String> {
            (n != "AWS_ACCESS_KEY_ID").then(|| lambda_env(n)).flatten()
        }
        fn no_secret(n: &str) -> Option<String> {
            (n != "AWS_SECRET_ACCESS_KEY")
                .then(|| lambda_env(n))
                .flatten()
        }
        assert!(EnvSettings::read(no_region).is_none());
        assert!(EnvSettings::read(no_key).is_none());
        assert!(EnvSettings::read(no_secret).is_none());
        assert!(EnvSettings::read(lambda_env).is_some());
    }

    #[test]
    fn a_setting_only_the_chain_reads_needs_the_full_chain() {
        fn with_profile(n: &str) -> Option<String> {
            (n == "AWS_PROFILE")
                .then(|| "dev".to_owned())
                .or_else(|| lambda_env(n))
        }
        fn with_fips(n: &str) -> Option<String> {
            (n == "AWS_USE_FIPS_ENDPOINT")
                .then(|| "true".to_owned())
                .or_else(|| lambda_env(n))
        }
        fn with_attempts(n: &str) -> Option<String> {
            (n == "AWS_MAX_ATTEMPTS")
                .then(|| "5".to_owned())
                .or_else(|| lambda_env(n))
        }
        assert!(EnvSettings::read(with_profile).is_none());
        assert!(EnvSettings::read(with_fips).is_none());
        assert!(EnvSettings::read(with_attempts).is_none());
    }
}
