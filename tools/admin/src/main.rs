//! `tollgate-admin`: the operator's CLI. Creates the tables, creates clients (printing the
//! secret once) and generates signing keys. It talks to whatever DynamoDB the AWS SDK is pointed
//! at: AWS by default, DynamoDB Local when `AWS_ENDPOINT_URL_DYNAMODB` is set.

use std::io::Read;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use tollgate_common::client::{Client, ClientStore, ClientStoreError, GrantType};
use tollgate_common::clock::{Clock, SystemClock};
use tollgate_common::dynamo::{DynamoClientStore, sdk_client};
use tollgate_common::keys::{SigningAlg, SigningKey, generate_pem};
use tollgate_common::scope::Scopes;
use tollgate_common::secret::Secret;
use tollgate_common::tables;

/// Secrets supplied by hand must be at least this long: they are stored with a fast hash,
/// which is only safe for high-entropy values.
const MIN_SUPPLIED_SECRET: usize = 32;

#[derive(Parser)]
#[command(
    name = "tollgate-admin",
    version,
    about = "Administer Tollgate: tables, clients, signing keys."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct TableNames {
    /// Name of the clients table.
    #[arg(long, env = "CLIENTS_TABLE")]
    clients_table: String,
    /// Name of the refresh-token table.
    #[arg(long, env = "TOKENS_TABLE")]
    tokens_table: String,
    /// Name of the login-failure table.
    #[arg(long, env = "LOCKOUTS_TABLE")]
    lockouts_table: String,
}

#[derive(Subcommand)]
enum Command {
    /// Create the three tables (on-demand, TTL on). Existing tables are left alone. For local
    /// use: in AWS the SAM template creates them.
    CreateTables(TableNames),
    /// Create a confidential client and print its secret once.
    CreateClient {
        /// The client_id (letters, digits, '-', '_', '.').
        #[arg(long)]
        id: String,
        /// A human-readable name.
        #[arg(long, default_value = "")]
        name: String,
        /// Space-separated scopes the client may request.
        #[arg(long, default_value = "")]
        scopes: String,
        /// Space-separated scopes granted when a request names none (must be within --scopes).
        #[arg(long, default_value = "")]
        default_scopes: String,
        /// Comma-separated grant types: password, refresh_token.
        #[arg(long, default_value = "password,refresh_token", value_delimiter = ',')]
        grant_types: Vec<String>,
        /// Access-token lifetime for this client, in seconds (default: the deployment's).
        #[arg(long)]
        access_token_ttl: Option<u64>,
        /// Read the secret from standard input instead of generating one (at least 32 characters).
        #[arg(long)]
        secret_stdin: bool,
        /// Succeed without changes if the client already exists.
        #[arg(long)]
        if_not_exists: bool,
        /// Name of the clients table.
        #[arg(long, env = "CLIENTS_TABLE")]
        clients_table: String,
    },
    /// Generate a signing key (PKCS#8 PEM) and print its kid and public JWK.
    GenerateKey {
        /// ES256 (default), RS256 or EdDSA.
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// Where to write the private key; created with mode 0600 and never overwritten.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Print the public JWKS of a private key file: what the authorizer is configured with.
    PublicJwks {
        /// The PKCS#8 PEM private key (from generate-key).
        #[arg(long)]
        key: std::path::PathBuf,
        /// ES256 (default), RS256 or EdDSA: the key's algorithm.
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// The kid, if the token function is configured with SIGNING_KEY_ID.
        #[arg(long)]
        kid: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::CreateTables(names) => {
            let db = sdk_client(Duration::from_secs(10)).await;
            for (spec, name) in [
                (tables::CLIENTS, &names.clients_table),
                (tables::TOKENS, &names.tokens_table),
                (tables::LOCKOUTS, &names.lockouts_table),
            ] {
                let created = tables::create_table(&db, &spec, name)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))?;
                println!(
                    "{name}: {}",
                    if created { "created" } else { "already exists" }
                );
            }
        }
        Command::CreateClient {
            id,
            name,
            scopes,
            default_scopes,
            grant_types,
            access_token_ttl,
            secret_stdin,
            if_not_exists,
            clients_table,
        } => {
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                bail!("--id must be letters, digits, '-', '_' or '.'");
            }
            let grant_types = grant_types
                .iter()
                .map(|g| {
                    GrantType::parse(g.trim()).with_context(|| format!("unknown grant type {g:?}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let allowed = Scopes::parse(&scopes)
                .map_err(|e| anyhow::anyhow!("--scopes: {}", e.description))?;
            let default = Scopes::parse(&default_scopes)
                .map_err(|e| anyhow::anyhow!("--default-scopes: {}", e.description))?;
            if !default.is_subset_of(&allowed) {
                bail!("--default-scopes must be within --scopes");
            }
            let (secret, generated) = if secret_stdin {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("failed to read the secret from stdin")?;
                let s = s.trim_end_matches(['\r', '\n']).to_owned();
                if s.len() < MIN_SUPPLIED_SECRET {
                    bail!("a supplied secret must be at least {MIN_SUPPLIED_SECRET} characters");
                }
                (Secret::new(s), false)
            } else {
                (Secret::generate(), true)
            };
            let client = Client {
                client_id: id.clone(),
                name,
                secret_hash: secret.hash(),
                enabled: true,
                grant_types,
                allowed_scopes: allowed,
                default_scopes: default,
                access_token_ttl,
                refresh_token_ttl: None,
                refresh_family_ttl: None,
                created_at: SystemClock.now(),
            };
            let store =
                DynamoClientStore::new(sdk_client(Duration::from_secs(10)).await, clients_table);
            match store.create(&client).await {
                Ok(()) => {
                    println!("client_id:     {id}");
                    if generated {
                        println!("client_secret: {}", secret.expose());
                        println!(
                            "The secret is shown once and stored only as a hash: keep it now."
                        );
                    } else {
                        println!("client_secret: (as supplied)");
                    }
                }
                Err(ClientStoreError::AlreadyExists) if if_not_exists => {
                    println!("client {id} already exists")
                }
                Err(ClientStoreError::AlreadyExists) => bail!("client {id} already exists"),
                Err(e) => bail!("{}", error_chain(&e)),
            }
        }
        Command::GenerateKey { alg, out } => {
            let alg: SigningAlg = alg.parse()?;
            let pem = generate_pem(alg)?;
            let key = SigningKey::from_pem(&pem, alg, None)?;
            write_private(&out, &pem)?;
            println!("kid: {}", key.kid);
            println!("jwk: {}", serde_json::to_string(key.public_jwk())?);
            println!("private key written to {}", out.display());
        }
        Command::PublicJwks { key, alg, kid } => {
            let alg: SigningAlg = alg.parse()?;
            let pem = std::fs::read_to_string(&key)
                .with_context(|| format!("failed to read {}", key.display()))?;
            let key = SigningKey::from_pem(&pem, alg, kid)?;
            let set = jsonwebtoken::jwk::JwkSet {
                keys: vec![key.public_jwk().clone()],
            };
            println!("{}", serde_json::to_string(&set)?);
        }
    }
    Ok(())
}

fn write_private(path: &std::path::Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "failed to create {} (it must not exist yet)",
                path.display()
            )
        })?;
    f.write_all(pem.as_bytes())?;
    Ok(())
}

/// "failed to create table x: service error: ..." — the whole chain, since the CLI's user is
/// the operator who needs the cause.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
