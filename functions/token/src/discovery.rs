//! The discovery documents, rendered once at cold start: RFC 8414 authorization server metadata
//! (`/.well-known/oauth-authorization-server`) and OpenID Connect Discovery 1.0
//! (`/.well-known/openid-configuration`).

use tollgate_service::client::GrantType;

use crate::config::TokenConfig;

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
        "userinfo_endpoint": format!("{base}/userinfo"),
        "end_session_endpoint": format!("{base}/end_session"),
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

/// OpenID Connect Discovery 1.0 §3: the metadata above and what OpenID Connect adds: the ID
/// token's signing algorithm (the access tokens' key), public subjects, the claims an ID token
/// or `/userinfo` may carry (the standard ones and the deployment's `USER_CLAIMS`).
pub fn openid_configuration(issuer: &str, alg: &str, user_claims: &[String]) -> serde_json::Value {
    let mut doc = metadata(issuer);
    let mut claims: Vec<String> = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "at_hash",
        "sid",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    claims.extend(user_claims.iter().cloned());
    if let Some(d) = doc.as_object_mut() {
        d.insert("scopes_supported".into(), serde_json::json!(["openid"]));
        d.insert(
            "subject_types_supported".into(),
            serde_json::json!(["public"]),
        );
        d.insert(
            "id_token_signing_alg_values_supported".into(),
            serde_json::json!([alg]),
        );
        d.insert("claims_supported".into(), serde_json::json!(claims));
        d.insert("request_parameter_supported".into(), false.into());
        d.insert("request_uri_parameter_supported".into(), false.into());
        d.insert("claims_parameter_supported".into(), false.into());
    }
    doc
}

/// The OpenID Connect document of this deployment, as served.
pub fn openid_document(cfg: &TokenConfig) -> String {
    let alg = cfg.signing_alg.as_str();
    openid_configuration(&cfg.issuer, alg, &cfg.policy.user_claims).to_string()
}
