//! The control API: JSON over HTTP on its own port (docs/testing.md has the table).
//!
//! | request | does |
//! |---|---|
//! | `GET /health` | `ok` |
//! | `GET /stats` | what the proxy has done (`Stats`) |
//! | `POST /rules` `RuleSpec` | adds a rule; `201` with its `RuleState` (`id`, `hits`) |
//! | `GET /rules`, `GET /rules/{id}` | the rules with their hits |
//! | `DELETE /rules/{id}`, `DELETE /rules` | removes one rule, or all |
//! | `POST /stall` `{"ms": N}` | stalls everything for N ms from now (a rule can stall too) |
//! | `GET /stall`, `DELETE /stall` | the stall's state; ends it now |
//! | `POST /record` `RecordSettings`, `GET /record` | recording on or off, capacity asked or not |
//! | `GET /records?since=SEQ&contains=TEXT` | the records after SEQ whose request has TEXT |
//! | `DELETE /records` | forgets the records |

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::Serialize;
use tokio::net::TcpListener;

use crate::Proxy;
use crate::record::RecordSettings;
use crate::rules::RuleSpec;

type Answer = Response<Full<Bytes>>;

pub(crate) async fn serve(listener: TcpListener, proxy: Arc<Proxy>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let proxy = proxy.clone();
                async move { Ok::<_, std::convert::Infallible>(route(&proxy, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StallFor {
    ms: u64,
}

async fn route(proxy: &Proxy, req: Request<Incoming>) -> Answer {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let body = match Limited::new(req.into_body(), 1 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "request body unreadable or over 1 MiB",
            );
        }
    };
    match (&method, path.as_str()) {
        (&Method::GET, "/health") => text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/stats") => json(StatusCode::OK, &proxy.stats()),
        (_, "/rules") => rules(proxy, &method, &body),
        (_, p) if p.starts_with("/rules/") => rule(proxy, &method, &p["/rules/".len()..]),
        (&Method::GET, "/stall") => json(StatusCode::OK, &proxy.stall.state()),
        (&Method::POST, "/stall") => match parse::<StallFor>(&body) {
            Ok(s) => {
                proxy.stall.start(s.ms);
                json(StatusCode::OK, &proxy.stall.state())
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        (&Method::DELETE, "/stall") => {
            proxy.stall.end();
            json(StatusCode::OK, &proxy.stall.state())
        }
        (&Method::GET, "/record") => json(StatusCode::OK, &proxy.recorder.settings()),
        (&Method::POST, "/record") => match parse::<RecordSettings>(&body) {
            Ok(s) => {
                proxy.recorder.set(s);
                json(StatusCode::OK, &s)
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        (&Method::GET, "/records") => records(proxy, &query),
        (&Method::DELETE, "/records") => {
            proxy.recorder.clear();
            empty()
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "no such control request: see GET /health, /stats, /rules, /stall, /record, /records",
        ),
    }
}

fn rules(proxy: &Proxy, method: &Method, body: &[u8]) -> Answer {
    match *method {
        Method::GET => json(StatusCode::OK, &proxy.rules.all()),
        Method::POST => match parse::<RuleSpec>(body).and_then(|spec| proxy.rules.add(spec)) {
            Ok(rule) => json(StatusCode::CREATED, &rule),
            Err(why) => error(StatusCode::BAD_REQUEST, &why),
        },
        Method::DELETE => {
            proxy.rules.clear();
            empty()
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "GET, POST or DELETE"),
    }
}

fn rule(proxy: &Proxy, method: &Method, id: &str) -> Answer {
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::NOT_FOUND, "rules are named by their number");
    };
    match *method {
        Method::GET => match proxy.rules.get(id) {
            Some(rule) => json(StatusCode::OK, &rule),
            None => error(StatusCode::NOT_FOUND, "no such rule"),
        },
        Method::DELETE if proxy.rules.remove(id) => empty(),
        Method::DELETE => error(StatusCode::NOT_FOUND, "no such rule"),
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "GET or DELETE"),
    }
}

fn records(proxy: &Proxy, query: &str) -> Answer {
    let mut since = 0;
    let mut contains = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "since" => match v.parse() {
                Ok(n) => since = n,
                Err(_) => return error(StatusCode::BAD_REQUEST, "since is a record number"),
            },
            "contains" => contains = (!v.is_empty()).then(|| v.into_owned()),
            _ => return error(StatusCode::BAD_REQUEST, "records take since and contains"),
        }
    }
    json(
        StatusCode::OK,
        &proxy.recorder.query(since, contains.as_deref()),
    )
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

fn json(status: StatusCode, value: &impl Serialize) -> Answer {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn error(status: StatusCode, why: &str) -> Answer {
    json(status, &serde_json::json!({ "error": why }))
}

fn text(status: StatusCode, body: &'static str) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r
}

fn empty() -> Answer {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}
