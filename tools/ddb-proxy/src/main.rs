//! `ddb-proxy`: the fault proxy in front of DynamoDB Local (tests only, never deployed). It binds
//! its own ports (port 0: ones the system picks) and prints the addresses it got, so whoever
//! started it reads them back and no port is freed and re-bound (docs/testing.md).

use anyhow::{Context, bail};
use tollgate_ddb_proxy::{Config, RecordSettings, start};

const USAGE: &str = "ddb-proxy --upstream http://127.0.0.1:PORT [--listen ADDR] [--control ADDR] [--record] [--inject-capacity]
A fault proxy in front of DynamoDB Local, for tests. Never deploy it.
  --upstream URL       DynamoDB Local (required)
  --listen ADDR        where the SDK connects (default 127.0.0.1:0)
  --control ADDR       the control API (default 127.0.0.1:0)
  --record             record every forwarded request from the start (GET /records)
  --inject-capacity    ask DynamoDB for ConsumedCapacity (INDEXES) on every request that can";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut upstream = None;
    let mut listen = "127.0.0.1:0".to_owned();
    let mut control = "127.0.0.1:0".to_owned();
    let mut record = RecordSettings::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--upstream" => upstream = Some(value()?),
            "--listen" => listen = value()?,
            "--control" => control = value()?,
            "--record" => record.on = true,
            "--inject-capacity" => record.inject_capacity = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let upstream = upstream.context("--upstream is required (try --help)")?;
    let config = Config {
        listen: listen
            .parse()
            .with_context(|| format!("--listen {listen}"))?,
        control: control
            .parse()
            .with_context(|| format!("--control {control}"))?,
        upstream: upstream.clone(),
        record,
    };
    let running = start(config).await?;
    // The bound addresses, not the ones asked for: scripts/test.sh reads them here.
    eprintln!(
        "ddb-proxy: forwarding to {upstream}, listening on http://{}/",
        running.proxy_addr
    );
    eprintln!("ddb-proxy: control on http://{}/", running.control_addr);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
