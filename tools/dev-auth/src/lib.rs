//! A development stand-in for the organisation's auth endpoint, implementing DESIGN.md's
//! contract from a users file. Never deployed. Users may also carry a `behaviour` that makes the
//! endpoint misbehave (slow, an error status, a body that is not JSON, a dropped connection), so
//! the local stack and the tests can show how Tollgate copes with a failing auth server.
//!
//! `POST /status` is the user-status call (docs/auth-endpoint.md): `{sub, client_id}` answered
//! with the user's claims, `404` (gone), `403` (disabled) or `503` (the user's `status` is
//! `unavailable`). With `allow_changes`, `PUT /users/{username}` adds or replaces a user, so
//! tests can change a user's details or status while their session lives. With legacy tokens,
//! `/legacy/refresh` stands in for the legacy refresh endpoint (`legacy`).

pub mod callback;
pub mod legacy;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Returned on success, as they are: a user without `sub` gets none, and Tollgate names it.
    #[serde(default)]
    pub claims: Map<String, Value>,
    #[serde(default)]
    pub behaviour: Option<Behaviour>,
    /// What `POST /status` says about the user (the password check ignores it).
    #[serde(default)]
    pub status: UserState,
}

/// A user's state as the user-status call reports it.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    #[default]
    Active,
    Disabled,
    Gone,
    /// The status call fails with `503` for this user.
    Unavailable,
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
    /// Whether `PUT /users/{username}` may add or replace users (tests only).
    pub allow_changes: bool,
    /// Users added or replaced through `PUT /users/{username}`, found before the file's.
    pub changed: Arc<Mutex<HashMap<String, User>>>,
    /// The demo client whose codes `GET /callback` exchanges (`make dev`).
    pub demo: Option<callback::Demo>,
    /// The stand-in legacy refresh endpoint (`/legacy/...`), when it has tokens.
    pub legacy: Option<Arc<legacy::Legacy>>,
}

impl Settings {
    /// The user with `username`: a changed one first, else the file's.
    fn user(&self, username: &str) -> Option<User> {
        let changed = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        changed
            .get(username)
            .cloned()
            .or_else(|| self.users.iter().find(|u| u.username == username).cloned())
    }

    /// The user whose `sub` is `sub` (for a user whose claims name none, the username in lower
    /// case, as Tollgate names it).
    fn user_by_sub(&self, sub: &str) -> Option<User> {
        let changed = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        let file = self
            .users
            .iter()
            .filter(|u| !changed.contains_key(&u.username));
        // A user with no `sub` is named by Tollgate with its canonical username; like most
        // directories, this one matches usernames whatever their case.
        let named = |u: &&User| match u.claims.get("sub") {
            None => u.username.to_lowercase() == sub,
            Some(_) => sub_of(u) == sub,
        };
        changed.values().chain(file).find(named).cloned()
    }
}

fn sub_of(u: &User) -> String {
    match u.claims.get("sub") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => u.username.clone(),
    }
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
pub struct Dropped;
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
    let path = req.uri().path().to_owned();
    if let Some(username) = path.strip_prefix("/users/") {
        return Ok(change_user(settings, username.to_owned(), req).await);
    }
    if let (Some(legacy), true) = (&settings.legacy, path.starts_with("/legacy/")) {
        return legacy::answer(legacy, &path, req).await;
    }
    if let (Some(demo), "/callback") = (&settings.demo, path.as_str()) {
        let query = req.uri().query().unwrap_or_default().to_owned();
        return Ok(callback::callback(demo, &query).await);
    }
    if req.method() != hyper::Method::POST {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":"use POST"}"#,
        ));
    }
    if path == "/status" {
        if let Some(refusal) = credential_refusal(settings, &req) {
            return Ok(refusal);
        }
        return status(settings, req).await;
    }
    settings.calls.fetch_add(1, Ordering::SeqCst);
    if let Some(refusal) = credential_refusal(settings, &req) {
        return Ok(refusal);
    }
    match read_check(req).await {
        Ok(check) => verdict(settings, &check).await,
        Err(refusal) => Ok(refusal),
    }
}

/// The error for a caller without the shared credential, when one is configured. A
/// misconfigured caller is not a wrong password: it gets an error, not 401.
fn credential_refusal(
    settings: &Settings,
    req: &Request<Incoming>,
) -> Option<Response<Full<Bytes>>> {
    let (name, value) = settings.credential.as_ref()?;
    let sent = req
        .headers()
        .get(name.as_str())
        .and_then(|v| v.to_str().ok());
    (sent != Some(value.as_str())).then(|| {
        reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"missing or wrong shared credential"}"#,
        )
    })
}

