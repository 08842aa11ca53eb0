//! Tollgate's token format: what the token function issues, the authorizer verifies and the admin
//! CLI manages. Scopes, access tokens (their claims, issuing them, verifying them with public keys
//! only), signing keys and their JWKS, secrets and the hashes stored in their place, the OAuth
//! errors a client is told, and time. Nothing here does I/O or knows a store.

pub mod access_token;
pub mod clock;
pub mod error;
pub mod id_token;
pub mod keys;
pub mod pkce;
pub mod scope;
pub mod secret;
pub mod verify;

pub use error::{ErrorCode, OAuthError};
