//! Black-box tests, compiled into one binary. Adapter tests run against DynamoDB Local, each in
//! its own tables; HTTP tests drive the token function under `cargo lambda watch`.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod admin;
mod admin_limits;
mod apigee_import;
mod attacks_served;
mod auth_endpoint;
mod auth_endpoint_tls;
mod authorizer;
mod authorizer_variants;
mod client_credentials;
mod client_secrets;
mod contract;
mod ddb_proxy;
mod docs;
mod dynamo_adapters;
mod error_descriptions;
mod fault;
mod flow;
mod helpdesk;
mod introspection;
mod layout;
mod least_privilege;
mod lockout;
mod logs;
mod migration;
mod oauth2_client;
mod observability;
mod rate_limits;
mod refresh;
mod refresh_grace;
mod release;
mod rotation;
mod route_policy;
mod secret_overlap;
mod secrets_manager;
mod sessions;
mod sessions_policy;
mod stored_shapes;
mod subject;
mod template;
mod token_endpoint;
mod token_http_edges;
mod token_rest_proxy;
mod user_status;
mod user_status_adapter;
mod whoami;
