//! Tollgate's API Gateway authorizer: validates access tokens for REST (`TOKEN`, `REQUEST`) and
//! HTTP API (payload 2.0) authorizers. `main.rs` wires it; `event` reads the events, `handler`
//! decides, `answer` writes the answer with the cache-safe IAM policy from the `route` rules
//! (`policy`); `cache` remembers verified tokens.

pub mod answer;
pub mod cache;
pub mod config;
pub mod event;
pub mod handler;
pub mod policy;
pub mod revocation;
pub mod route;

#[cfg(test)]
mod edge_tests;
