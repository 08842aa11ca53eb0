//! Reads the three event shapes API Gateway sends an authorizer, decides, and writes the answer
//! each shape expects. Any token problem is the error `Unauthorized`, which API Gateway turns
//! into a 401; a valid token without a route's scopes gets a policy that denies it (403).

use std::fmt;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tollgate_oauth::verify::{Rejection, VerifiedToken};
use tollgate_telemetry::output;
use tracing::info;

use crate::answer::{Answer, Context};
use crate::config::{HttpApiResponse, State};
pub use crate::event::Shape;
use crate::event::{Incoming, read_slice, read_value};
use crate::policy::{RouteArn, allows};

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

/// The bytes of RFC 6750's `b64token`, as a table: a token is checked byte by byte on every call.
const B64TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=');
        b += 1;
    }
    t
};

/// `Bearer <token>` exactly (RFC 6750 §2.1), the token made of b64token characters.
pub fn bearer(credential: &str) -> Result<&str, Rejection> {
    let token = credential
        .strip_prefix("Bearer ")
        .ok_or(Rejection::Missing)?;
    if token.is_empty() || !token.bytes().all(|b| B64TOKEN[usize::from(b)]) {
        return Err(Rejection::Malformed);
    }
    Ok(token)
}

/// The context API Gateway hands the backend: flat string, number and boolean values only.
/// Arrays and objects become their JSON text (`["staff","beta"]`); nulls are left out.
pub fn context(t: &VerifiedToken) -> Map<String, Value> {
    match serde_json::to_value(Context(t)) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The whole decision for an event parsed into a `Value` (tests, fuzzing): the same decision
/// as [`decide_json`], the answer read back into a `Value`.
pub fn decide(state: &State, event: Value) -> Result<Value, Unauthorized> {
    let started = Instant::now();
    let answer = decide_incoming(state, read_value(&event), started)?;
    serde_json::from_str(answer.get()).map_err(|_| Unauthorized)
}

/// The whole decision for an event as the runtime receives it, JSON bytes, to the answer's
/// JSON: one log line and one EMF line, written to stdout together in one write.
pub fn decide_json(state: &State, event: &[u8]) -> Result<Box<RawValue>, Unauthorized> {
    let started = Instant::now();
    decide_incoming(state, read_slice(event), started)
}

/// Decides, then writes the decision's log line and EMF line in one batch: one write to stdout
/// per decision.
fn decide_incoming(
    state: &State,
    incoming: Result<Incoming<'_>, &'static str>,
    started: Instant,
) -> Result<Box<RawValue>, Unauthorized> {
    output::batch(|| decide_and_record(state, incoming, started))
}

fn decide_and_record(
    state: &State,
    incoming: Result<Incoming<'_>, &'static str>,
    started: Instant,
) -> Result<Box<RawValue>, Unauthorized> {
    let incoming = match incoming {
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
            info!(shape, decision, client_id = %d.token.client_id, latency_us, "authorize");
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
    answer: Box<RawValue>,
    token: Arc<VerifiedToken>,
    allowed: bool,
}

fn evaluate(state: &State, incoming: Incoming<'_>) -> Result<Decision, Rejection> {
    let credential = incoming.credential.as_deref().ok_or(Rejection::Missing)?;
    let raw = bearer(credential)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let token = state
        .verified
        .get_or_verify(raw, now, |t| state.verifier.verify_at(t, now))?;
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
        && state.routes.refuses_raw_path(raw)
    {
        return Err(Rejection::RefusedPath);
    }
    let allowed = allows(&state.routes, &token.scope, &arn);
    let context = Context(&token);
    let policy;
    let answer = match (incoming.shape, state.http_api_response) {
        (Shape::HttpApi, HttpApiResponse::Simple) => Answer::Simple { allowed, context },
        _ => {
            policy = state.policies.get(&state.routes, &token.scope, &arn);
            Answer::Iam {
                principal: &token.sub,
                policy: &policy,
                context,
            }
        }
    };
    // Writing plain strings, numbers and maps to JSON cannot fail.
    let answer = serde_json::value::to_raw_value(&answer).map_err(|_| Rejection::Malformed)?;
    Ok(Decision {
        answer,
        token,
        allowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    /// A REST TOKEN event with a token signed by a new ES256 key, and a state that trusts it.
    fn signed_event() -> (State, Vec<u8>) {
        use tollgate_oauth::access_token::{AccessTokenClaims, AccessTokenIssuer};
        use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};
        let alg = SigningAlg::Es256;
        let key = Arc::new(SigningKey::from_pem(&generate_pem(alg).unwrap(), alg, None).unwrap());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let scope = tollgate_oauth::scope::Scopes::parse("orders:read").unwrap();
        let token = AccessTokenIssuer::new("https://i".into(), "api".into(), key.clone())
            .issue(&AccessTokenClaims {
                sub: "u1",
                client_id: "c1",
                sid: None,
                scope: &scope,
                details: &Map::new(),
                auth_time: now,
                now,
                ttl: 600,
            })
            .unwrap()
            .token;
        let jwks = json!({ "keys": [key.public_jwk()] }).to_string();
        let vars = [
            ("ISSUER", "https://i"),
            ("AUDIENCE", "api"),
            ("JWKS", jwks.as_str()),
            ("ROUTE_SCOPES", "GET /orders/*=orders:read"),
        ];
        let state = State::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let event = json!({
            "type": "TOKEN",
            "authorizationToken": format!("Bearer {token}"),
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42",
        });
        (state, event.to_string().into_bytes())
    }

    /// What one decision writes to stdout, through the functions' own log subscriber (JSON).
    fn written(state: &State, event: &[u8]) -> Vec<Value> {
        let logs = tollgate_telemetry::logging::subscriber("info", true);
        let (_, lines) = tracing::subscriber::with_default(logs, || {
            output::capture(|| decide_json(state, event).ok())
        });
        lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_decision_writes_its_log_line_and_its_emf_line_in_one_batch() {
        let (state, event) = signed_event();
        for (event, decision) in [(event.as_slice(), "allow"), (b"{}", "unauthorized")] {
            let logs = tollgate_telemetry::logging::subscriber("info", false);
            let before = output::writes();
            tracing::subscriber::with_default(logs, || decide_json(&state, event).ok());
            assert_eq!(
                output::writes() - before,
                1,
                "{decision}: one write to stdout"
            );
            let lines = written(&state, event);
            assert_eq!(lines.len(), 2, "{decision}: {lines:?}");
            let (log, emf) = (&lines[0]["fields"], &lines[1]);
            assert_eq!(log["message"], "authorize", "{lines:?}");
            assert_eq!(log["decision"], decision, "{lines:?}");
            assert!(log["latency_us"].is_u64() || decision == "unauthorized");
            assert_eq!(emf["Decision"], decision, "{lines:?}");
            assert_eq!(emf["Authorizations"], 1.0, "{lines:?}");
            assert!(emf["_aws"]["CloudWatchMetrics"].is_array(), "{lines:?}");
        }
    }

    #[test]
    fn context_values_are_flat() {
        let claims: Map<String, Value> = serde_json::from_value(json!({
            "sub": "u", "client_id": "c", "scope": "a b", "iss": "i", "exp": 1,
            "email": "e@x", "groups": ["x", "y"], "age": 7, "admin": false, "gone": null, "addr": {"city": "Z"}
        }))
        .unwrap();
        let t = VerifiedToken {
            iss: "i".into(),
            sub: "u".into(),
            client_id: "c".into(),
            scope: tollgate_oauth::scope::Scopes::parse("a b").unwrap(),
            exp: 1,
            nbf: None,
            iat: 0,
            jti: Some("j".into()),
            sid: Some("s".into()),
            details: claims,
        };
        let ctx = Value::Object(context(&t));
        assert_eq!(
            ctx,
            json!({"sub": "u", "client_id": "c", "scope": "a b", "email": "e@x", "groups": "[\"x\",\"y\"]", "age": 7, "admin": false, "addr": "{\"city\":\"Z\"}"})
        );
    }
}
