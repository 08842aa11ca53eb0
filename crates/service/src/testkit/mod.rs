//! What other crates' tests build on, behind the `testkit` feature: the in-memory stores (fast
//! unit tests of domain rules), a port wrapper that fails or loses the calls a test names, and
//! the behaviour suites every adapter of a port must pass.

pub mod contract;
pub mod failing;
pub mod memory;
