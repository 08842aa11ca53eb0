//! Tollgate's domain: clients, grants, tokens, scopes and errors, with the ports (traits) the
//! token function depends on beside the nouns they serve. Adapters live apart: the stores under
//! `store` (one folder per technology, one file per store) and the outbound services (the auth
//! endpoint over HTTP, Secrets Manager, the AWS SDK's configuration) under `adapters`.

pub mod access_token;
pub mod adapters;
pub mod audit;
pub mod client;
pub mod clock;
pub mod code;
pub mod config;
pub mod error;
pub mod grace;
pub mod grant;
pub mod introspect;
pub mod keys;
pub mod lockout;
pub mod logging;
pub mod measured;
pub mod metrics;
pub mod observe;
pub mod output;
pub mod password;
pub mod pkce;
pub mod rate_limit;
pub mod refresh;
pub mod revoke;
pub mod scope;
pub mod secret;
pub mod session;
pub mod store;
pub mod sunset;
pub mod user_status;
pub mod verify;

pub use error::{ErrorCode, OAuthError};

#[cfg(test)]
mod edge_tests;
