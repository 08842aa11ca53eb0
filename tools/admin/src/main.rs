//! `tollgate-admin`: the operator's CLI. Manages clients (printing secrets once), generates and
//! rotates signing keys, and creates tables locally. It talks to whatever AWS the SDK is pointed
//! at: AWS by default, DynamoDB Local when `AWS_ENDPOINT_URL_DYNAMODB` is set.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use jsonwebtoken::jwk::JwkSet;
use tollgate_common::adapters::sdk::sdk_config;
use tollgate_common::adapters::secrets_manager::SecretsManager;
use tollgate_common::client::{Client, ClientStore, ClientStoreError, ClientUpdate, GrantType};
use tollgate_common::clock::{Clock, SystemClock};
use tollgate_common::keys::{SigningAlg, SigningKey, generate_pem};
use tollgate_common::scope::Scopes;
use tollgate_common::secret::{
    MIN_SECRET_BITS_WITH_PEPPER, MIN_SECRET_BITS_WITHOUT_PEPPER, Secret, SecretHasher,
    estimated_entropy_bits,
};
use tollgate_common::store::dynamo::{DynamoClientStore, sdk_client};
use tollgate_common::store::tables;

mod rotation;

/// Every AWS call the CLI makes may take this long.
const AWS_TIMEOUT: Duration = Duration::from_secs(10);

const ABOUT: &str = "Administer Tollgate: clients, signing keys, local tables.";

const LONG_ABOUT: &str = "\
Administer Tollgate: clients, signing keys, local tables.

It uses the same AWS configuration as any AWS tool (AWS_PROFILE, AWS_REGION, ...). With
AWS_ENDPOINT_URL_DYNAMODB set it talks to that DynamoDB instead (DynamoDB Local). Client
commands need the clients table's name: CLIENTS_TABLE or --clients-table (in AWS, the stack
output ClientsTableName).";

const AFTER_HELP: &str = "\
Clients:   create-client, list-clients, show-client, update-client, enable-client,
           disable-client, rotate-client-secret, delete-client
Keys:      generate-key, public-jwks, rotate-key
Local:     create-tables

Examples:
  tollgate-admin create-client --id my-app --name \"My app\" --scopes \"profile orders:read\" --default-scopes profile
  tollgate-admin update-client --id my-app --scopes \"profile orders:read orders:write\" --access-token-ttl 300
  tollgate-admin rotate-client-secret --id my-app
  tollgate-admin generate-key --secret-name tollgate/signing-key-1
  tollgate-admin public-jwks --secret-id <arn printed by generate-key>

Run `tollgate-admin help <command>` for each command's options.";

#[derive(Parser)]
#[command(name = "tollgate-admin", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
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

#[derive(Args)]
struct ClientsTable {
    /// Name of the clients table (in AWS: the stack output ClientsTableName).
    #[arg(long, env = "CLIENTS_TABLE")]
    clients_table: String,
}

#[derive(Args)]
struct ClientId {
    /// The client's client_id.
    #[arg(long)]
    id: String,
    #[command(flatten)]
    table: ClientsTable,
}

/// A lifetime in seconds, or `default` for the deployment's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lifetime(Option<u64>);

fn parse_lifetime(s: &str) -> Result<Lifetime, String> {
    match s {
        "default" => Ok(Lifetime(None)),
        _ => match s.parse::<u64>() {
            Ok(0) | Err(_) => Err("a number of seconds greater than 0, or `default`".into()),
            Ok(n) => Ok(Lifetime(Some(n))),
        },
    }
}

/// The per-client settings `create-client` and `update-client` share.
#[derive(Args)]
struct ClientSettings {
    /// A human-readable name.
    #[arg(long)]
    name: Option<String>,
    /// Space-separated scopes the client may request, e.g. "profile orders:read".
    #[arg(long)]
    scopes: Option<String>,
    /// Space-separated scopes granted when a request names none (must be within --scopes).
    #[arg(long)]
    default_scopes: Option<String>,
    /// Comma-separated grant types the client may use: password, refresh_token.
    #[arg(long, value_delimiter = ',')]
    grant_types: Option<Vec<String>>,
    /// Access-token lifetime in seconds for this client, or `default` for the deployment's.
    #[arg(long, value_parser = parse_lifetime)]
    access_token_ttl: Option<Lifetime>,
    /// Lifetime of one refresh token in seconds, or `default`.
    #[arg(long, value_parser = parse_lifetime)]
    refresh_token_ttl: Option<Lifetime>,
    /// Absolute lifetime of a refresh-token family (one login) in seconds, or `default`.
    #[arg(long, value_parser = parse_lifetime)]
    refresh_family_ttl: Option<Lifetime>,
}

