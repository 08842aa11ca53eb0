//! The demo backend behind Tollgate's authorizer. It reads what the authorizer put in the
//! request context (REST APIs: `requestContext.authorizer`; HTTP APIs:
//! `requestContext.authorizer.lambda`) and answers who the caller is. Copy this to read the
//! caller in your own functions: the token is never parsed here, API Gateway already did that.

use std::collections::HashMap;

use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json};

/// The caller, as the authorizer described them.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub sub: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The user details the authorizer passed on (arrays arrive as JSON text).
    pub details: Map<String, Value>,
}

/// The authorizer's context, whichever API type carried it.
pub fn authorizer_context(req: &Request) -> Option<HashMap<String, Value>> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => Some(ctx.authorizer.fields.clone()),
        RequestContext::ApiGatewayV2(ctx) => ctx.authorizer.as_ref().map(|a| a.fields.clone()),
        _ => None,
    }
}

pub fn caller(ctx: &HashMap<String, Value>) -> Option<Caller> {
    let text = |k: &str| ctx.get(k).and_then(Value::as_str).map(str::to_owned);
    let sub = text("sub")?;
    let client_id = text("client_id")?;
    let scopes = text("scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let skip = [
        "sub",
        "client_id",
        "scope",
        "principalId",
        "integrationLatency",
    ];
    let details = ctx
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(Caller {
        sub,
        client_id,
        scopes,
        details,
    })
}

pub async fn handle(req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let Some(c) = authorizer_context(&req).as_ref().and_then(caller) else {
        return Ok(json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "unauthorized", "error_description": "no authorizer context: put Tollgate's authorizer in front of this route"}),
        ));
    };
    Ok(json_response(
        StatusCode::OK,
        json!({ "sub": c.sub, "client_id": c.client_id, "scopes": c.scopes, "details": c.details }),
    ))
}

fn json_response(status: StatusCode, body: Value) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    resp
}
