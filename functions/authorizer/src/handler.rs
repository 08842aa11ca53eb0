//! Reads the three event shapes API Gateway sends an authorizer, decides, and writes the answer
//! each shape expects. Any token problem is the error `Unauthorized`, which API Gateway turns
//! into a 401; a valid token without a route's scopes gets a policy that denies it (403).

use std::fmt;
use std::time::Instant;

use crate::route::{PathCase, refusal};
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use serde_json::{Map, Value, json};
use tollgate_common::access_token::{RESERVED_CLAIMS, is_gateway_context_key};
use tollgate_common::verify::{Rejection, VerifiedToken};
use tracing::info;

use crate::config::{HttpApiResponse, State};
use crate::policy::{RouteArn, allows, policy_document};

/// The one error an authorizer returns for a bad token. API Gateway matches the message
/// exactly, so it must stay `Unauthorized`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthorized;

impl fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unauthorized")
    }
}

impl std::error::Error for Unauthorized {}

/// Which kind of event arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    RestToken,
    RestRequest,
    HttpApi,
}

impl Shape {
    fn as_str(self) -> &'static str {
        match self {
            Self::RestToken => "rest_token",
            Self::RestRequest => "rest_request",
            Self::HttpApi => "http_api_v2",
        }
    }
}

/// What the handler needs from any event: the credential as sent and the route called.
#[derive(Debug)]
struct Incoming {
    shape: Shape,
    credential: Option<String>,
    arn: Option<String>,
    /// The request path as the backend will see it (`rawPath`, or a REST event's `path`).
    raw_path: Option<String>,
}

/// The one credential an event carries. `Authorization` under several names (`authorization`
/// and `Authorization`), several multi-value entries, or identity sources and headers that
/// disagree are refused: API Gateway caches the answer under its own identity source, so the
/// value decided on must be the only one there is.
fn single_credential(event: &Value) -> Result<Option<String>, &'static str> {
    let mut seen: Vec<&Value> = Vec::new();
    for field in ["headers", "multiValueHeaders"] {
        let Some(map) = event.get(field).and_then(Value::as_object) else {
            continue;
        };
        let mut names = 0;
        for (name, v) in map {
            if !name.eq_ignore_ascii_case("authorization") {
                continue;
            }
            names += 1;
            match v {
                Value::Array(values) if values.len() > 1 => {
                    return Err("several Authorization values");
                }
                Value::Array(values) => seen.extend(values),
                other => seen.push(other),
            }
        }
        if names > 1 {
            return Err("Authorization sent under several names");
        }
    }
    if let Some(sources) = event.get("identitySource").and_then(Value::as_array) {
        seen.extend(sources);
    }
    let mut values = seen.into_iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let first = first.as_str().ok_or("Authorization is not text")?;
    if values.any(|v| v.as_str() != Some(first)) {
        return Err("Authorization values disagree");
    }
    Ok(Some(first.to_owned()))
}

fn read_event(event: Value) -> Result<Incoming, &'static str> {
    let is_v2 = event.get("version").and_then(Value::as_str) == Some("2.0");
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if is_v2 {
        let credential = single_credential(&event)?;
        let e: ApiGatewayV2CustomAuthorizerV2Request =
            serde_json::from_value(event).map_err(|_| "unreadable v2 event")?;
        return Ok(Incoming {
            shape: Shape::HttpApi,
            credential,
            arn: e.route_arn,
            raw_path: e.raw_path,
        });
    }
    match kind.as_str() {
        "TOKEN" => {
            let e: ApiGatewayCustomAuthorizerRequest =
                serde_json::from_value(event).map_err(|_| "unreadable TOKEN event")?;
            Ok(Incoming {
                shape: Shape::RestToken,
                credential: e.authorization_token,
                arn: e.method_arn,
                raw_path: None,
            })
        }
        "REQUEST" => {
            let credential = single_credential(&event)?;
            let e: ApiGatewayCustomAuthorizerRequestTypeRequest =
                serde_json::from_value(event).map_err(|_| "unreadable REQUEST event")?;
            Ok(Incoming {
                shape: Shape::RestRequest,
                credential,
                arn: e.method_arn,
                raw_path: e.path,
            })
        }
        _ => Err("not an API Gateway authorizer event"),
    }
}

/// `Bearer <token>` exactly (RFC 6750 §2.1), the token made of b64token characters.
pub fn bearer(credential: &str) -> Result<&str, Rejection> {
    let token = credential
        .strip_prefix("Bearer ")
        .ok_or(Rejection::Missing)?;
    let b64token = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
    if token.is_empty() || !token.bytes().all(b64token) {
        return Err(Rejection::Malformed);
    }
    Ok(token)
}

/// The context API Gateway hands the backend: flat string, number and boolean values only.
/// Arrays and objects become their JSON text (`["staff","beta"]`); nulls are left out.
pub fn context(t: &VerifiedToken) -> Map<String, Value> {
    let mut ctx = Map::new();
    ctx.insert("sub".into(), t.sub.clone().into());
    ctx.insert("client_id".into(), t.client_id.clone().into());
    ctx.insert("scope".into(), t.scope.to_string().into());
    for (k, v) in &t.claims {
        if RESERVED_CLAIMS.contains(&k.as_str()) || is_gateway_context_key(k) {
            continue;
        }
        let flat = match v {
            Value::Null => continue,
            Value::String(_) | Value::Number(_) | Value::Bool(_) => v.clone(),
            Value::Array(_) | Value::Object(_) => Value::String(v.to_string()),
        };
        ctx.insert(k.clone(), flat);
    }
    ctx
}