impl ClientSettings {
    fn to_update(&self) -> anyhow::Result<ClientUpdate> {
        let scopes = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<Scopes>> {
            v.as_deref()
                .map(|s| Scopes::parse(s).map_err(|e| anyhow::anyhow!("{flag}: {}", e.description)))
                .transpose()
        };
        let grant_types = self
            .grant_types
            .as_ref()
            .map(|gs| {
                gs.iter()
                    .map(|g| {
                        GrantType::parse(g.trim()).with_context(|| {
                            format!("unknown grant type {g:?} (use password, refresh_token)")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?;
        Ok(ClientUpdate {
            name: self.name.clone(),
            secret_hash: None,
            enabled: None,
            grant_types,
            allowed_scopes: scopes("--scopes", &self.scopes)?,
            default_scopes: scopes("--default-scopes", &self.default_scopes)?,
            access_token_ttl: self.access_token_ttl.map(|l| l.0),
            refresh_token_ttl: self.refresh_token_ttl.map(|l| l.0),
            refresh_family_ttl: self.refresh_family_ttl.map(|l| l.0),
        })
    }
}

/// Where a private key is read from or written to: a file (local) or Secrets Manager (AWS).
#[derive(Args)]
#[group(required = true, multiple = false)]
struct KeyDestination {
    /// Write the private key to this file (mode 0600, never overwritten). For local use.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Store the private key as a new Secrets Manager secret with this name (never
    /// overwritten); prints its ARN, the token function's SigningKeySecretArn.
    #[arg(long)]
    secret_name: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Create the three tables locally (in AWS, the SAM template does).
    ///
    /// On-demand, TTL on; existing tables are left alone.
    CreateTables(TableNames),

    /// Create a confidential client and print its secret once.
    ///
    /// Only the secret's hash is stored.
    #[command(
        after_help = "Defaults: grant types password,refresh_token; no scopes; the deployment's lifetimes."
    )]
    CreateClient {
        /// The client_id: 1 to 128 letters, digits, '-', '_' or '.'.
        #[arg(long)]
        id: String,
        #[command(flatten)]
        settings: ClientSettings,
        /// Read the secret from standard input instead of generating one, e.g. when moving a
        /// client over from another server. It must be hard to guess: about 64 bits with a
        /// pepper (CLIENT_SECRET_PEPPER[_SECRET_ARN]), 128 without.
        #[arg(long)]
        secret_stdin: bool,
        /// Succeed without changes if the client already exists.
        #[arg(long)]
        if_not_exists: bool,
        #[command(flatten)]
        table: ClientsTable,
    },

    /// List every client: id, state, grant types and scopes.
    ListClients {
        /// Print JSON (one array) instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        table: ClientsTable,
    },

    /// Show one client's settings (its secret is not stored).
    ShowClient {
        #[command(flatten)]
        client: ClientId,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },

    /// Change a client's name, scopes, grant types or lifetimes.
    ///
    /// Options not given stay as they are. Takes effect on the client's next token request;
    /// access tokens already issued keep their scopes until they expire.
    UpdateClient {
        #[command(flatten)]
        client: ClientId,
        #[command(flatten)]
        settings: ClientSettings,
    },

    /// Refuse the client's token requests from now on.
    ///
    /// Its secret and settings are kept. Access tokens already issued stay valid until they
    /// expire.
    DisableClient(ClientId),

    /// Accept the client's token requests again.
    EnableClient(ClientId),

    /// Give the client a new secret and print it once.
    ///
    /// The old secret stops working at once: deploy the new one to the client right away.
    RotateClientSecret {
        #[command(flatten)]
        client: ClientId,
        /// Read the new secret from standard input instead of generating one (as for create-client).
        #[arg(long)]
        secret_stdin: bool,
    },

    /// Delete a disabled client for good.
    ///
    /// It must be disabled first (disable-client), so a live client is never deleted by
    /// mistake.
    DeleteClient(ClientId),

    /// Generate a signing key into a file or a new Secrets Manager secret.
    ///
    /// The key is PKCS#8 PEM; its kid and public JWK are printed.
    #[command(after_help = "\
In AWS:  tollgate-admin generate-key --secret-name tollgate/signing-key-1
         then `sam build && sam deploy --guided`, giving SigningKeySecretArn = the printed ARN
         and PublicJwks = the output of `tollgate-admin public-jwks --secret-id <that ARN>`.
Locally: tollgate-admin generate-key --out signing-key.pem  (SIGNING_KEY_FILE)")]
    GenerateKey {
        /// ES256 (default), RS256 or EdDSA.
        #[arg(long, default_value = "ES256")]
        alg: String,
        #[command(flatten)]
        to: KeyDestination,
    },

    /// Print the public JWKS of one or more private keys.
    ///
    /// The output is the PublicJwks parameter (AWS), or the authorizer's JWKS_FILE (locally).
    /// Keys are read from files or Secrets Manager.
    PublicJwks {
        /// A PKCS#8 PEM private key file (repeatable).
        #[arg(long)]
        key: Vec<PathBuf>,
        /// A Secrets Manager secret (ARN or name) holding a private key (repeatable).
        #[arg(long)]
        secret_id: Vec<String>,
        /// The keys' algorithm; by default each key's own is detected.
        #[arg(long)]
        alg: Option<String>,
        /// The kid, if the token function is configured with SIGNING_KEY_ID (one key only).
        #[arg(long)]
        kid: Option<String>,
    },

    /// Generate the next signing key and print the steps that switch to it.
    ///
    /// Three deploys with no downtime: publish both public keys, sign with the new key, drop
    /// the old one once no token it signed is still valid. In AWS each step is one line to
    /// paste, `sam build && sam deploy --parameter-overrides file://...`, whose parameter file
    /// this command writes (into --params-dir); nothing is pasted through shell quotes.
    RotateKey {
        /// The current private key file (local use).
        #[arg(
            long,
            conflicts_with = "current_secret",
            required_unless_present = "current_secret"
        )]
        current_key: Option<PathBuf>,
        /// The current key's Secrets Manager secret (ARN or name).
        #[arg(long)]
        current_secret: Option<String>,
        /// The new key's algorithm: ES256 (default), RS256 or EdDSA.
        #[arg(long, default_value = "ES256")]
        alg: String,
        #[command(flatten)]
        to: KeyDestination,
        /// Where the AWS steps' parameter files go (`sam deploy --parameter-overrides
        /// file://...` reads them); by default the current directory.
        #[arg(long, default_value = ".")]
        params_dir: PathBuf,
    },
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Cli::parse().command).await {
        eprintln!("error: {}", anyhow_chain(&e));
        std::process::exit(1);
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::CreateTables(names) => {
            let db = sdk_client(AWS_TIMEOUT).await;
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
            settings,
            secret_stdin,
            if_not_exists,
            table,
        } => {
            let mut update = settings.to_update()?;
            update.grant_types = update
                .grant_types
                .or(Some(vec![GrantType::Password, GrantType::RefreshToken]));
            let hasher = client_secret_hasher().await?;
            let (secret, generated) = new_secret(secret_stdin, &hasher)?;
            let blank = Client {
                client_id: id.clone(),
                name: String::new(),
                secret_hash: hasher.hash(&secret),
                enabled: true,
                grant_types: Vec::new(),
                allowed_scopes: Scopes::default(),
                default_scopes: Scopes::default(),
                access_token_ttl: None,
                refresh_token_ttl: None,
                refresh_family_ttl: None,
                created_at: SystemClock.now(),
            };
            let client = update.apply_to(&blank);
            client.check()?;
            match store(&table).await.create(&client).await {
                Ok(()) => {
                    println!("client_id:     {id}");
                    print_secret(&secret, generated);
                }
                Err(ClientStoreError::AlreadyExists) if if_not_exists => {
                    println!("client {id} already exists")
                }
                Err(ClientStoreError::AlreadyExists) => bail!("client {id} already exists"),
                Err(e) => return Err(store_error(e)),
            }
        }
        Command::ListClients { json, table } => {
            let clients = store(&table).await.list().await.map_err(store_error)?;
            if json {
                let all: Vec<_> = clients.iter().map(client_json).collect();
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if clients.is_empty() {
                println!("no clients in {}", table.clients_table);
            } else {
                println!(
                    "{:<32} {:<8} {:<24} SCOPES",
                    "CLIENT_ID", "STATE", "GRANT_TYPES"
                );
                for c in &clients {
                    println!(
                        "{:<32} {:<8} {:<24} {}",
                        c.client_id,
                        if c.enabled { "enabled" } else { "disabled" },
                        grant_list(c),
                        c.allowed_scopes
                    );
                }
            }
        }
        Command::ShowClient { client, json } => {
            let c = get(&client).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&client_json(&c))?);
            } else {
                print_client(&c);
            }
        }
        Command::UpdateClient { client, settings } => {
            let update = settings.to_update()?;
            if update.is_empty() {
                bail!(
                    "nothing to change: give --name, --scopes, --default-scopes, --grant-types or a --*-ttl"
                );
            }
            let current = get(&client).await?;
            update.apply_to(&current).check()?;
            let updated = change(&client, &update).await?;
            print_client(&updated);
        }
        Command::DisableClient(client) => {
            set_enabled(&client, false).await?;
            println!(
                "client {} disabled: its token requests are refused from now on",
                client.id
            );
        }
        Command::EnableClient(client) => {
            set_enabled(&client, true).await?;
            println!("client {} enabled", client.id);
        }
        Command::RotateClientSecret {
            client,
            secret_stdin,
        } => {
            let hasher = client_secret_hasher().await?;
            let (secret, generated) = new_secret(secret_stdin, &hasher)?;
            let update = ClientUpdate {
                secret_hash: Some(hasher.hash(&secret)),
                ..ClientUpdate::default()
            };
            change(&client, &update).await?;
            println!("client_id:     {}", client.id);
            print_secret(&secret, generated);
            println!("The old secret no longer works.");
        }
        Command::DeleteClient(client) => {
            let c = get(&client).await?;
            if c.enabled {
                bail!(
                    "client {} is enabled; disable it first (tollgate-admin disable-client --id {}), then delete it",
                    client.id,
                    client.id
                );
            }
            match store(&client.table).await.delete(&client.id).await {
                Ok(()) => println!("client {} deleted", client.id),
                Err(ClientStoreError::NotFound) => bail!("no client {}", client.id),
                Err(e) => return Err(store_error(e)),
            }
        }
        Command::GenerateKey { alg, to } => {
            let alg: SigningAlg = alg.parse()?;
            let (key, stored) = new_key(alg, &to).await?;
            println!("kid: {}", key.kid);
            println!("jwk: {}", serde_json::to_string(key.public_jwk())?);
            println!("{stored}");
        }
        Command::PublicJwks {
            key,
            secret_id,
            alg,
            kid,
        } => {
            if key.len() + secret_id.len() == 0 {
                bail!("name at least one key: --key FILE or --secret-id ARN");
            }
            if kid.is_some() && key.len() + secret_id.len() > 1 {
                bail!("--kid names one key; give one --key or --secret-id with it");
            }
            let alg = alg.map(|a| a.parse::<SigningAlg>()).transpose()?;
            let mut keys = Vec::new();
            for path in &key {
                keys.push(load_key(&read_file(path)?, alg, kid.clone())?);
            }
            if !secret_id.is_empty() {
                let sm = secrets_manager().await;
                for id in &secret_id {
                    let pem = sm
                        .read(id)
                        .await
                        .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))?;
                    keys.push(load_key(pem.expose(), alg, kid.clone())?);
                }
            }
            println!("{}", jwks(&keys.iter().collect::<Vec<_>>())?);
        }
        Command::RotateKey {
            current_key,
            current_secret,
            alg,
            to,
            params_dir,
        } => {
            // Checked before the new key exists, so a bad directory cannot strand a new secret.
            let params_dir = std::fs::canonicalize(&params_dir)
                .ok()
                .filter(|d| d.is_dir())
                .with_context(|| {
                    format!("--params-dir {} is not a directory", params_dir.display())
                })?;
            let current_pem = match (&current_key, &current_secret) {
                (Some(path), _) => Secret::new(read_file(path)?),
                (None, Some(id)) => secrets_manager()
                    .await
                    .read(id)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))?,
                (None, None) => bail!("name the current key: --current-key or --current-secret"),
            };
            let current = load_key(current_pem.expose(), None, None)?;
            let (next, stored) = new_key(alg.parse()?, &to).await?;
            println!("{stored}");
            println!("new kid: {} (current kid: {})\n", next.kid, current.kid);
            let both = jwks(&[&current, &next])?;
            let only_next = jwks(&[&next])?;
            let alg = next.alg.as_str();
            match &stored {
                Stored::Secret(arn) => {
                    let steps = rotation::aws_steps(
                        &rotation::AwsRotation {
                            both_jwks: &both,
                            next_jwks: &only_next,
                            next_kid: &next.kid,
                            next_arn: arn,
                            alg,
                            old_secret: current_secret.as_deref(),
                        },
                        &params_dir,
                    );
                    rotation::write_params(&steps)?;
                    print!("{}", rotation::render(&steps));
                }
                Stored::File(path) => {
                    print!("{}", rotation::local_steps(&both, &only_next, path, alg));
                }
            }
        }
    }
    Ok(())
}

