//! The client commands: each one reads or writes client records through the DynamoDB store;
//! the rules a record keeps are the domain's (`Client::create`, `Client::check`).

use std::io::Read;

use anyhow::{Context, bail};
use tollgate_oauth::clock::{Clock, SystemClock};
use tollgate_oauth::secret::{
    MIN_SECRET_BITS_WITH_PEPPER, MIN_SECRET_BITS_WITHOUT_PEPPER, Secret, SecretHasher,
    estimated_entropy_bits,
};
use tollgate_service::client::{
    Client, ClientStore, ClientStoreError, ClientUpdate, PreviousSecret,
};
use tollgate_service::store::dynamo::{DynamoClientStore, sdk_client};

use crate::audit;
use crate::{AWS_TIMEOUT, ClientId, ClientsTable, error_chain, secrets_manager};

mod create;
mod print;
mod settings;

pub(crate) use create::{Kind, create_client};
use print::{client_json, grant_list, print_client, print_secret};
pub(crate) use settings::ClientSettings;

/// `list-clients`: a table or JSON.
pub(crate) async fn list_clients(json: bool, table: ClientsTable) -> anyhow::Result<()> {
    let clients = store(&table).await.list().await.map_err(store_error)?;
    if json {
        let all = clients
            .iter()
            .map(client_json)
            .collect::<anyhow::Result<Vec<_>>>()?;
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
    Ok(())
}

/// `show-client`.
pub(crate) async fn show_client(client: ClientId, json: bool) -> anyhow::Result<()> {
    let c = get(&client).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&client_json(&c)?)?);
    } else {
        print_client(&c);
    }
    Ok(())
}

/// `update-client`: only what is named changes, and the result must keep the rules.
pub(crate) async fn update_client(
    client: ClientId,
    settings: ClientSettings,
) -> anyhow::Result<()> {
    let update = settings.to_update()?;
    if update.is_empty() {
        bail!(
            "nothing to change: give --name, --scopes, --default-scopes, --grant-types, --introspect-any or a --*-ttl"
        );
    }
    let current = get(&client).await?;
    update.apply_to(&current).check()?;
    let updated = change(&client, &update, "update_client").await?;
    print_client(&updated);
    Ok(())
}

/// `disable-client`.
pub(crate) async fn disable_client(client: ClientId) -> anyhow::Result<()> {
    set_enabled(&client, false).await?;
    println!(
        "client {} disabled: its token requests are refused from now on",
        client.id
    );
    Ok(())
}

/// `enable-client`.
pub(crate) async fn enable_client(client: ClientId) -> anyhow::Result<()> {
    set_enabled(&client, true).await?;
    println!("client {} enabled", client.id);
    Ok(())
}

/// `rotate-client-secret --keep-old [--retire-after]`: how long the replaced secret still works.
pub(crate) struct KeepOld {
    /// Seconds until it is retired by itself; `None` waits for `retire-client-secret`.
    pub(crate) retire_after: Option<u64>,
}

/// The longest grace period `--retire-after` takes: a forgotten second secret should not live on.
const MAX_RETIRE_AFTER: u64 = 90 * 24 * 3600;

/// `--retire-after`: seconds, or a number followed by s, m, h or d.
pub(crate) fn parse_duration(s: &str) -> Result<u64, String> {
    let err = || "a duration such as 3600, 30m, 24h or 7d (at most 90d)".to_owned();
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(err()),
    };
    let secs = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|&n| n > 0 && n <= MAX_RETIRE_AFTER)
        .ok_or_else(err)?;
    Ok(secs)
}

/// `rotate-client-secret`: without `keep` the old secret stops working at once; with it, the
/// old one is kept as the client's previous secret.
pub(crate) async fn rotate_client_secret(
    client: ClientId,
    secret_stdin: bool,
    keep: Option<KeepOld>,
) -> anyhow::Result<()> {
    let current = get(&client).await?;
    if current.public {
        bail!(
            "{} is a public client: it has no secret to rotate",
            client.id
        );
    }
    let hasher = client_secret_hasher().await?;
    let (secret, generated) = new_secret(secret_stdin, &hasher)?;
    let now = SystemClock.now();
    let previous = keep.as_ref().map(|k| PreviousSecret {
        hash: current.secret_hash.clone(),
        retire_at: k.retire_after.map(|d| now.saturating_add(d)),
    });
    let update = ClientUpdate {
        secret_hash: Some(hasher.hash(&secret)),
        previous_secret: Some(previous.clone()),
        ..ClientUpdate::default()
    };
    if let Err(e) = change(&client, &update, "rotate_client_secret").await {
        landed_anyway(&client, &update, &secret, generated)
            .await
            .map_err(|_| e)?;
    }
    println!("client_id:     {}", client.id);
    print_secret(&secret, generated);
    match previous.and_then(|p| p.retire_at) {
        _ if keep.is_none() => println!("The old secret no longer works."),
        Some(t) => println!(
            "The old secret keeps working until {t} (seconds since the epoch), then stops by itself."
        ),
        None => println!(
            "The old secret keeps working until `tollgate-admin retire-client-secret --id {}`.",
            client.id
        ),
    }
    Ok(())
}

