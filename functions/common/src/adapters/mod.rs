//! Adapters for the outbound services: the auth endpoint and its user-status call over HTTP,
//! AWS Secrets Manager, and the AWS SDK configuration they share with the DynamoDB stores, all
//! on one TLS stack (`tls`).

#[cfg(feature = "http")]
pub mod auth_http;
#[cfg(feature = "aws")]
pub mod sdk;
#[cfg(feature = "http")]
pub mod sdk_http;
#[cfg(feature = "aws")]
pub mod secrets_manager;
#[cfg(feature = "http")]
pub mod tls;
#[cfg(feature = "http")]
pub mod user_status_http;