async fn store(table: &ClientsTable) -> DynamoClientStore {
    DynamoClientStore::new(sdk_client(AWS_TIMEOUT).await, &table.clients_table)
}

async fn secrets_manager() -> SecretsManager {
    SecretsManager::new(&sdk_config(AWS_TIMEOUT).await)
}

fn store_error(e: ClientStoreError) -> anyhow::Error {
    let chain = error_chain(&e);
    if chain.contains("ResourceNotFoundException") {
        return anyhow::anyhow!(
            "{chain}\nhint: is the table name right? In AWS it is the stack output ClientsTableName."
        );
    }
    anyhow::anyhow!("{chain}")
}

async fn get(client: &ClientId) -> anyhow::Result<Client> {
    store(&client.table)
        .await
        .get(&client.id)
        .await
        .map_err(store_error)?
        .with_context(|| format!("no client {} in {}", client.id, client.table.clients_table))
}

async fn change(client: &ClientId, update: &ClientUpdate) -> anyhow::Result<Client> {
    match store(&client.table).await.update(&client.id, update).await {
        Ok(c) => Ok(c),
        Err(ClientStoreError::NotFound) => {
            bail!("no client {} in {}", client.id, client.table.clients_table)
        }
        Err(e) => Err(store_error(e)),
    }
}

