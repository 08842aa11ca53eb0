//! The discovery documents, rendered once at cold start: RFC 8414 authorization server metadata
//! (`/.well-known/oauth-authorization-server`).

use tollgate_service::client::GrantType;

/// RFC 8414 metadata. The issuer is the base URL the endpoints hang off. Confidential clients
/// authenticate with their secret (Basic or the body); public clients with their id alone
/// (`none`), at `/token` and `/revoke`, never at `/introspect`.
pub fn metadata(issuer: &str) -> serde_json::Value {
    let base = issuer.trim_end_matches('/');
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{base}/revoke"),
        "introspection_endpoint": format!("{base}/introspect"),
        "grant_types_supported": GrantType::names(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    })
}
