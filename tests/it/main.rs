//! Black-box tests, compiled into one binary. Adapter tests run against DynamoDB Local, each in
//! its own tables; HTTP tests drive the token function under `cargo lambda watch`.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod admin;
mod apigee_import;
mod attacks_served;
mod auth_endpoint;
mod auth_endpoint_tls;
mod authorizer;
mod authorizer_variants;
mod client_credentials;
mod client_secrets;
mod contract;
mod docs;
mod dynamo_adapters;
mod flow;
mod least_privilege;
mod lockout;
mod logs;
mod oauth2_client;
mod observability;
mod refresh;
mod rotation;
mod route_policy;
mod secret_overlap;
mod secrets_manager;
mod template;
mod token_endpoint;
mod token_http_edges;
mod token_rest_proxy;
mod whoami;
