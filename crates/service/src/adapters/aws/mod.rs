//! AWS: the SDK's configuration, shared by every AWS client of a function (`sdk`; on the
//! `http` stack's client when that feature is on), and Secrets Manager (`secrets_manager`).
//! The DynamoDB stores are `crate::store::dynamo`.

pub mod sdk;
pub mod secrets_manager;