#[derive(Deserialize)]
struct StatusQuery {
    sub: String,
    #[serde(default)]
    #[allow(dead_code)]
    client_id: Option<String>,
}

/// `POST /status {sub, client_id}`: the user's claims, or what became of them. A user's
/// `behaviour` (slow, an error status, nonsense, a hang-up) applies here as to the password check.
async fn status(
    settings: &Settings,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let Ok(body) = Limited::new(req.into_body(), 16 * 1024).collect().await else {
        return Ok(reply(
            StatusCode::BAD_REQUEST,
            r#"{"error":"unreadable body"}"#,
        ));
    };
    let Ok(q) = serde_json::from_slice::<StatusQuery>(&body.to_bytes()) else {
        return Ok(reply(
            StatusCode::BAD_REQUEST,
            r#"{"error":"expected {sub, client_id}"}"#,
        ));
    };
    let Some(user) = settings.user_by_sub(&q.sub) else {
        return Ok(reply(StatusCode::NOT_FOUND, r#"{"error":"no such user"}"#));
    };
    if let Some(misbehaved) = misbehave(user.behaviour.as_ref()).await? {
        return Ok(misbehaved);
    }
    Ok(match user.status {
        UserState::Active => {
            let mut claims = user.claims.clone();
            claims.insert("sub".into(), Value::String(q.sub));
            reply(StatusCode::OK, &Value::Object(claims).to_string())
        }
        UserState::Disabled => reply(StatusCode::FORBIDDEN, r#"{"error":"user disabled"}"#),
        UserState::Gone => reply(StatusCode::NOT_FOUND, r#"{"error":"no such user"}"#),
        UserState::Unavailable => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":"directory unavailable"}"#,
        ),
    })
}

/// A scripted misbehaviour's answer, if it is not just a delay (which it sleeps through).
pub(crate) async fn misbehave(
    b: Option<&Behaviour>,
) -> Result<Option<Response<Full<Bytes>>>, Dropped> {
    match b {
        None => Ok(None),
        Some(Behaviour::DelayMs(ms)) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            Ok(None)
        }
        Some(Behaviour::Status(code)) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Ok(Some(reply(status, "{}")))
        }
        Some(Behaviour::NotJson) => Ok(Some(reply(StatusCode::OK, "<html>welcome</html>"))),
        Some(Behaviour::Drop) => Err(Dropped),
    }
}

/// `PUT /users/{username}` with a user record (the users file's shape, without `username`):
/// adds or replaces that user. Refused unless changes are allowed.
async fn change_user(
    settings: &Settings,
    username: String,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if !settings.allow_changes {
        return reply(
            StatusCode::NOT_FOUND,
            r#"{"error":"changes are not enabled"}"#,
        );
    }
    if req.method() != hyper::Method::PUT {
        return reply(StatusCode::METHOD_NOT_ALLOWED, r#"{"error":"use PUT"}"#);
    }
    if let Some(refusal) = credential_refusal(settings, &req) {
        return refusal;
    }
    let Ok(body) = Limited::new(req.into_body(), 16 * 1024).collect().await else {
        return reply(StatusCode::BAD_REQUEST, r#"{"error":"unreadable body"}"#);
    };
    let mut record: Map<String, Value> = match serde_json::from_slice(&body.to_bytes()) {
        Ok(Value::Object(m)) => m,
        _ => {
            return reply(
                StatusCode::BAD_REQUEST,
                r#"{"error":"expected a JSON object"}"#,
            );
        }
    };
    record.insert("username".into(), Value::String(username.clone()));
    match serde_json::from_value::<User>(Value::Object(record)) {
        Ok(user) => {
            let mut changed = settings.changed.lock().unwrap_or_else(|e| e.into_inner());
            changed.insert(username, user);
            reply(StatusCode::OK, "{}")
        }
        Err(e) => reply(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({ "error": e.to_string() }).to_string(),
        ),
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
    let user = settings.user(&check.username);
    if let Some(misbehaved) = misbehave(user.as_ref().and_then(|u| u.behaviour.as_ref())).await? {
        return Ok(misbehaved);
    }
    match user {
        Some(u) if u.password == check.password => Ok(reply(
            StatusCode::OK,
            &Value::Object(u.claims.clone()).to_string(),
        )),
        _ => Ok(reply(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_credentials"}"#,
        )),
    }
}

pub(crate) fn reply(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_owned())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}
