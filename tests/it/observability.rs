//! Observability: the template's alarms and dashboard watch only metrics the functions write
//! (crates/telemetry/src/metrics.rs), every alarm notifies the optional SNS topic, and the
//! capacity parameters are off unless set (`template`); docs/audit.md and operations.md list
//! exactly the events and metrics the code has (`doc_tables`); the admin CLI audits its changes
//! (`admin_cli`); and the served functions write their audit and EMF lines with no secret
//! (`served`, `rest_origin`).

mod admin_cli;
mod doc_tables;
mod logs;
mod rest_origin;
mod served;

mod template;
