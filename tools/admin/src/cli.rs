//! The command line: every command and flag, with the help text an operator reads.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use tollgate_service::client::GrantType;

use crate::{clients, lockout, sessions};

fn parse_grant_type(s: &str) -> Result<GrantType, String> {
    GrantType::parse(s.trim())
        .ok_or_else(|| format!("unknown grant type (use {})", GrantType::names().join(", ")))
}

const ABOUT: &str = "Administer Tollgate: clients, signing keys, local tables.";

const LONG_ABOUT: &str = "\
Administer Tollgate: clients, signing keys, local tables.

It uses the same AWS configuration as any AWS tool (AWS_PROFILE, AWS_REGION, ...). With
AWS_ENDPOINT_URL_DYNAMODB set it talks to that DynamoDB instead (DynamoDB Local). Client
commands need the clients table's name: CLIENTS_TABLE or --clients-table (in AWS, the stack
output ClientsTableName).";

const AFTER_HELP: &str = "\
Clients:   create-client, list-clients, show-client, update-client, enable-client,
           disable-client, rotate-client-secret, retire-client-secret, delete-client,
           import-clients
Sessions:  list-sessions, revoke-sessions, index-sessions
Users:     lockout show, lockout clear
Keys:      generate-key, public-jwks, rotate-key
Local:     create-tables
Audited:   create-client, update-client, enable-client, disable-client, rotate-client-secret,
           retire-client-secret, delete-client, import-clients, index-sessions, lockout clear,
           revoke-sessions, generate-key, rotate-key  (one JSON line each on standard error)

Examples:
  tollgate-admin create-client --id my-app --name \"My app\" --scopes \"profile orders:read\" --default-scopes profile
  tollgate-admin update-client --id my-app --scopes \"profile orders:read orders:write\" --access-token-ttl 300
  tollgate-admin rotate-client-secret --id my-app --keep-old --retire-after 7d
  tollgate-admin revoke-sessions --sub u-1842        (after a password reset: every session of that user)
  tollgate-admin lockout show --username alice        (why can't alice sign in?)
  tollgate-admin generate-key --secret-name tollgate/signing-key-1
  tollgate-admin public-jwks --secret-id <arn printed by generate-key>

Run `tollgate-admin help <command>` for each command's options.";

#[derive(Parser)]
#[command(name = "tollgate-admin", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args)]
pub(crate) struct TableNames {
    /// Name of the clients table.
    #[arg(long, env = "CLIENTS_TABLE")]
    pub(crate) clients_table: String,
    /// Name of the refresh-token table.
    #[arg(long, env = "TOKENS_TABLE")]
    pub(crate) tokens_table: String,
    /// Name of the login-failure table.
    #[arg(long, env = "LOCKOUTS_TABLE")]
    pub(crate) lockouts_table: String,
    /// Name of the revocations table (what the authorizers refuse).
    #[arg(long, env = "REVOCATIONS_TABLE")]
    pub(crate) revocations_table: String,
}

/// Where the authorizers learn what was revoked.
#[derive(Args)]
pub(crate) struct RevocationsTable {
    /// Name of the revocations table (in AWS: the stack output RevocationsTableName).
    #[arg(long, env = "REVOCATIONS_TABLE")]
    pub(crate) revocations_table: String,
}

/// A client whose access tokens issued until now are to be refused.
#[derive(Args)]
pub(crate) struct ClientEnd {
    #[command(flatten)]
    pub(crate) client: ClientId,
    #[command(flatten)]
    pub(crate) revocations: RevocationsTable,
}

#[derive(Args)]
pub(crate) struct ClientsTable {
    /// Name of the clients table (in AWS: the stack output ClientsTableName).
    #[arg(long, env = "CLIENTS_TABLE")]
    pub(crate) clients_table: String,
}

#[derive(Args)]
pub(crate) struct ClientId {
    /// The client's client_id.
    #[arg(long)]
    pub(crate) id: String,
    #[command(flatten)]
    pub(crate) table: ClientsTable,
}

/// Where a private key is read from or written to: a file (local) or Secrets Manager (AWS).
#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct KeyDestination {
    /// Write the private key to this file (mode 0600, never overwritten). For local use.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Store the private key as a new Secrets Manager secret with this name (never
    /// overwritten); prints its ARN, the token function's SigningKeySecretArn.
    #[arg(long)]
    pub(crate) secret_name: Option<String>,
}

/// `import-clients`' file and options.
#[derive(Args)]
pub(crate) struct ImportArgs {
    /// The JSON file to read.
    pub(crate) file: PathBuf,
    /// Comma-separated grant types for every client the file gives none: password,
    /// refresh_token (the default both), or client_credentials alone (machine clients).
    #[arg(long, value_delimiter = ',', value_parser = parse_grant_type)]
    pub(crate) grant_types: Option<Vec<GrantType>>,
    /// Space-separated scopes granted when a request names none, for every client the
    /// file gives none (by default all of the client's scopes; "" for none).
    #[arg(long)]
    pub(crate) default_scopes: Option<String>,
    /// Print what would be created (reading the table to skip clients that exist) and
    /// write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) table: ClientsTable,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create the three tables locally (in AWS, the SAM template does).
    ///
    /// On-demand, TTL on; existing tables are left alone.
    CreateTables(TableNames),

