//! What the code-flow tests share: a client of the flow with a callback that listens, PKCE
//! pairs, the authorize URL, a user agent that signs in over plain HTTP (the browser tests use
//! Chromium instead), and the code exchange.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tollgate_oauth::secret::random_token;
use tollgate_service::client::GrantType;

use crate::{Answer, ClientSpec, dynamo, form, http, send};

/// A PKCE verifier and its `S256` challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = random_token(32);
        let d = digest::digest(&digest::SHA256, verifier.as_bytes());
        Self {
            challenge: URL_SAFE_NO_PAD.encode(d.as_ref()),
            verifier,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// A redirect URI that answers: a listener on 127.0.0.1 that serves a small page to every GET
/// and keeps the queries it received (what the browser brought back).
pub struct Callback {
    pub uri: String,
    pub queries: Arc<Mutex<Vec<String>>>,
}

impl Callback {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let queries = Arc::new(Mutex::new(Vec::new()));
        let seen = queries.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]);
                    let target = head.split(' ').nth(1).unwrap_or("/").to_owned();
                    if let Some((_, q)) = target.split_once('?') {
                        seen.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(q.to_owned());
                    }
                    let body =
                        "<!doctype html><title>callback</title><p id=done>back at the app</p>";
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(resp.as_bytes()).await;
                });
            }
        });
        Self {
            uri: format!("http://127.0.0.1:{port}/callback"),
            queries,
        }
    }
}

/// Where a client of these tests returns after `/end_session`: its callback's origin,
/// `/signed-out`.
pub fn signed_out_uri(redirect_uri: &str) -> String {
    redirect_uri.replace("/callback", "/signed-out")
}

/// A client of the code flow in the served function's table, registered for `redirect_uris`
/// (and, after a sign-out, for each one's [`signed_out_uri`]).
pub async fn code_client(
    clients_table: &str,
    public: bool,
    name: &str,
    redirect_uris: &[&str],
) -> (String, String) {
    let spec = ClientSpec {
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: "openid profile orders:read",
        public,
        redirect_uris: redirect_uris.iter().map(|u| (*u).to_owned()).collect(),
        post_logout_redirect_uris: redirect_uris.iter().map(|u| signed_out_uri(u)).collect(),
        ..ClientSpec::default()
    };
    let (id, secret) = spec.create(&dynamo().await, clients_table).await;
    if name != "test" {
        rename(clients_table, &id, name).await;
    }
    (id, secret)
}

/// Gives a client the display name the sign-in page shows.
async fn rename(clients_table: &str, id: &str, name: &str) {
    dynamo()
        .await
        .update_item()
        .table_name(clients_table)
        .key(
            "client_id",
            aws_sdk_dynamodb::types::AttributeValue::S(id.into()),
        )
        .update_expression("SET #n = :n")
        .expression_attribute_names("#n", "name")
        .expression_attribute_values(
            ":n",
            aws_sdk_dynamodb::types::AttributeValue::S(name.into()),
        )
        .send()
        .await
        .expect("rename client");
}

/// The authorize URL (under the function's `base`) of a request with these parameters.
pub fn authorize_url(base: &str, params: &[(&str, &str)]) -> String {
    format!("{base}/authorize?{}", form(params))
}

/// The usual parameters of a good request.
pub fn request_params<'a>(
    client_id: &'a str,
    redirect_uri: &'a str,
    pkce: &'a Pkce,
    state: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
        ("scope", "openid profile"),
        ("state", state),
    ]
}

/// An answer as a browser sees it: status, headers, and the body as text.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The hidden `request` field of a sign-in page.
    pub fn request_field(&self) -> Option<String> {
        let start = self.text.find("name=\"request\" value=\"")? + 22;
        let end = self.text[start..].find('"')? + start;
        Some(self.text[start..end].to_owned())
    }

    /// The `name=value` of the `Set-Cookie` header.
    pub fn cookie(&self) -> Option<String> {
        let set = self.header("set-cookie")?;
        Some(set.split(';').next()?.to_owned())
    }

    /// The parameters of the `Location` a redirect points to, decoded.
    pub fn location_params(&self) -> HashMap<String, String> {
        let location = self.header("location").unwrap_or_default();
        query_params(location.split_once('?').map_or("", |(_, q)| q))
    }
}

/// A query string's parameters, decoded (the last of a repeated name wins).
pub fn query_params(query: &str) -> HashMap<String, String> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A client that follows no redirect, as a test of where one would go needs.
fn agent() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client")
}

pub async fn get_page(url: &str) -> Page {
    page(agent().get(url)).await
}

/// POSTs the sign-in form with this cookie (`name=value`, or none).
pub async fn post_sign_in(base: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Page {
    let mut req = agent()
        .post(format!("{base}/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(fields));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    page(req).await
}

async fn page(req: reqwest::RequestBuilder) -> Page {
    let resp = req.send().await.expect("request");
    Page {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: resp.text().await.expect("body"),
    }
}

/// Signs `username` in over plain HTTP for the request `params`: the form's redirect.
pub async fn sign_in_http(
    base: &str,
    params: &[(&str, &str)],
    username: &str,
    password: &str,
) -> Page {
    let shown = get_page(&authorize_url(base, params)).await;
    assert_eq!(shown.status, 200, "the sign-in page: {shown:?}");
    let field = shown.request_field().expect("a sign-in form");
    let cookie = shown.cookie().expect("the sign-in cookie");
    post_sign_in(
        base,
        Some(&cookie),
        &[
            ("request", &field),
            ("username", username),
            ("password", password),
        ],
    )
    .await
}

/// Signs `username` in at a whole authorize URL (as a client library built it): the
/// parameters the redirect brought back.
pub async fn sign_in_url(url: &str, username: &str, password: &str) -> HashMap<String, String> {
    let (endpoint, _) = url.split_once('?').expect("a query");
    let base = endpoint
        .strip_suffix("/authorize")
        .expect("an authorize URL");
    let shown = get_page(url).await;
    assert_eq!(shown.status, 200, "the sign-in page: {shown:?}");
    let field = shown.request_field().expect("a sign-in form");
    let cookie = shown.cookie().expect("the sign-in cookie");
    let fields = [
        ("request", field.as_str()),
        ("username", username),
        ("password", password),
    ];
    let done = post_sign_in(base, Some(&cookie), &fields).await;
    assert_eq!(done.status, 303, "signed in: {done:?}");
    done.location_params()
}

/// The code a sign-in's redirect carries.
pub async fn code_for(base: &str, params: &[(&str, &str)], username: &str, pw: &str) -> String {
    let done = sign_in_http(base, params, username, pw).await;
    assert_eq!(done.status, 303, "signed in: {done:?}");
    done.location_params()
        .remove("code")
        .expect("a code in the redirect")
}

/// Exchanges a code at `token_url` (a public client sends its id alone).
pub async fn exchange(
    token_url: &str,
    client: (&str, &str),
    code: &str,
    verifier: &str,
    redirect_uri: Option<&str>,
) -> Answer {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("client_id", client.0),
    ];
    if !client.1.is_empty() {
        pairs.push(("client_secret", client.1));
    }
    if let Some(r) = redirect_uri {
        pairs.push(("redirect_uri", r));
    }
    send(
        http()
            .post(token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&pairs)),
    )
    .await
}
