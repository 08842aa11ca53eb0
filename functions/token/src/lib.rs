//! Tollgate's token function: `POST /token` and the discovery documents behind API Gateway.
//! `main.rs` wires it at cold start; `handler` translates HTTP to the domain and back.

pub mod authorize;
pub mod config;
pub mod discovery;
pub mod form;
pub mod handler;
pub mod oidc;
pub mod page;
pub mod response;
pub mod route;
pub mod served;
pub mod sessions;
pub mod state;
