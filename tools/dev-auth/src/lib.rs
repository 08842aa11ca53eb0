//! A development stand-in for the organisation's auth endpoint, implementing DESIGN.md's
//! contract from a users file. Never deployed. Users may also carry a `behaviour` that makes the
//! endpoint misbehave (slow, an error status, a body that is not JSON, a dropped connection), so
//! the local stack and the tests can show how Tollgate copes with a failing auth server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::net::TcpListener;

/// How a user's check misbehaves, for showing and testing failure handling.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Behaviour {
    /// Answer normally after this many milliseconds.
    DelayMs(u64),
    /// Answer with this status and an empty JSON object.
    Status(u16),
    /// Answer 200 with a body that is not JSON.
    NotJson,
    /// Close the connection without answering.
    Drop,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub username: String,
    pub password: String,
    /// Returned on success; `sub` defaults to the username.
    #[serde(default)]
    pub claims: Map<String, Value>,
    #[serde(default)]
    pub behaviour: Option<Behaviour>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub users: Vec<User>,
    /// A shared credential callers must send, as (header name, value).
    pub credential: Option<(String, String)>,
    /// How many password checks (POSTs) arrived; tests read it to prove a check never happened.
    pub calls: Arc<AtomicU64>,
}

pub fn load_users(path: &str) -> anyhow::Result<Vec<User>> {
    let raw =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("failed to read {path}: {e}"))?;
    let file: UsersFile = serde_json::from_str(&raw)
        .map_err(|e| anyhow::anyhow!("{path} is not a valid users file: {e}"))?;
    Ok(file.users)
}

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, settings: Arc<Settings>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let settings = settings.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let settings = settings.clone();
                async move { answer(&settings, req).await }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[derive(Debug)]
struct Dropped;
impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}
impl std::error::Error for Dropped {}

#[derive(Deserialize)]
struct Check {
    username: String,
    password: String,
    #[serde(default)]
    #[allow(dead_code)]
    client_id: Option<String>,
}

async fn answer(
    settings: &Settings,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    if req.method() != hyper::Method::POST {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":"use POST"}"#,
        ));
    }
    settings.calls.fetch_add(1, Ordering::SeqCst);
    if let Some((name, value)) = &settings.credential {
        let sent = req
            .headers()
            .get(name.as_str())
            .and_then(|v| v.to_str().ok());
        if sent != Some(value.as_str()) {
            // A misconfigured caller is not a wrong password: answer an error, not 401.
            return Ok(reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"error":"missing or wrong shared credential"}"#,
            ));
        }
    }
    match read_check(req).await {
        Ok(check) => verdict(settings, &check).await,
        Err(refusal) => Ok(refusal),
    }
}

/// The JSON body `{username, password, client_id}`, or the 400 that refuses it.
async fn read_check(req: Request<Incoming>) -> Result<Check, Response<Full<Bytes>>> {
    let Ok(body) = Limited::new(req.into_body(), 16 * 1024).collect().await else {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            r#"{"error":"unreadable body"}"#,
        ));
    };
    serde_json::from_slice::<Check>(&body.to_bytes()).map_err(|_| {
        reply(
            StatusCode::BAD_REQUEST,
            r#"{"error":"expected {username, password, client_id}"}"#,
        )
    })
}

/// The answer for `check`: the user's scripted behaviour if it has one, else its claims for the
/// right password and 401 otherwise.
async fn verdict(settings: &Settings, check: &Check) -> Result<Response<Full<Bytes>>, Dropped> {
    let user = settings.users.iter().find(|u| u.username == check.username);
    if let Some(b) = user.and_then(|u| u.behaviour.as_ref()) {
        match b {
            Behaviour::DelayMs(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
            Behaviour::Status(code) => {
                let status =
                    StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Ok(reply(status, "{}"));
            }
            Behaviour::NotJson => return Ok(reply(StatusCode::OK, "<html>welcome</html>")),
            Behaviour::Drop => return Err(Dropped),
        }
    }
    match user {
        Some(u) if u.password == check.password => {
            let mut claims = u.claims.clone();
            claims
                .entry("sub")
                .or_insert_with(|| Value::String(u.username.clone()));
            Ok(reply(StatusCode::OK, &Value::Object(claims).to_string()))
        }
        _ => Ok(reply(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_credentials"}"#,
        )),
    }
}

fn reply(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_owned())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}
