//! `import-clients FILE`: clients from an Apigee export of developer apps, or from a simple
//! list, keeping their ids and secrets. Re-runnable: a client that exists is skipped, never
//! changed. Every entry is reported: created, skipped (and why) or refused (and why); each
//! client created writes an `admin_change` audit line, and `--dry-run` writes nothing.

use anyhow::{Context, bail};
use serde_json::Value;
use tollgate_oauth::clock::{Clock, SystemClock};
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::{Secret, SecretHasher};
use tollgate_service::client::{Client, ClientStore, ClientStoreError, ClientUpdate, GrantType};

use crate::audit;
use crate::cli::ImportArgs;
use crate::clients::{check_supplied_secret, client_secret_hasher, store, store_error};

/// One client to create, as read from the file.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) secret: Secret,
    pub(crate) update: ClientUpdate,
}

/// What the file says about one client: an entry to create, or why it is left out.
#[derive(Debug)]
pub(crate) enum Parsed {
    Entry(Box<Entry>),
    /// Left out on purpose (a revoked or expired Apigee key): `(id, reason)`.
    Skip(String, String),
    /// Cannot be imported as written: `(id or position, reason)`.
    Refuse(String, String),
}

/// What an entry gets when the file does not say: the operator's `--grant-types` and
/// `--default-scopes`. Without them a client may use the user grants (`password`,
/// `refresh_token`), and a request that names no scope is granted every scope the client may
/// have, as Apigee grants an app's scopes when none is asked for.
#[derive(Debug, Default)]
pub(crate) struct Defaults {
    pub(crate) grant_types: Option<Vec<GrantType>>,
    pub(crate) default_scopes: Option<String>,
}

/// Reads either format. An Apigee export is `{"app": [...]}` (the developer-apps list with
/// `expand=true`) or a bare array of apps; each app's approved, unexpired credentials become
/// clients (`consumerKey` as client_id). The simple format is `{"clients": [{"id", "name",
/// "secret", "scopes", "default_scopes", "grant_types"}]}`.
pub(crate) fn parse(text: &str, now_ms: u64, defaults: &Defaults) -> anyhow::Result<Vec<Parsed>> {
    let doc: Value = serde_json::from_str(text).context("the file is not JSON")?;
    if let Some(clients) = doc.get("clients").and_then(Value::as_array) {
        return Ok(clients
            .iter()
            .enumerate()
            .map(|(i, c)| simple(i, c, defaults))
            .collect());
    }
    let apps = match (&doc, doc.get("app")) {
        (_, Some(Value::Array(apps))) => apps,
        (Value::Array(apps), _) => apps,
        _ => bail!(
            "expected an Apigee export ({{\"app\": [...]}} or an array of apps) or {{\"clients\": [...]}}"
        ),
    };
    Ok(apps
        .iter()
        .flat_map(|a| apigee_app(a, now_ms, defaults))
        .collect())
}

fn text<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn words(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn simple(i: usize, c: &Value, defaults: &Defaults) -> Parsed {
    let Some(id) = text(c, "id") else {
        return Parsed::Refuse(format!("entry {}", i + 1), "no \"id\"".into());
    };
    let Some(secret) = text(c, "secret") else {
        return Parsed::Refuse(id.into(), "no \"secret\"".into());
    };
    let grants = words(c, "grant_types");
    let grant_types = if grants.is_empty() {
        defaults.grant_types.clone()
    } else {
        match grants.split_whitespace().map(GrantType::parse).collect() {
            Some(g) => Some(g),
            None => return Parsed::Refuse(id.into(), format!("unknown grant type in {grants:?}")),
        }
    };
    // An entry's own "default_scopes" (even "", none) wins over the flag and the fallback.
    let default_scopes = c
        .get("default_scopes")
        .map(|_| words(c, "default_scopes"))
        .or_else(|| defaults.default_scopes.clone());
    entry(
        id,
        text(c, "name").unwrap_or(id),
        secret,
        &words(c, "scopes"),
        default_scopes.as_deref(),
        grant_types,
    )
}

fn apigee_app(app: &Value, now_ms: u64, defaults: &Defaults) -> Vec<Parsed> {
    let display = app
        .get("attributes")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|x| text(x, "name") == Some("DisplayName")))
        .and_then(|x| text(x, "value"));
    let name = display.or_else(|| text(app, "name")).unwrap_or_default();
    let app_status = text(app, "status").unwrap_or("approved");
    let creds = app.get("credentials").and_then(Value::as_array);
    let Some(creds) = creds.filter(|c| !c.is_empty()) else {
        return vec![Parsed::Skip(name.into(), "app has no credentials".into())];
    };
    creds
        .iter()
        .map(|c| {
            let Some(key) = text(c, "consumerKey") else {
                return Parsed::Refuse(name.into(), "a credential has no consumerKey".into());
            };
            let status = text(c, "status").unwrap_or("approved");
            // Apigee Edge writes numbers as strings ("-1"), Apigee X as numbers.
            let expires = match c.get("expiresAt") {
                Some(Value::String(s)) => s.parse::<i64>().unwrap_or(-1),
                Some(v) => v.as_i64().unwrap_or(-1),
                None => -1,
            };
            if app_status != "approved" || status != "approved" {
                return Parsed::Skip(
                    key.into(),
                    format!("not approved in Apigee (app {app_status}, key {status})"),
                );
            }
            if expires > 0 && u64::try_from(expires).unwrap_or(0) <= now_ms {
                return Parsed::Skip(key.into(), "expired in Apigee".into());
            }
            let Some(secret) = text(c, "consumerSecret") else {
                return Parsed::Refuse(key.into(), "no consumerSecret".into());
            };
            let scopes = format!("{} {}", words(c, "scopes"), words(app, "scopes"));
            entry(
                key,
                name,
                secret,
                &scopes,
                defaults.default_scopes.as_deref(),
                defaults.grant_types.clone(),
            )
        })
        .collect()
}

