//! The stores' adapters: `memory` for fast unit tests of domain rules, `dynamo` (one file per
//! store) for AWS and DynamoDB Local, and the table definitions both the adapters and the
//! template agree on.

/// The behaviour suites every adapter must pass (tests only).
#[cfg(any(test, feature = "testkit"))]
pub mod contract;
#[cfg(feature = "aws")]
pub mod dynamo;
/// An adapter wrapper that fails the calls a test names (tests only).
#[cfg(any(test, feature = "testkit"))]
pub mod failing;
pub mod memory;
pub mod tables;
