//! The function's one HTTP/TLS stack (`tls`) and what runs on it: the organisation's password
//! check (`auth_endpoint`), user status (`user_status`) and the legacy refresh endpoint
//! (`legacy_refresh`), and the AWS SDK's HTTP client
//! (`sdk_http`), so the SDK and the auth endpoint share one trust store and one TLS library.

pub mod auth_endpoint;
pub mod legacy_refresh;
pub mod sdk_http;
pub mod tls;
pub mod user_status;