fn entry(
    id: &str,
    name: &str,
    secret: &str,
    scopes: &str,
    default_scopes: Option<&str>,
    grant_types: Option<Vec<GrantType>>,
) -> Parsed {
    let parse = |s: &str| Scopes::parse(s.trim()).map_err(|e| e.description);
    let default_scopes = default_scopes.unwrap_or(scopes);
    let (allowed, default) = match (parse(scopes), parse(default_scopes)) {
        (Ok(a), Ok(d)) => (a, d),
        (Err(e), _) | (_, Err(e)) => return Parsed::Refuse(id.into(), format!("scopes: {e}")),
    };
    Parsed::Entry(Box::new(Entry {
        id: id.into(),
        name: name.into(),
        secret: Secret::new(secret),
        update: ClientUpdate {
            name: Some(name.into()),
            grant_types,
            allowed_scopes: Some(allowed),
            default_scopes: Some(default),
            ..ClientUpdate::default()
        },
    }))
}

/// The outcome of one entry, as printed.
fn outcome(e: &Entry, hasher: &SecretHasher, now: u64) -> Result<Client, String> {
    check_supplied_secret(e.secret.expose(), hasher).map_err(|err| err.to_string())?;
    Client::create(&e.id, hasher.hash(&e.secret), now, &e.update).map_err(|err| err.to_string())
}

/// What happened to the entries, counted for the summary line.
#[derive(Default)]
struct Tally {
    created: usize,
    skipped: usize,
    refused: usize,
}

/// What a created client may do, as printed: `grants ...; scopes ...; default scopes ...`.
fn describe(c: &Client) -> String {
    let grants: Vec<_> = c.grant_types.iter().map(|g| g.as_str()).collect();
    let or_none = |s: String| if s.is_empty() { "none".into() } else { s };
    format!(
        "grants {}; scopes {}; default scopes {}",
        grants.join(" "),
        or_none(c.allowed_scopes.to_string()),
        or_none(c.default_scopes.to_string())
    )
}

/// `import-clients FILE`: prints one line per client and a summary; fails when any was refused.
/// With `--dry-run` it reads the table to tell which clients exist, and writes nothing.
pub(crate) async fn import_clients(args: ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let now = SystemClock.now();
    let defaults = Defaults {
        grant_types: args.grant_types,
        default_scopes: args.default_scopes,
    };
    let parsed = parse(&text, now.saturating_mul(1000), &defaults)?;
    let hasher = client_secret_hasher().await?;
    let store = store(&args.table).await;
    // One STS call for the whole import, not one per client.
    let actor = if args.dry_run {
        String::new()
    } else {
        audit::actor().await
    };
    let mut tally = Tally::default();
    for p in parsed {
        match p {
            Parsed::Skip(id, why) => {
                tally.skipped += 1;
                println!("skipped  {id}: {why}");
            }
            Parsed::Refuse(id, why) => {
                tally.refused += 1;
                println!("refused  {id}: {why}");
            }
            Parsed::Entry(e) => match outcome(&e, &hasher, now) {
                Err(why) => {
                    tally.refused += 1;
                    println!("refused  {}: {why}", e.id);
                }
                Ok(client) if args.dry_run => dry_run(&store, &e, &client, &mut tally).await?,
                Ok(client) => create(&store, &e, &client, &actor, &mut tally).await?,
            },
        }
    }
    let Tally {
        created,
        skipped,
        refused,
    } = tally;
    if args.dry_run {
        println!(
            "dry run: {created} would be created, {skipped} skipped, {refused} refused; nothing was written"
        );
    } else {
        println!("{created} created, {skipped} skipped, {refused} refused");
    }
    if refused > 0 {
        bail!("{refused} client(s) refused: fix them in the file and run the import again");
    }
    Ok(())
}

async fn create(
    store: &impl ClientStore,
    e: &Entry,
    client: &Client,
    actor: &str,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    match store.create(client).await {
        Ok(()) => {
            tally.created += 1;
            println!("created  {} ({}): {}", e.id, e.name, describe(client));
            let mut fields = audit::update_fields(&e.update);
            fields.push("secret");
            audit::record_as(actor, "import_client", &e.id, &fields);
        }
        Err(ClientStoreError::AlreadyExists) => {
            tally.skipped += 1;
            println!("skipped  {}: already exists (left unchanged)", e.id);
        }
        Err(err) => return Err(store_error(err)),
    }
    Ok(())
}

async fn dry_run(
    store: &impl ClientStore,
    e: &Entry,
    client: &Client,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    if store.get(&e.id).await.map_err(store_error)?.is_some() {
        tally.skipped += 1;
        println!("skipped  {}: already exists (left unchanged)", e.id);
    } else {
        tally.created += 1;
        println!("would create  {} ({}): {}", e.id, e.name, describe(client));
    }
    Ok(())
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
