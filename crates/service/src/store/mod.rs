//! The stores' adapters, one folder per technology and one file per store: `dynamo` for AWS and
//! DynamoDB Local, and the table definitions both the adapters and the template agree on. The
//! in-memory stores for unit tests are `crate::testkit::memory`.

#[cfg(feature = "aws")]
pub mod dynamo;
pub mod tables;
