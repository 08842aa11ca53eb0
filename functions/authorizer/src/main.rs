//! Cold start: tracing, configuration and keys, built once; then the Lambda loop.

use std::time::Instant;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::value::RawValue;
use tollgate_authorizer::config::State;
use tollgate_authorizer::handler::decide_json;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    // Never the runtime's default subscriber: at TRACE it logs every raw event (bearer tokens).
    tollgate_telemetry::logging::init();
    let state = match State::from_env() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "authorizer failed to start");
            return Err(e.into());
        }
    };
    tracing::info!(
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        version = env!("CARGO_PKG_VERSION"),
        "authorizer ready"
    );
    let state = &state;
    // The event is kept as its JSON text and read once, typed, by the handler.
    run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            decide_json(state, event.payload.get().as_bytes()).map_err(Error::from)
        },
    ))
    .await
}