async fn set_enabled(client: &ClientId, enabled: bool) -> anyhow::Result<()> {
    let update = ClientUpdate {
        enabled: Some(enabled),
        ..ClientUpdate::default()
    };
    change(client, &update).await.map(|_| ())
}

/// Hashes client secrets the way the token function checks them: HMAC-SHA256 with the pepper
/// in CLIENT_SECRET_PEPPER (or the Secrets Manager secret CLIENT_SECRET_PEPPER_SECRET_ARN),
/// plain SHA-256 when neither is set.
async fn client_secret_hasher() -> anyhow::Result<SecretHasher> {
    let value = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let pepper = match (
        value("CLIENT_SECRET_PEPPER"),
        value("CLIENT_SECRET_PEPPER_SECRET_ARN"),
    ) {
        (None, None) => None,
        (Some(v), None) => Some(Secret::new(v.trim())),
        (None, Some(arn)) => Some(
            secrets_manager()
                .await
                .read(arn.trim())
                .await
                .context("failed to read the pepper (CLIENT_SECRET_PEPPER_SECRET_ARN)")?,
        ),
        (Some(_), Some(_)) => {
            bail!("set CLIENT_SECRET_PEPPER or CLIENT_SECRET_PEPPER_SECRET_ARN, not both")
        }
    };
    SecretHasher::new(pepper.as_ref(), &[]).context("CLIENT_SECRET_PEPPER")
}

