//! `dev-auth --listen 127.0.0.1:9001 --users dev/users.json [--credential-header H --credential V]
//! [--allow-changes]` (`--allow-changes`: `PUT /users/{username}` adds or replaces a user; tests)
//! (`--listen 127.0.0.1:0`: a free port, printed as `listening on http://ADDR/` on stderr)
//! (`--demo-client ID --demo-verifier V`: `GET /callback` exchanges the demo client's codes with
//! that PKCE verifier and shows the tokens; `make dev`)
//! (`--legacy-tokens FILE [--legacy-credential V]`: `POST /legacy/refresh` answers for the old
//! system's refresh tokens in FILE, e.g. dev/legacy-tokens.json; `make dev`, tests)

use std::sync::Arc;

use anyhow::{Context, bail};
use tollgate_dev_auth::callback::Demo;
use tollgate_dev_auth::legacy::{Legacy, load_tokens};
use tollgate_dev_auth::{Settings, load_users, serve};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut listen = "127.0.0.1:9001".to_owned();
    let mut users = "dev/users.json".to_owned();
    let mut header = None;
    let mut credential = None;
    let mut allow_changes = false;
    let mut demo_client = None;
    let mut demo_verifier = None;
    let mut legacy = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--listen" => listen = value()?,
            "--users" => users = value()?,
            "--credential-header" => header = Some(value()?),
            "--credential" => credential = Some(value()?),
            "--allow-changes" => allow_changes = true,
            "--demo-client" => demo_client = Some(value()?),
            "--demo-verifier" => demo_verifier = Some(value()?),
            "--legacy-tokens" => legacy.0 = Some(value()?),
            "--legacy-credential" => legacy.1 = Some(value()?),
            "-h" | "--help" => {
                println!(
                    "dev-auth --listen ADDR --users FILE [--credential-header NAME --credential VALUE] [--allow-changes] [--demo-client ID --demo-verifier V] [--legacy-tokens FILE [--legacy-credential V]]"
                );
                println!(
                    "A development stand-in for the organisation's auth endpoint. Never deploy it."
                );
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let credential = shared_credential(header, credential)?;
    let users = load_users(&users)?;
    let legacy = legacy_endpoint(legacy)?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("failed to listen on {listen}"))?;
    // The bound address, not the one asked for: with port 0 the system picks a free port, and
    // whoever started this reads it here (scripts/test.sh does).
    let bound = listener.local_addr().context("no local address")?;
    eprintln!(
        "dev-auth: {} users, listening on http://{bound}/",
        users.len()
    );
    let demo = demo(demo_client, demo_verifier, bound)?;
    let settings = Settings {
        users,
        credential,
        allow_changes,
        demo,
        legacy,
        ..Settings::default()
    };
    serve(listener, Arc::new(settings)).await;
    Ok(())
}

/// The shared credential callers must send, when both of its flags are given.
fn shared_credential(
    header: Option<String>,
    value: Option<String>,
) -> anyhow::Result<Option<(String, String)>> {
    match (header, value) {
        (Some(h), Some(v)) => Ok(Some((h, v))),
        (None, None) => Ok(None),
        _ => bail!("--credential-header and --credential go together"),
    }
}

/// The stand-in legacy refresh endpoint, when `--legacy-tokens` names its tokens.
fn legacy_endpoint(
    (tokens, credential): (Option<String>, Option<String>),
) -> anyhow::Result<Option<Arc<Legacy>>> {
    match tokens {
        Some(path) => Ok(Some(Arc::new(Legacy::new(load_tokens(&path)?, credential)))),
        None if credential.is_some() => bail!("--legacy-credential needs --legacy-tokens"),
        None => Ok(None),
    }
}

/// The demo client `GET /callback` serves, when both of its flags are given.
fn demo(
    client_id: Option<String>,
    verifier: Option<String>,
    bound: std::net::SocketAddr,
) -> anyhow::Result<Option<Demo>> {
    match (client_id, verifier) {
        (Some(client_id), Some(verifier)) => Ok(Some(Demo {
            client_id,
            verifier,
            redirect_uri: format!("http://{bound}/callback"),
        })),
        (None, None) => Ok(None),
        _ => bail!("--demo-client and --demo-verifier go together"),
    }
}
