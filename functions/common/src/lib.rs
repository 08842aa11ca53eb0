//! Tollgate's domain: clients, grants, tokens, scopes and OAuth errors, the ports (traits) the
//! token function depends on, and their adapters for DynamoDB, Secrets Manager, the auth endpoint
//! and keys.

pub mod access_token;
pub mod audit;
pub mod auth_endpoint;
pub mod client;
pub mod clock;
pub mod config;
#[cfg(feature = "aws")]
pub mod dynamo;
pub mod error;
pub mod grant;
pub mod keys;
pub mod lockout;
pub mod logging;
pub mod measured;
pub mod memory;
pub mod metrics;
pub mod observe;
pub mod refresh;
pub mod route;
pub mod scope;
#[cfg(feature = "aws")]
pub mod sdk;
pub mod secret;
#[cfg(feature = "aws")]
pub mod secrets_manager;
pub mod tables;
pub mod verify;

pub use error::{ErrorCode, OAuthError};
