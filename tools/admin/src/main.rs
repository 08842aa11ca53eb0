//! `tollgate-admin`: the operator's CLI. Manages clients (printing secrets once), generates and
//! rotates signing keys, and creates tables locally. It talks to whatever AWS the SDK is pointed
//! at: AWS by default, DynamoDB Local when `AWS_ENDPOINT_URL_DYNAMODB` is set.

use std::time::Duration;

use clap::Parser;
use tollgate_service::adapters::aws::sdk::sdk_config;
use tollgate_service::adapters::aws::secrets_manager::SecretsManager;
// "failed to create table x: service error: ..." — the whole chain, since the CLI's user is
// the operator who needs the cause.
use tollgate_service::store::dynamo::create_table;
use tollgate_service::store::dynamo::sdk_client;
use tollgate_service::store::tables;
use tollgate_telemetry::logging::chain as error_chain;

mod audit;
mod cli;
mod clients;
mod import;
mod keys;
mod lockout;
mod rotation;
mod sessions;

use cli::{Cli, Command, TableNames};
pub(crate) use cli::{ClientEnd, ClientId, ClientsTable, KeyDestination, RevocationsTable};

/// Every AWS call the CLI makes may take this long.
pub(crate) const AWS_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() {
    stop_quietly_on_a_closed_pipe();
    if let Err(e) = run(Cli::parse().command).await {
        eprintln!("error: {}", anyhow_chain(&e));
        std::process::exit(1);
    }
}

/// Rust ignores SIGPIPE, so printing to a pipe whose reader has gone (`tollgate-admin
/// list-clients | head -1`) panics in `println!`. The CLI does what Unix tools do instead: it
/// stops at once, silently, with the status a death by SIGPIPE gives (128 + 13). Any other panic
/// is reported as before.
fn stop_quietly_on_a_closed_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = (payload.downcast_ref::<String>().map(String::as_str))
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info)
    }));
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::CreateTables(names) => create_tables(names).await,
        Command::CreateClient {
            id,
            settings,
            public,
            secret_stdin,
            if_not_exists,
            table,
        } => {
            let kind = if public {
                clients::Kind::Public
            } else {
                clients::Kind::Confidential { secret_stdin }
            };
            clients::create_client(id, settings, kind, if_not_exists, table).await
        }
        Command::ListClients { json, table } => clients::list_clients(json, table).await,
        Command::ShowClient { client, json } => clients::show_client(client, json).await,
        Command::UpdateClient { client, settings } => {
            clients::update_client(client, settings).await
        }
        Command::DisableClient(end) => clients::disable_client(end).await,
        Command::EnableClient(client) => clients::enable_client(client).await,
        Command::RotateClientSecret {
            client,
            secret_stdin,
            keep_old,
            retire_after,
        } => {
            let keep = keep_old.then_some(clients::KeepOld { retire_after });
            clients::rotate_client_secret(client, secret_stdin, keep).await
        }
        Command::RetireClientSecret(client) => clients::retire_client_secret(client).await,
        Command::DeleteClient(end) => clients::delete_client(end).await,
        Command::ImportClients(args) => import::import_clients(args).await,
        Command::ListSessions { which, json } => sessions::list_sessions(which, json).await,
        Command::RevokeSessions { which, revocations } => {
            sessions::revoke_sessions(which, revocations).await
        }
        Command::IndexSessions(table) => sessions::index_sessions(table).await,
        Command::Lockout(command) => lockout::run(command).await,
        Command::GenerateKey { alg, to } => keys::generate_key(alg, to).await,
        Command::PublicJwks {
            key,
            secret_id,
            alg,
            kid,
        } => keys::public_jwks(key, secret_id, alg, kid).await,
        Command::RotateKey {
            current_key,
            current_secret,
            alg,
            to,
            params_dir,
        } => keys::rotate_key(current_key, current_secret, alg, to, params_dir).await,
    }
}

/// `create-tables`: the four tables, for DynamoDB Local.
async fn create_tables(names: TableNames) -> anyhow::Result<()> {
    let db = sdk_client(AWS_TIMEOUT).await;
    for (spec, name) in [
        (tables::CLIENTS, &names.clients_table),
        (tables::TOKENS, &names.tokens_table),
        (tables::LOCKOUTS, &names.lockouts_table),
        (tables::REVOCATIONS, &names.revocations_table),
    ] {
        let created = create_table(&db, &spec, name)
            .await
            .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))?;
        println!(
            "{name}: {}",
            if created { "created" } else { "already exists" }
        );
    }
    Ok(())
}

async fn secrets_manager() -> SecretsManager {
    SecretsManager::new(&sdk_config(AWS_TIMEOUT).await)
}

fn anyhow_chain(e: &anyhow::Error) -> String {
    error_chain(e.as_ref())
}
