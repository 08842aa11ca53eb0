//! Tollgate's API Gateway authorizer: validates access tokens for REST (`TOKEN`, `REQUEST`) and
//! HTTP API (payload 2.0) authorizers. `main.rs` wires it; `handler` reads events and writes
//! answers; `policy` builds the cache-safe IAM policy from the `route` rules.

pub mod config;
pub mod handler;
pub mod policy;
pub mod route;

#[cfg(test)]
mod edge_tests;
