//! A real browser for the sign-in tests: headless Chromium driven through WebDriver
//! (chromedriver, with the `fantoccini` crate). Each [`Browser`] has its own chromedriver on a
//! port it bound itself and a fresh profile directory, so tests run in parallel without sharing
//! cookies. Debian's `chromium` and `chromium-driver` are needed: `make test` installs them;
//! when they are missing this fails with the command to run, never skips.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const HOW_TO_INSTALL: &str = "headless Chromium and its WebDriver are needed: run `make test` \
(it installs them), or `apt-get update && apt-get install -y chromium chromium-driver` as root";

/// The flags that make Chromium work here: no sandbox (tests run as root in containers), no
/// GPU, and nothing that reaches the network on its own.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1024,800",
];

/// One browser session; closed (and its chromedriver stopped, its profile removed) by
/// [`Browser::close`], or on drop when a test panics.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

fn find(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} not found on PATH: {HOW_TO_INSTALL}"))
}

impl Browser {
    /// A new headless Chromium with an empty profile.
    pub async fn start() -> Self {
        let chromium = find("chromium");
        let mut driver = Command::new(find("chromedriver"))
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver did not start ({e}): {HOW_TO_INSTALL}"));
        let port = driver_port(&mut driver).await;
        let profile = std::env::temp_dir().join(crate::unique("tollgate-chromium"));
        std::fs::create_dir_all(&profile).expect("a temporary profile directory");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| {
                panic!("no WebDriver session with Chromium: {e}. {HOW_TO_INSTALL}")
            });
        Self {
            client,
            driver,
            profile,
        }
    }

    /// Types `text` into the field with this `id` (after clearing it).
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no field #{id} on the page: {e}"));
        field.clear().await.expect("clearing a field");
        field.send_keys(text).await.expect("typing into a field");
    }

    /// Clicks the form's submit button and waits until the page has changed.
    pub async fn submit(&self) {
        let before = self.client.current_url().await.ok();
        let button = self
            .client
            .find(Locator::Css("button[type=submit]"))
            .await
            .expect("a submit button");
        button.click().await.expect("clicking submit");
        // The navigation ends when the old button is gone (the new page has a new document).
        for _ in 0..200 {
            match button.is_displayed().await {
                Err(_) => return,
                Ok(_) if self.client.current_url().await.ok() != before => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        panic!("the form post did not navigate within 10 s");
    }

    /// The page's HTML as the browser has it.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("the page source")
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("the current URL")
            .to_string()
    }

    /// Ends the WebDriver session (Chromium exits), then chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}

impl Drop for Browser {
    /// chromedriver is killed on drop (a test that panicked never reached `close`); the profile
    /// directory goes either way.
    fn drop(&mut self) {
        let _ = self.driver.start_kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The port chromedriver says it bound (`--port=0`: its own choice, read from its banner).
async fn driver_port(driver: &mut Child) -> u16 {
    let out = driver
        .stdout
        .take()
        .expect("chromedriver's stdout is piped");
    let mut lines = BufReader::new(out).lines();
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                return rest.trim_end_matches('.').trim().parse::<u16>().ok();
            }
        }
        None
    };
    match tokio::time::timeout(Duration::from_secs(30), read).await {
        Ok(Some(port)) => port,
        _ => panic!("chromedriver did not say which port it listens on: {HOW_TO_INSTALL}"),
    }
}
