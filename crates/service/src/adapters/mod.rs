//! Adapters for the outbound services, one folder per technology: `http` (the auth endpoint and
//! its user-status call, on one TLS stack) and `aws` (the AWS SDK's configuration on that same
//! stack, and Secrets Manager). The DynamoDB stores are `crate::store::dynamo`.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "http")]
pub mod http;
