//! `import-clients FILE`: clients from an Apigee export of developer apps, or from a simple
//! list, keeping their ids and secrets. Re-runnable: a client that exists is skipped, never
//! changed. Every entry is reported: created, skipped (and why) or refused (and why).

use anyhow::{Context, bail};
use serde_json::Value;
use tollgate_oauth::clock::{Clock, SystemClock};
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::{Secret, SecretHasher};
use tollgate_service::client::{Client, ClientStore, ClientStoreError, ClientUpdate, GrantType};

use crate::ClientsTable;
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

/// Reads either format. An Apigee export is `{"app": [...]}` (the developer-apps list with
/// `expand=true`) or a bare array of apps; each app's approved, unexpired credentials become
/// clients (`consumerKey` as client_id). The simple format is `{"clients": [{"id", "name",
/// "secret", "scopes", "default_scopes", "grant_types"}]}`.
pub(crate) fn parse(text: &str, now_ms: u64) -> anyhow::Result<Vec<Parsed>> {
    let doc: Value = serde_json::from_str(text).context("the file is not JSON")?;
    if let Some(clients) = doc.get("clients").and_then(Value::as_array) {
        return Ok(clients
            .iter()
            .enumerate()
            .map(|(i, c)| simple(i, c))
            .collect());
    }
    let apps = match (&doc, doc.get("app")) {
        (_, Some(Value::Array(apps))) => apps,
        (Value::Array(apps), _) => apps,
        _ => bail!(
            "expected an Apigee export ({{\"app\": [...]}} or an array of apps) or {{\"clients\": [...]}}"
        ),
    };
    Ok(apps.iter().flat_map(|a| apigee_app(a, now_ms)).collect())
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

fn simple(i: usize, c: &Value) -> Parsed {
    let Some(id) = text(c, "id") else {
        return Parsed::Refuse(format!("entry {}", i + 1), "no \"id\"".into());
    };
    let Some(secret) = text(c, "secret") else {
        return Parsed::Refuse(id.into(), "no \"secret\"".into());
    };
    let grants = words(c, "grant_types");
    let grant_types = if grants.is_empty() {
        None
    } else {
        match grants.split_whitespace().map(GrantType::parse).collect() {
            Some(g) => Some(g),
            None => return Parsed::Refuse(id.into(), format!("unknown grant type in {grants:?}")),
        }
    };
    entry(
        id,
        text(c, "name").unwrap_or(id),
        secret,
        &words(c, "scopes"),
        &words(c, "default_scopes"),
        grant_types,
    )
}

fn apigee_app(app: &Value, now_ms: u64) -> Vec<Parsed> {
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
            entry(key, name, secret, &scopes, "", None)
        })
        .collect()
}

fn entry(
    id: &str,
    name: &str,
    secret: &str,
    scopes: &str,
    default_scopes: &str,
    grant_types: Option<Vec<GrantType>>,
) -> Parsed {
    let parse = |s: &str| Scopes::parse(s.trim()).map_err(|e| e.description);
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

/// `import-clients FILE`: prints one line per client and a summary; fails when any was refused.
pub(crate) async fn import_clients(
    file: std::path::PathBuf,
    table: ClientsTable,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let now = SystemClock.now();
    let parsed = parse(&text, now.saturating_mul(1000))?;
    let hasher = client_secret_hasher().await?;
    let store = store(&table).await;
    let (mut created, mut skipped, mut refused) = (0, 0, 0);
    for p in parsed {
        match p {
            Parsed::Skip(id, why) => {
                skipped += 1;
                println!("skipped  {id}: {why}");
            }
            Parsed::Refuse(id, why) => {
                refused += 1;
                println!("refused  {id}: {why}");
            }
            Parsed::Entry(e) => match outcome(&e, &hasher, now) {
                Err(why) => {
                    refused += 1;
                    println!("refused  {}: {why}", e.id);
                }
                Ok(client) => match store.create(&client).await {
                    Ok(()) => {
                        created += 1;
                        println!("created  {} ({})", e.id, e.name);
                    }
                    Err(ClientStoreError::AlreadyExists) => {
                        skipped += 1;
                        println!("skipped  {}: already exists (left unchanged)", e.id);
                    }
                    Err(err) => return Err(store_error(err)),
                },
            },
        }
    }
    println!("{created} created, {skipped} skipped, {refused} refused");
    if refused > 0 {
        bail!("{refused} client(s) refused: fix them in the file and run the import again");
    }
    Ok(())
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