/// A generated secret, or one read from stdin; `true` when generated. A supplied secret must
/// have an estimated entropy of 64 bits when it is stored with a pepper (an Apigee-style key of
/// 16 letters and digits passes) and 128 bits when it is not.
fn new_secret(from_stdin: bool, hasher: &SecretHasher) -> anyhow::Result<(Secret, bool)> {
    if !from_stdin {
        return Ok((Secret::generate(), true));
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("failed to read the secret from stdin")?;
    let s = s.trim_end_matches(['\r', '\n']).to_owned();
    let (needed, how) = match hasher.current_pepper_id() {
        Some(_) => (MIN_SECRET_BITS_WITH_PEPPER, "with a pepper"),
        None => (MIN_SECRET_BITS_WITHOUT_PEPPER, "without a pepper"),
    };
    if estimated_entropy_bits(&s) < needed {
        bail!(
            "the supplied secret is too easy to guess: {how} it needs about {needed} bits \
             (e.g. 16 random letters and digits with a pepper, 32 without one; \
             omit --secret-stdin to have one generated)"
        );
    }
    Ok((Secret::new(s), false))
}

fn print_secret(secret: &Secret, generated: bool) {
    if generated {
        println!("client_secret: {}", secret.expose());
        println!("The secret is shown once and stored only as a hash: keep it now.");
    } else {
        println!("client_secret: (as supplied)");
    }
}

fn grant_list(c: &Client) -> String {
    c.grant_types
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn lifetime(v: Option<u64>) -> String {
    v.map_or_else(|| "deployment default".into(), |s| format!("{s} s"))
}

fn print_client(c: &Client) {
    println!("client_id:          {}", c.client_id);
    println!("name:               {}", c.name);
    println!(
        "state:              {}",
        if c.enabled { "enabled" } else { "disabled" }
    );
    println!("grant_types:        {}", grant_list(c));
    println!("scopes:             {}", c.allowed_scopes);
    println!("default_scopes:     {}", c.default_scopes);
    println!("access_token_ttl:   {}", lifetime(c.access_token_ttl));
    println!("refresh_token_ttl:  {}", lifetime(c.refresh_token_ttl));
    println!("refresh_family_ttl: {}", lifetime(c.refresh_family_ttl));
    println!("created_at:         {}", c.created_at);
}

fn client_json(c: &Client) -> serde_json::Value {
    serde_json::json!({
        "client_id": c.client_id,
        "name": c.name,
        "enabled": c.enabled,
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scopes": c.allowed_scopes.to_vec(),
        "default_scopes": c.default_scopes.to_vec(),
        "access_token_ttl": c.access_token_ttl,
        "refresh_token_ttl": c.refresh_token_ttl,
        "refresh_family_ttl": c.refresh_family_ttl,
        "created_at": c.created_at,
    })
}

/// Where a new private key went.
enum Stored {
    File(PathBuf),
    Secret(String),
}

impl std::fmt::Display for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "private key written to {}", path.display()),
            Self::Secret(arn) => write!(f, "private key stored in Secrets Manager: {arn}"),
        }
    }
}

