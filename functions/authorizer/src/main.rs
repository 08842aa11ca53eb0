//! Cold start: tracing, the revocation state's first read (started first, so it runs while the
//! rest is built), configuration and keys, built once; then the Lambda loop.

use std::time::Instant;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::value::RawValue;
use tollgate_authorizer::config::State;
use tollgate_authorizer::handler::decide_json_with;
use tollgate_authorizer::revocation::{COLD_START_WAIT, Settings};
use tollgate_telemetry::config::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    // Never the runtime's default subscriber: at TRACE it logs every raw event (bearer tokens).
    tollgate_telemetry::logging::init();
    let state = match Settings::from_lookup(&Env::process())
        .and_then(|s| s.map(Settings::start).transpose())
        .and_then(|revocation| Ok(State::from_env()?.with_revocation(revocation)))
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "authorizer failed to start");
            return Err(e.into());
        }
    };
    // A cold instance decides nothing before it has read the state (or given up on it: then
    // its first decision tries again, and REVOCATION_UNAVAILABLE says what happens meanwhile).
    let revocation = match &state.revocation {
        Some(r) => Some(r.feed.ready(COLD_START_WAIT).await),
        None => None,
    };
    tracing::info!(
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        revocation_read = revocation,
        revoked_entries = state.revocation.as_ref().map(|r| r.feed.entries()),
        version = env!("CARGO_PKG_VERSION"),
        "authorizer ready"
    );
    let state = &state;
    // The event is kept as its JSON text and read once, typed, by the handler.
    run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let view = state.revocation_view().await;
            decide_json_with(state, view.as_ref(), event.payload.get().as_bytes())
                .map_err(Error::from)
        },
    ))
    .await
}
