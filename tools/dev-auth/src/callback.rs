//! `GET /callback`: the demo application's end of the code flow, for `make dev`. The sign-in
//! page sends the browser here with `code`, `state` and `iss`; this page exchanges the code at
//! `{iss}/token` (the issuer the redirect names, only on loopback) with the demo client's id and
//! PKCE verifier, and shows what came back. A developer's tool: never deployed.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The demo client the callback exchanges codes for.
#[derive(Debug, Clone)]
pub struct Demo {
    pub client_id: String,
    /// The PKCE verifier of the authorize URL `make dev` printed.
    pub verifier: String,
    /// This page's own URL: the redirect URI the client registered.
    pub redirect_uri: String,
}

/// The page for a callback request's query.
pub async fn callback(demo: &Demo, query: &str) -> Response<Full<Bytes>> {
    let params: Vec<(String, String)> = form_pairs(query);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Some(error) = get("error") {
        return page(&format!(
            "<h1>The sign-in ended with an error</h1><p><code>{}</code>: {}</p>",
            escape(error),
            escape(get("error_description").unwrap_or(""))
        ));
    }
    let (Some(code), Some(iss)) = (get("code"), get("iss")) else {
        return page("<h1>No code</h1><p>This page is where the sign-in page sends you back.</p>");
    };
    if !iss.starts_with("http://127.0.0.1:") {
        return page("<h1>Refused</h1><p>The issuer is not this machine's Tollgate.</p>");
    }
    let body = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", demo.verifier.as_str()),
        ("client_id", demo.client_id.as_str()),
        ("redirect_uri", demo.redirect_uri.as_str()),
    ];
    match exchange(&format!("{}/token", iss.trim_end_matches('/')), &body).await {
        Ok((status, text)) => page(&format!(
            "<h1>Signed in</h1><p>The code was exchanged at <code>{}/token</code>: {status}.</p>\
             <pre id=tokens>{}</pre><p>Each code works once: reload and it is refused.</p>",
            escape(iss),
            escape(&pretty(&text))
        )),
        Err(e) => page(&format!(
            "<h1>The exchange failed</h1><p>{}</p>",
            escape(&e)
        )),
    }
}

async fn exchange(url: &str, pairs: &[(&str, &str)]) -> Result<(u16, String), String> {
    let body = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let req = Request::post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let resp = client.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| text.to_owned())
}

fn page(inner: &str) -> Response<Full<Bytes>> {
    let html = format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>Demo app</title>\
         <body style=\"font-family:system-ui;max-width:50rem;margin:2rem auto\">{inner}</body></html>"
    );
    let mut resp = Response::new(Full::new(Bytes::from(html)));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp.headers_mut().insert(
        "content-security-policy",
        hyper::header::HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    resp
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A query's pairs, `+` and percent escapes decoded.
fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_decoded_and_the_page_escapes_what_it_shows() {
        let p = form_pairs("code=a%2Bb&state=x+y&iss=http%3A%2F%2F127.0.0.1%3A9000&bad=%zz");
        assert_eq!(p[0], ("code".into(), "a+b".into()));
        assert_eq!(p[1], ("state".into(), "x y".into()));
        assert_eq!(p[2].1, "http://127.0.0.1:9000");
        assert_eq!(p[3].1, "%zz");
        assert_eq!(escape("<b>\"'&"), "&lt;b&gt;&quot;&#39;&amp;");
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
