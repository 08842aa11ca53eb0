//! `lockout show|clear --username U`: one username's login-failure counter, for the helpdesk.
//! The username is keyed exactly as the password grant keys it (`clean_username`, then
//! `lockout_key` of its canonical form), so `Alice`, ` alice` and a full-width `ａｌｉｃｅ` are one.

use clap::{Args, Subcommand};
use tollgate_oauth::clock::{Clock, SystemClock, rfc3339};
use tollgate_service::lockout::{LockoutStore, clean_username, lockout_key, username_hash};
use tollgate_service::store::dynamo::{CounterItem, DynamoLockoutStore, sdk_client};
use tollgate_telemetry::logging::chain;

use crate::{AWS_TIMEOUT, audit};

#[derive(Subcommand)]
pub(crate) enum Lockout {
    /// Whether a username is locked out, until when, and the failures counted in its window.
    ///
    /// Prints the username_hash its audit lines carry (token_refused, lockout_started), to
    /// find why it was refused (docs/operations.md#why-was-this-user-refused).
    Show {
        #[command(flatten)]
        user: Username,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Unlock a username at once and forget its failures; writes an admin_change audit line.
    Clear(Username),
}

#[derive(Args)]
pub(crate) struct Username {
    /// The username as the user types it; case, width and surrounding spaces do not matter.
    #[arg(long)]
    username: String,
    /// Name of the login-failure table (in AWS: the stack output LockoutsTableName).
    #[arg(long, env = "LOCKOUTS_TABLE")]
    lockouts_table: String,
}

impl Username {
    /// The counter's key and the audit lines' `username_hash`, as the grant computes them.
    fn keys(&self) -> anyhow::Result<(String, String)> {
        let cleaned = clean_username(&self.username).map_err(|e| anyhow::anyhow!("{e}"))?;
        let hash = username_hash(cleaned).as_str().to_owned();
        Ok((lockout_key(cleaned), hash))
    }

    async fn store(&self) -> DynamoLockoutStore {
        DynamoLockoutStore::new(sdk_client(AWS_TIMEOUT).await, &self.lockouts_table)
    }
}

pub(crate) async fn run(command: Lockout) -> anyhow::Result<()> {
    match command {
        Lockout::Show { user, json } => show(user, json).await,
        Lockout::Clear(user) => clear(user).await,
    }
}

async fn show(user: Username, json: bool) -> anyhow::Result<()> {
    let (key, hash) = user.keys()?;
    let counter = user.store().await.counter(&key).await;
    let counter = counter.map_err(|e| anyhow::anyhow!("{}", chain(&e)))?;
    let now = SystemClock.now();
    let c = counter.unwrap_or_default();
    let locked_until = c.locked_until.filter(|&u| u > now);
    if json {
        let v = serde_json::json!({
            "username_hash": hash,
            "locked": locked_until.is_some(),
            "locked_until": locked_until,
            "failures": c.failures.unwrap_or(0),
            "attempts": c.attempts.unwrap_or(0),
            "window_start": c.window_start,
        });
        println!("{v}");
        return Ok(());
    }
    println!("username_hash: {hash}");
    println!("{}", describe(&c, locked_until, now));
    Ok(())
}

/// The counter in words: locked or not, and what the open window holds.
fn describe(c: &CounterItem, locked_until: Option<u64>, now: u64) -> String {
    let state = match locked_until {
        Some(u) => format!(
            "locked until {} ({} s from now)",
            rfc3339(u),
            u.saturating_sub(now)
        ),
        None => "not locked".into(),
    };
    let window = match c.window_start {
        Some(start) => format!(
            "{} wrong password(s), {} attempt(s) counted since {} (the window is LockoutWindowSeconds long)",
            c.failures.unwrap_or(0),
            c.attempts.unwrap_or(0),
            rfc3339(start)
        ),
        None => "no failures counted".into(),
    };
    format!("state:         {state}\nfailures:      {window}")
}

async fn clear(user: Username) -> anyhow::Result<()> {
    let (key, hash) = user.keys()?;
    let store = user.store().await;
    let before = store.locked_until(&key, SystemClock.now()).await;
    let before = before.map_err(|e| anyhow::anyhow!("{}", chain(&e)))?;
    let reset = store.reset(&key).await;
    reset.map_err(|e| anyhow::anyhow!("{}", chain(&e)))?;
    audit::record("clear_lockout", &hash, &["lockout"]).await;
    match before {
        Some(u) => println!(
            "username_hash {hash}: unlocked (was locked until {}); its failures are forgotten",
            rfc3339(u)
        ),
        None => println!("username_hash {hash}: was not locked; its failures are forgotten"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_reads_as_locked_or_not_with_its_window() {
        let c = CounterItem {
            attempts: Some(3),
            failures: Some(0),
            window_start: Some(1_750_000_000),
            locked_until: Some(1_750_000_300),
            expires_at: None,
        };
        let text = describe(&c, Some(1_750_000_300), 1_750_000_100);
        assert!(
            text.contains("locked until 2025-06-15T15:11:40Z (200 s from now)"),
            "{text}"
        );
        assert!(text.contains("0 wrong password(s), 3 attempt(s)"), "{text}");
        let none = describe(&CounterItem::default(), None, 0);
        assert!(
            none.contains("not locked") && none.contains("no failures"),
            "{none}"
        );
    }

    #[test]
    fn variants_of_a_username_are_one_key_and_one_hash() {
        let keys = |u: &str| {
            Username {
                username: u.into(),
                lockouts_table: String::new(),
            }
            .keys()
            .unwrap()
        };
        assert_eq!(keys(" ALICE "), keys("alice"));
        assert_eq!(keys("ａｌｉｃｅ"), keys("Alice"));
        assert_ne!(keys("alicia"), keys("alice"));
        let (_, hash) = keys("Alice");
        assert_eq!(hash, username_hash("alice").as_str());
        assert!(
            Username {
                username: "al\nice".into(),
                lockouts_table: String::new()
            }
            .keys()
            .is_err()
        );
    }
}
