//! Tollgate's token service: the records and their rules (`client`, `refresh`, `lockout`,
//! `rate_limit`, the `password` and `user_status` ports), one file per endpoint under
//! `endpoint` (`token`, `revoke`, `introspect`, `sessions`), and the adapters apart: the stores
//! under `store` (one folder per technology, one file per store) and the outbound services (the
//! auth endpoint over HTTP, Secrets Manager, the AWS SDK's configuration) under `adapters`.
//! The token format it issues is `tollgate_oauth`; what it logs and audits, `tollgate_telemetry`.

pub mod adapters;
pub mod client;
pub mod code;
pub mod endpoint;
pub mod error;
pub mod hooked;
pub mod legacy;
pub mod lockout;
pub mod password;
pub mod rate_limit;
pub mod refresh;
pub mod revocation;
pub mod store;
pub mod sunset;
/// Doubles and builders for tests (the `testkit` feature): never compiled into a function.
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod user_status;

pub use endpoint::TokenService;

#[cfg(test)]
mod edge_tests;
