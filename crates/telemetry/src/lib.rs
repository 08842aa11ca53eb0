//! What every Tollgate function writes and reads at its edge, and nothing of the domain: the
//! environment lookup at cold start (`config`), log lines (`logging`), all of them written to
//! stdout through `output`, EMF metrics (`metrics`), audit events (`audit`) with the request they
//! belong to (`observe`), and the short hashes that stand in for what a caller sent (`hash`).

pub mod audit;
pub mod config;
pub mod hash;
pub mod logging;
pub mod metrics;
pub mod observe;
pub mod output;