    /// Create a confidential client and print its secret once, or a public one (--public).
    ///
    /// Only the secret's hash is stored.
    #[command(
        after_help = "Defaults: grant types password,refresh_token (authorization_code,refresh_token with --public); no scopes; the deployment's lifetimes."
    )]
    CreateClient {
        /// The client_id: 1 to 128 letters, digits, '-', '_' or '.'.
        #[arg(long)]
        id: String,
        #[command(flatten)]
        settings: clients::ClientSettings,
        /// A public client (token_endpoint_auth_method none): a browser or native app that
        /// cannot keep a secret. It gets no secret and may use only the code flow with PKCE and
        /// refresh; it needs --redirect-uris.
        #[arg(long, conflicts_with = "secret_stdin")]
        public: bool,
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
        settings: clients::ClientSettings,
    },

    /// Refuse the client's token requests from now on, and its access tokens issued until now.
    ///
    /// Its secret, settings and sessions are kept. Its access tokens issued until now are
    /// refused by every authorizer within RevocationMaxStaleness (and at /introspect at once),
    /// also after enable-client; its refresh tokens work again once it is enabled.
    DisableClient(ClientEnd),

    /// Accept the client's token requests again.
    EnableClient(ClientId),

    /// Give the client a new secret and print it once.
    ///
    /// Without --keep-old the old secret stops working at once. With --keep-old both work
    /// until retire-client-secret (or --retire-after), so the app can roll without downtime.
    RotateClientSecret {
        #[command(flatten)]
        client: ClientId,
        /// Read the new secret from standard input instead of generating one (as for create-client).
        #[arg(long)]
        secret_stdin: bool,
        /// Keep accepting the current secret beside the new one until it is retired. A
        /// secret kept by an earlier --keep-old is dropped: a client has at most two.
        #[arg(long)]
        keep_old: bool,
        /// Retire the kept secret by itself after this long: seconds, or a number with
        /// s, m, h or d (e.g. 7d). At most 90 days.
        #[arg(long, requires = "keep_old", value_parser = clients::parse_duration)]
        retire_after: Option<u64>,
    },

    /// Stop accepting a client's previous secret (kept by rotate-client-secret --keep-old).
    RetireClientSecret(ClientId),

    /// Create clients from an Apigee export of developer apps, or a simple list; keeps ids and secrets.
    ///
    /// Re-runnable: clients that exist are skipped and left unchanged. Prints one line per
    /// client (created, skipped or refused, with the reason, and what a created client may
    /// do) and fails if any was refused. Writes an admin_change audit line (action
    /// import_client) on standard error per client created.
    #[command(after_help = "\
Apigee:  {\"app\": [...]} as `GET .../developers/{email}/apps?expand=true` (or .../apps?expand=true)
         returns, or a bare array of apps. Each approved, unexpired credential becomes a client:
         consumerKey is the client_id, consumerSecret its secret, the credential's and app's
         scopes its allowed scopes and its default scopes (a request naming no scope gets
         them all, as in Apigee), the DisplayName attribute (or app name) its name; grant
         types password,refresh_token unless --grant-types says otherwise.
Simple:  {\"clients\": [{\"id\": \"my-app\", \"name\": \"My app\", \"secret\": \"...\",
         \"scopes\": \"profile\", \"default_scopes\": \"profile\", \"grant_types\": \"password refresh_token\"}]}
See docs/apigee-migration.md.")]
    ImportClients(ImportArgs),

    /// Delete a disabled client for good.
    ///
    /// It must be disabled first (disable-client), so a live client is never deleted by
    /// mistake. Its access tokens issued until now are refused, as by disable-client.
    DeleteClient(ClientEnd),

    /// List a user's sessions (--sub), optionally only with one client (--client), or a
    /// client's (--client alone): client, created, last refreshed, expires, state.
    ///
    /// A session is one sign-in: a refresh-token family, whose id access tokens carry as `sid`.
    ListSessions {
        #[command(flatten)]
        which: sessions::Sessions,
        /// Print JSON (one array) instead of a table.
        #[arg(long)]
        json: bool,
    },

    /// End sessions: a user's (--sub), only those with one client (--sub --client), or every
    /// session of a client (--client).
    ///
    /// Refresh stops at once, their access tokens are inactive at /introspect at once and
    /// refused by every authorizer within RevocationMaxStaleness. With --sub alone every access
    /// token of the user issued until now is refused (those without a session too); with
    /// --client alone every one of the client's. Writes a session_revoked audit line on
    /// standard error.
    RevokeSessions {
        #[command(flatten)]
        which: sessions::Sessions,
        #[command(flatten)]
        revocations: RevocationsTable,
    },

    /// Index the sessions written before the sessions index existed (a one-off after upgrading).
    ///
    /// Refresh-token families created by a Tollgate without the `sessions` index carry no index
    /// keys, so list-sessions and revoke-sessions do not find them. This scans the tokens table
    /// once, gives each such family its keys, and prints how many it indexed; running it again
    /// indexes nothing. Needs dynamodb:Scan, UpdateItem and PutItem on the table.
    ///
    /// With --before-rollback, run before rolling back to an earlier release (and once more
    /// when it serves): every session begun since the sessions' usersession# companions gets
    /// the index keys a release without them finds a user's sessions by, and every live
    /// refresh token of a family that holds its tokens gets the token# record a release
    /// before those families finds it by (UPGRADING.md).
    IndexSessions(sessions::TokensTable),

    /// A username's lockout: show it, or clear it (the helpdesk's "unlock this user").
    #[command(subcommand)]
    Lockout(lockout::Lockout),

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
