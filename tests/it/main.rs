//! Black-box tests, compiled into one binary, in one folder per subject. Adapter tests run
//! against DynamoDB Local, each in its own tables; HTTP tests drive the token function under
//! `cargo lambda watch`.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

/// The adapters against real servers: DynamoDB Local, the dev auth endpoint, moto.
mod adapters {
    mod auth_endpoint;
    mod auth_endpoint_tls;
    mod contract;
    mod dynamo;
    mod dynamo_in_family;
    mod dynamo_sessions;
    mod secrets_manager;
    mod user_status;
}

/// The admin CLI (`tollgate-admin`) as an operator runs it.
mod admin {
    mod apigee_import;
    mod client_secrets;
    mod clients;
    mod helpdesk;
    mod key_rotation;
    mod limits;
    mod secret_overlap;
}

/// The authorizer: its decision on recorded events, served, attacked, and the whole flow to the
/// demo backend.
mod authorizer {
    mod attacks_served;
    mod config;
    mod decision;
    mod flow;
    mod route_policy;
    mod served;
    mod whoami;
}

mod code_flow;
mod docs;
mod fault;
mod layout;
mod observability;

/// The refresh grant, its grace window, claims that follow the directory, sessions, and the
/// legacy refresh tokens of the system Tollgate replaces, accepted once.
mod refresh {
    mod grace;
    mod grant;
    mod legacy;
    mod sessions;
    mod user_status;
}

/// Revocation at the gateway: the state the token service writes and the authorizer reads, its
/// reader against DynamoDB Local, the service and the authorizer agreeing on it, and every way
/// of ending access reaching the served authorizer within the bound.
mod revocation {
    mod agreement;
    mod reader;
    mod served;
}

/// `template.yaml`: its tables, its IAM grants, the session route's resource policy.
mod template {
    mod http_api;
    mod least_privilege;
    mod sessions_policy;
    mod tables;
}

/// `POST /token` and the token function's other endpoints: every grant, every refusal, in every
/// event shape.
mod token {
    mod client_credentials;
    mod endpoint;
    mod error_descriptions;
    mod http_edges;
    mod introspection;
    mod lockout;
    mod migration;
    mod oauth2_client;
    mod rate_limits;
    mod rest_proxy;
    mod subject;
}

/// Upgrading: the version every file states, and the stored shapes of earlier releases read back.
mod upgrade {
    mod release;
    mod stored_shapes;
}