/// After a rotation that reported an error: whether it landed all the same (DynamoDB applied it
/// but its answer was lost), read back before the operator is told to retry. Retrying a rotation
/// that landed would replace the secret the first one kept (`--keep-old`) with one nobody has;
/// so a rotation found in force is reported as done, and one whose state cannot be read shows
/// the new secret with what to check, before the error.
async fn landed_anyway(
    client: &ClientId,
    update: &ClientUpdate,
    secret: &Secret,
    generated: bool,
) -> anyhow::Result<()> {
    match get(client).await {
        Ok(now) if Some(&now.secret_hash) == update.secret_hash.as_ref() => {
            audit::record(
                "rotate_client_secret",
                &client.id,
                &audit::update_fields(update),
            )
            .await;
            Ok(())
        }
        Ok(_) => bail!("the rotation did not happen"),
        Err(_) => {
            eprintln!(
                "The rotation's outcome is unknown (no answer from DynamoDB). If `tollgate-admin \
                 show-client --id {}` shows a new secret_hash, it is in force with this secret; \
                 do not rotate again with --keep-old before checking, or the secret it kept \
                 is dropped.",
                client.id
            );
            print_secret(secret, generated);
            bail!("outcome unknown")
        }
    }
}

/// `retire-client-secret`: only the current secret works from now on.
pub(crate) async fn retire_client_secret(client: ClientId) -> anyhow::Result<()> {
    let current = get(&client).await?;
    let update = ClientUpdate {
        previous_secret: Some(None),
        ..ClientUpdate::default()
    };
    change(&client, &update, "retire_client_secret").await?;
    if current.previous_secret.is_some() {
        println!("client {}: the previous secret no longer works", client.id);
    } else {
        println!(
            "client {}: had no previous secret; nothing changed",
            client.id
        );
    }
    Ok(())
}

/// `delete-client`: only a disabled client.
pub(crate) async fn delete_client(client: ClientId) -> anyhow::Result<()> {
    let c = get(&client).await?;
    if !c.may_be_deleted() {
        bail!(
            "client {} is enabled; disable it first (tollgate-admin disable-client --id {}), then delete it",
            client.id,
            client.id
        );
    }
    match store(&client.table).await.delete(&client.id).await {
        Ok(()) => {
            println!("client {} deleted", client.id);
            audit::record("delete_client", &client.id, &[]).await;
        }
        Err(ClientStoreError::NotFound) => bail!("no client {}", client.id),
        Err(e) => return Err(store_error(e)),
    }
    Ok(())
}

pub(crate) async fn store(table: &ClientsTable) -> DynamoClientStore {
    DynamoClientStore::new(sdk_client(AWS_TIMEOUT).await, &table.clients_table)
}

pub(crate) fn store_error(e: ClientStoreError) -> anyhow::Error {
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

/// Changes a client and records who did it (`action`, e.g. `update_client`).
async fn change(client: &ClientId, update: &ClientUpdate, action: &str) -> anyhow::Result<Client> {
    match store(&client.table).await.update(&client.id, update).await {
        Ok(c) => {
            audit::record(action, &client.id, &audit::update_fields(update)).await;
            Ok(c)
        }
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
    let action = if enabled {
        "enable_client"
    } else {
        "disable_client"
    };
    change(client, &update, action).await.map(|_| ())
}

/// Hashes client secrets the way the token function checks them: HMAC-SHA256 with the pepper
/// in CLIENT_SECRET_PEPPER (or the Secrets Manager secret CLIENT_SECRET_PEPPER_SECRET_ARN),
/// plain SHA-256 when neither is set.
pub(crate) async fn client_secret_hasher() -> anyhow::Result<SecretHasher> {
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
    check_supplied_secret(&s, hasher)?;
    Ok((Secret::new(s), false))
}

/// A supplied secret's rule: about 64 bits with a pepper, 128 without. The message never
/// repeats the secret.
pub(crate) fn check_supplied_secret(s: &str, hasher: &SecretHasher) -> anyhow::Result<()> {
    let (needed, how) = match hasher.current_pepper_id() {
        Some(_) => (MIN_SECRET_BITS_WITH_PEPPER, "with a pepper"),
        None => (MIN_SECRET_BITS_WITHOUT_PEPPER, "without a pepper"),
    };
    if estimated_entropy_bits(s) < needed {
        bail!(
            "the supplied secret is too easy to guess: {how} it needs about {needed} bits \
             (e.g. 16 random letters and digits with a pepper, 32 without one; \
             omit --secret-stdin to have one generated)"
        );
    }
    Ok(())
}
