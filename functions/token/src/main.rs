//! Cold start: tracing, configuration, keys and SDK clients, built once; then the Lambda loop.

use std::time::Instant;

use lambda_http::{run, service_fn};
use tollgate_token::config::TokenConfig;
use tollgate_token::handler::handle;
use tollgate_token::state::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let started = Instant::now();
    // Never the runtime's default subscriber: at TRACE it logs every raw event (passwords).
    tollgate_telemetry::logging::init();
    let state = match init().await {
        Ok(s) => s,
        Err(e) => {
            // Fail the cold start loudly; the runtime reports it as an init error.
            tracing::error!(error = format!("{e:#}"), "token function failed to start");
            return Err(e.into());
        }
    };
    tracing::info!(
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        version = env!("CARGO_PKG_VERSION"),
        "token function ready"
    );
    let state = &state;
    run(service_fn(move |req| handle(state, req))).await
}

async fn init() -> anyhow::Result<AppState> {
    let cfg = TokenConfig::from_env()?;
    AppState::from_config(cfg).await
}
