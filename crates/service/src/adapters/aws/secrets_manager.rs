//! AWS Secrets Manager, where the private signing key and the auth endpoint's credential live in
//! AWS. The token function reads them once at cold start; the admin CLI writes new keys.

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use tollgate_oauth::secret::Secret;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong. Messages name the secret, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("failed to read secret {id}")]
    Read {
        id: String,
        #[source]
        source: BoxError,
    },
    #[error("secret {id} holds no text (SecretString); binary secrets are not supported")]
    NotText { id: String },
    #[error("secret {name} already exists; choose a new name for a new key")]
    AlreadyExists { name: String },
    #[error("failed to create secret {name}")]
    Create {
        name: String,
        #[source]
        source: BoxError,
    },
}

#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            client: Client::new(config),
        }
    }

    /// The current value (`AWSCURRENT`) of the secret named by `id`, an ARN or a name.
    pub async fn read(&self, id: &str) -> Result<Secret, SecretsError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| SecretsError::Read {
                id: id.to_owned(),
                source: e.into(),
            })?;
        out.secret_string()
            .map(Secret::new)
            .ok_or_else(|| SecretsError::NotText { id: id.to_owned() })
    }

    /// Creates a new secret holding `value`, encrypted with the account's default key for
    /// Secrets Manager; returns its ARN. An existing secret is never overwritten.
    pub async fn create(
        &self,
        name: &str,
        value: &Secret,
        description: &str,
    ) -> Result<String, SecretsError> {
        let out = self
            .client
            .create_secret()
            .name(name)
            .description(description)
            .secret_string(value.expose())
            .send()
            .await;
        match out {
            Ok(o) => Ok(o.arn().unwrap_or(name).to_owned()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_exists_exception()) =>
            {
                Err(SecretsError::AlreadyExists {
                    name: name.to_owned(),
                })
            }
            Err(e) => Err(SecretsError::Create {
                name: name.to_owned(),
                source: e.into(),
            }),
        }
    }
}
