//! Cold start: tracing, configuration and keys, built once; then the Lambda loop.

use std::time::Instant;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tollgate_authorizer::config::State;
use tollgate_authorizer::handler::decide;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    // Never the runtime's default subscriber: at TRACE it logs every raw event (bearer tokens).
    tollgate_common::logging::init();
    let state = match State::from_env() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "authorizer failed to start");
            return Err(e.into());
        }
    };
    tracing::info!(
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        "authorizer ready"
    );
    let state = &state;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        decide(state, event.payload).map_err(Error::from)
    }))
    .await
}