/// Generates a key and stores it where `to` says.
async fn new_key(alg: SigningAlg, to: &KeyDestination) -> anyhow::Result<(SigningKey, Stored)> {
    let pem = Secret::new(generate_pem(alg)?);
    let key = SigningKey::from_pem(pem.expose(), alg, None)?;
    let stored = match (&to.out, &to.secret_name) {
        (Some(path), _) => {
            write_private(path, pem.expose())?;
            Stored::File(path.clone())
        }
        (None, Some(name)) => {
            let description = format!("Tollgate signing key {} ({})", key.kid, alg.as_str());
            let arn = secrets_manager()
                .await
                .create(name, &pem, &description)
                .await
                .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))?;
            Stored::Secret(arn)
        }
        (None, None) => bail!("say where the key goes: --out FILE or --secret-name NAME"),
    };
    Ok((key, stored))
}

/// Reads a private key, detecting its algorithm unless one is given.
fn load_key(pem: &str, alg: Option<SigningAlg>, kid: Option<String>) -> anyhow::Result<SigningKey> {
    let candidates = match alg {
        Some(a) => vec![a],
        None => vec![SigningAlg::Es256, SigningAlg::EdDsa, SigningAlg::Rs256],
    };
    for alg in candidates {
        if let Ok(key) = SigningKey::from_pem(pem, alg, kid.clone()) {
            return Ok(key);
        }
    }
    match alg {
        Some(a) => bail!("not a PKCS#8 PEM private key for {}", a.as_str()),
        None => bail!("not a PKCS#8 PEM private key for ES256, RS256 or EdDSA"),
    }
}

fn read_file(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))
}

fn jwks(keys: &[&SigningKey]) -> anyhow::Result<String> {
    let set = JwkSet {
        keys: keys.iter().map(|k| k.public_jwk().clone()).collect(),
    };
    Ok(serde_json::to_string(&set)?)
}

fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
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

fn anyhow_chain(e: &anyhow::Error) -> String {
    error_chain(e.as_ref())
}
