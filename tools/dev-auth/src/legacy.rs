//! The stand-in legacy refresh endpoint (`POST /legacy/refresh`, docs/apigee-migration.md):
//! what an organisation runs in front of its old system, answering for that system's refresh
//! tokens from a file of known ones. Never deployed.
//!
//! An entry names one `token`, or a `prefix` whose tokens are `<prefix><client_id>.<anything>`
//! (issued to that client: tests make as many as they need). A token presented by another
//! client than its own is refused (`400`), as the old system would. `behaviour` makes an entry
//! misbehave on every call, `first_behaviour` on a token's first call only (a failure that
//! passes). `GET /legacy/calls/<token>` says how many times a token was asked about.

use std::collections::HashMap;
use std::sync::Mutex;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{Behaviour, Dropped, misbehave, reply};

/// The header Tollgate sends its shared credential in.
pub const CREDENTIAL_HEADER: &str = "x-api-key";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyToken {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    /// The client an exact token was issued to (any client when absent).
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub details: Map<String, Value>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub behaviour: Option<Behaviour>,
    #[serde(default)]
    pub first_behaviour: Option<Behaviour>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyFile {
    tokens: Vec<LegacyToken>,
}

/// The known tokens, the credential callers must send, and how often each token was asked.
#[derive(Debug, Default)]
pub struct Legacy {
    pub tokens: Vec<LegacyToken>,
    pub credential: Option<String>,
    calls: Mutex<HashMap<String, u64>>,
}

impl Legacy {
    pub fn new(tokens: Vec<LegacyToken>, credential: Option<String>) -> Self {
        Self {
            tokens,
            credential,
            calls: Mutex::default(),
        }
    }

    /// The entry for `token` presented by `client_id`, or why there is none (`400`).
    fn find(&self, token: &str, client_id: &str) -> Option<&LegacyToken> {
        self.tokens.iter().find(|t| match (&t.token, &t.prefix) {
            (Some(exact), _) => {
                exact == token && t.client_id.as_deref().is_none_or(|c| c == client_id)
            }
            (None, Some(prefix)) => token
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_prefix(client_id))
                .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1),
            (None, None) => false,
        })
    }

    /// Counts a call for `token`; how many there were before it.
    fn count(&self, token: &str) -> u64 {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let n = calls.entry(token.to_owned()).or_default();
        *n += 1;
        *n - 1
    }

    fn calls(&self, token: &str) -> u64 {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.get(token).copied().unwrap_or_default()
    }
}

pub fn load_tokens(path: &str) -> anyhow::Result<Vec<LegacyToken>> {
    let raw =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("failed to read {path}: {e}"))?;
    let file: LegacyFile = serde_json::from_str(&raw)
        .map_err(|e| anyhow::anyhow!("{path} is not a valid legacy tokens file: {e}"))?;
    Ok(file.tokens)
}

#[derive(Deserialize)]
struct Redeem {
    refresh_token: String,
    client_id: String,
}

/// `GET /legacy/calls/<token>` and `POST /legacy/refresh`.
pub async fn answer(
    legacy: &Legacy,
    path: &str,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    if let Some(token) = path.strip_prefix("/legacy/calls/") {
        let calls = legacy.calls(token);
        return Ok(reply(StatusCode::OK, &format!(r#"{{"calls":{calls}}}"#)));
    }
    if path != "/legacy/refresh" || req.method() != hyper::Method::POST {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            r#"{"error":"POST /legacy/refresh"}"#,
        ));
    }
    let sent = req
        .headers()
        .get(CREDENTIAL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if legacy.credential.is_some() && sent != legacy.credential {
        return Ok(reply(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"wrong shared credential"}"#,
        ));
    }
    let Ok(body) = Limited::new(req.into_body(), 16 * 1024).collect().await else {
        return Ok(reply(
            StatusCode::BAD_REQUEST,
            r#"{"error":"unreadable body"}"#,
        ));
    };
    let Ok(r) = serde_json::from_slice::<Redeem>(&body.to_bytes()) else {
        return Ok(reply(
            StatusCode::BAD_REQUEST,
            r#"{"error":"expected {refresh_token, client_id}"}"#,
        ));
    };
    let earlier = legacy.count(&r.refresh_token);
    let Some(entry) = legacy.find(&r.refresh_token, &r.client_id) else {
        return Ok(reply(
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_grant"}"#,
        ));
    };
    let first = entry.first_behaviour.as_ref().filter(|_| earlier == 0);
    for b in [first, entry.behaviour.as_ref()] {
        if let Some(misbehaved) = misbehave(b).await? {
            return Ok(misbehaved);
        }
    }
    let body = serde_json::json!({
        "sub": entry.sub.clone().unwrap_or_else(|| "legacy-user".into()),
        "details": entry.details,
        "scope": entry.scope.clone().unwrap_or_default(),
    });
    Ok(reply(StatusCode::OK, &body.to_string()))
}