/// The whole decision for one event: one log line and one EMF line.
pub fn decide(state: &State, event: Value) -> Result<Value, Unauthorized> {
    let started = Instant::now();
    let incoming = match read_event(event) {
        Ok(i) => i,
        Err(why) => {
            info!(decision = "unauthorized", reason = why, "authorize");
            state
                .metrics
                .authorization("unauthorized", why, started.elapsed());
            return Err(Unauthorized);
        }
    };
    let shape = incoming.shape.as_str();
    let outcome = evaluate(state, incoming);
    let elapsed = started.elapsed();
    let latency_us = elapsed.as_micros() as u64;
    match outcome {
        Ok(d) => {
            let (decision, reason) = if d.allowed {
                ("allow", "ok")
            } else {
                ("deny", "insufficient scope")
            };
            info!(shape, decision, client_id = %d.client_id, latency_us, "authorize");
            state.metrics.authorization(decision, reason, elapsed);
            Ok(d.answer)
        }
        Err(reason) => {
            info!(shape, decision = "unauthorized", reason = %reason, latency_us, "authorize");
            state
                .metrics
                .authorization("unauthorized", reason.as_str(), elapsed);
            Err(Unauthorized)
        }
    }
}

struct Decision {
    answer: Value,
    client_id: String,
    allowed: bool,
}

fn evaluate(state: &State, incoming: Incoming) -> Result<Decision, Rejection> {
    let credential = incoming.credential.as_deref().ok_or(Rejection::Missing)?;
    let token = state.verifier.verify(bearer(credential)?)?;
    // Without a parsable route ARN nothing can be scoped: refuse rather than guess.
    let arn = incoming
        .arn
        .as_deref()
        .and_then(RouteArn::parse)
        .ok_or(Rejection::Malformed)?;
    if let Some(apis) = &state.allowed_apis
        && !apis.iter().any(|a| a.covers(&arn.prefix))
    {
        return Err(Rejection::ApiNotAllowed);
    }
    // The path the backend sees must not be a spelling the rules refuse either (a trailing `/`
    // aside: an HTTP API's rawPath for a named stage's root may end in one; the ARN decides it).
    if let Some(raw) = &incoming.raw_path
        && refusal(raw.trim_end_matches('/'), PathCase::Exact).is_some()
    {
        return Err(Rejection::RefusedPath);
    }
    let allowed = allows(&state.routes, &token.scope, &arn);
    let ctx = context(&token);
    let answer = match (incoming.shape, state.http_api_response) {
        (Shape::HttpApi, HttpApiResponse::Simple) => {
            json!({ "isAuthorized": allowed, "context": ctx })
        }
        _ => json!({
            "principalId": token.sub,
            "policyDocument": policy_document(&state.routes, &token.scope, &arn),
            "context": ctx,
        }),
    };
    Ok(Decision {
        answer,
        client_id: token.client_id,
        allowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_is_exact() {
        assert_eq!(bearer("Bearer abc.def-_"), Ok("abc.def-_"));
        for bad in [
            "abc",
            "bearer abc",
            "BEARER abc",
            "Bearer  abc",
            "Bearer ",
            "Bearer a b",
            "Bearer é",
            "Basic abc",
        ] {
            assert!(bearer(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_event_carries_one_credential_or_is_refused() {
        let one = json!({"headers": {"Authorization": "Bearer a"},
            "multiValueHeaders": {"Authorization": ["Bearer a"]}, "identitySource": ["Bearer a"]});
        assert_eq!(single_credential(&one), Ok(Some("Bearer a".into())));
        assert_eq!(single_credential(&json!({"headers": {}})), Ok(None));
        for bad in [
            json!({"headers": {"Authorization": "Bearer a", "authorization": "Bearer a"}}),
            json!({"multiValueHeaders": {"Authorization": ["Bearer a", "Bearer b"]}}),
            json!({"headers": {"Authorization": "Bearer a"}, "multiValueHeaders": {"Authorization": ["Bearer b"]}}),
            json!({"identitySource": ["Bearer a", "Bearer b"]}),
            json!({"headers": {"authorization": "Bearer a"}, "identitySource": ["Bearer b"]}),
            json!({"headers": {"authorization": 5}}),
        ] {
            assert!(single_credential(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_events_are_unreadable() {
        assert!(read_event(json!({})).is_err());
        assert!(read_event(json!({"type": "TOKEN", "authorizationToken": 5})).is_err());
        assert!(read_event(json!([1, 2])).is_err());
    }

    #[test]
    fn context_values_are_flat() {
        let claims: Map<String, Value> = serde_json::from_value(json!({
            "sub": "u", "client_id": "c", "scope": "a b", "iss": "i", "exp": 1,
            "email": "e@x", "groups": ["x", "y"], "age": 7, "admin": false, "gone": null, "addr": {"city": "Z"}
        }))
        .unwrap();
        let t = VerifiedToken {
            sub: "u".into(),
            client_id: "c".into(),
            scope: tollgate_common::scope::Scopes::parse("a b").unwrap(),
            exp: 1,
            claims,
        };
        let ctx = Value::Object(context(&t));
        assert_eq!(
            ctx,
            json!({"sub": "u", "client_id": "c", "scope": "a b", "email": "e@x", "groups": "[\"x\",\"y\"]", "age": 7, "admin": false, "addr": "{\"city\":\"Z\"}"})
        );
    }
}
