//! Reads the three event shapes API Gateway sends an authorizer, decides, and writes the answer
//! each shape expects. Any token problem, a revoked token included, is the error
//! `Unauthorized`, which API Gateway turns into a 401; a valid token without a route's scopes
//! gets a policy that denies it (403). A valid token when no revocation state may decide is a
//! failed invocation (API Gateway's 500, which the template answers as a 503).

use std::fmt;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tollgate_oauth::verify::{Rejection, VerifiedToken};
use tollgate_telemetry::metrics::DecisionRecord;
use tollgate_telemetry::output;

use crate::answer::{Answer, Context};
use crate::config::{HttpApiResponse, State};
pub use crate::event::Shape;
use crate::event::{Incoming, read_slice, read_value};
use crate::policy::{RouteArn, allows};
use crate::revocation;
use tollgate_revocation::Refusal;
use tollgate_revocation::feed::View;

/// Why an invocation ends without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A bad or revoked token: API Gateway matches the message exactly, so it must stay
    /// `Unauthorized`.
    Unauthorized,
    /// A valid token, and no revocation state young enough to decide with
    /// (`REVOCATION_UNAVAILABLE`): any other message is a failed invocation.
    RevocationUnavailable,
}

pub use Failure::Unauthorized;

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unauthorized => "Unauthorized",
            Self::RevocationUnavailable => "RevocationStateUnavailable",
        })
    }
}

impl std::error::Error for Failure {}

/// Why a token is refused: the token itself, a revocation, or no revocation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    Token(Rejection),
    Revoked(Refusal),
    Unavailable,
}

impl Refused {
    fn as_str(self) -> &'static str {
        match self {
            Self::Token(r) => r.as_str(),
            Self::Revoked(r) => r.as_str(),
            Self::Unavailable => "revocation state unavailable",
        }
    }
}

impl From<Rejection> for Refused {
    fn from(r: Rejection) -> Self {
        Self::Token(r)
    }
}

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
pub fn decide(state: &State, event: Value) -> Result<Value, Failure> {
    let started = Instant::now();
    let view = state.revocation_now();
    let answer = decide_incoming(state, view.as_ref(), read_value(&event), started)?;
    serde_json::from_str(answer.get()).map_err(|_| Unauthorized)
}

/// The whole decision for an event as the runtime receives it, JSON bytes, to the answer's
/// JSON, with the revocation state as it is now (tests, benchmarks; the function itself reads
/// it first: [`decide_json_with`]). One line to stdout: the decision's EMF document, which is
/// also its log record.
pub fn decide_json(state: &State, event: &[u8]) -> Result<Box<RawValue>, Failure> {
    decide_json_with(state, state.revocation_now().as_ref(), event)
}

/// [`decide_json`] with the revocation state `view` (`None`: revocation is off).
pub fn decide_json_with(
    state: &State,
    view: Option<&View>,
    event: &[u8],
) -> Result<Box<RawValue>, Failure> {
    let started = Instant::now();
    decide_incoming(state, view, read_slice(event), started)
}

/// Decides, then writes the decision's line, in one batch with anything logged meanwhile: one
/// write to stdout per decision.
fn decide_incoming(
    state: &State,
    view: Option<&View>,
    incoming: Result<Incoming<'_>, &'static str>,
    started: Instant,
) -> Result<Box<RawValue>, Failure> {
    output::batch(|| decide_and_record(state, view, incoming, started))
}

/// The decision and its one line: the metrics (`Decision`, `Reason`, `AuthorizerLatency`, the
/// revocation figures) and, as plain members, what only the log needs (the event's shape, a
/// valid token's client, a stale state's age). Written at every log level, like every metric.
fn decide_and_record(
    state: &State,
    view: Option<&View>,
    incoming: Result<Incoming<'_>, &'static str>,
    started: Instant,
) -> Result<Box<RawValue>, Failure> {
    let figures = revocation::figures(state.revocation.as_ref(), view);
    let incoming = match incoming {
        Ok(i) => i,
        Err(why) => {
            let record = DecisionRecord::default();
            let elapsed = started.elapsed();
            let metrics = &state.metrics;
            metrics.authorization(("unauthorized", why), elapsed, figures, record);
            return Err(Unauthorized);
        }
    };
    let mut record = DecisionRecord {
        shape: Some(incoming.shape.as_str()),
        client_id: None,
        revocation_age_ms: revocation::age_past_bound(view),
    };
    let outcome = evaluate(state, view, incoming);
    let elapsed = started.elapsed();
    match outcome {
        Ok(d) => {
            let decided = if d.allowed {
                ("allow", "ok")
            } else {
                ("deny", "insufficient scope")
            };
            record.client_id = Some(&d.token.client_id);
            state
                .metrics
                .authorization(decided, elapsed, figures, record);
            Ok(d.answer)
        }
        Err(refused) => {
            let (decision, failure) = match refused {
                Refused::Unavailable => ("unavailable", Failure::RevocationUnavailable),
                _ => ("unauthorized", Unauthorized),
            };
            let decided = (decision, refused.as_str());
            state
                .metrics
                .authorization(decided, elapsed, figures, record);
            Err(failure)
        }
    }
}

/// `Ok` unless the revocation state refuses `token`, or there is no state to ask.
fn not_revoked(view: Option<&View>, token: &VerifiedToken) -> Result<(), Refused> {
    match view {
        None => Ok(()),
        Some(View::Current(r) | View::Stale { revoked: r, .. }) => {
            match r.refuses(&revocation::facts(token)) {
                Some(why) => Err(Refused::Revoked(why)),
                None => Ok(()),
            }
        }
        Some(View::Unavailable { .. }) => Err(Refused::Unavailable),
    }
}

struct Decision {
    answer: Box<RawValue>,
    token: Arc<VerifiedToken>,
    allowed: bool,
}

fn evaluate(
    state: &State,
    view: Option<&View>,
    incoming: Incoming<'_>,
) -> Result<Decision, Refused> {
    let credential = incoming.credential.as_deref().ok_or(Rejection::Missing)?;
    let raw = bearer(credential)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let token = state
        .verified
        .get_or_verify(raw, now, |t| state.verifier.verify_at(t, now))?;
    // Every decision asks the revocation state, a token seen before included.
    not_revoked(view, &token)?;
    // Without a parsable route ARN nothing can be scoped: refuse rather than guess.
    let arn = incoming
        .arn
        .as_deref()
        .and_then(RouteArn::parse)
        .ok_or(Rejection::Malformed)?;
    if let Some(apis) = &state.allowed_apis
        && !apis.iter().any(|a| a.covers(&arn.prefix))
    {
        return Err(Rejection::ApiNotAllowed.into());
    }
    // The path the backend sees must not be a spelling the rules refuse either (a trailing `/`
    // aside: an HTTP API's rawPath for a named stage's root may end in one; the ARN decides it).
    if let Some(raw) = &incoming.raw_path
        && state.routes.refuses_raw_path(raw)
    {
        return Err(Rejection::RefusedPath.into());
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
        signed_event_with(&[])
    }

    /// [`signed_event`], the state configured with `more` variables too.
    fn signed_event_with(more: &[(&str, &str)]) -> (State, Vec<u8>) {
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
        let mut vars = vec![
            ("ISSUER", "https://i"),
            ("AUDIENCE", "api"),
            ("JWKS", jwks.as_str()),
            ("ROUTE_SCOPES", "GET /orders/*=orders:read"),
        ];
        vars.extend_from_slice(more);
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
    fn a_decision_writes_one_line_its_metrics_and_its_log_record_in_one_write() {
        use tollgate_telemetry::metrics::spec;
        let (state, event) = signed_event();
        let refused: &[u8] = b"{}";
        for (event, decision) in [(event.as_slice(), "allow"), (refused, "unauthorized")] {
            for level in ["info", "warn"] {
                let logs = tollgate_telemetry::logging::subscriber(level, false);
                let before = output::writes();
                tracing::subscriber::with_default(logs, || decide_json(&state, event).ok());
                assert_eq!(
                    output::writes() - before,
                    1,
                    "{decision} at {level}: one write to stdout"
                );
            }
            let lines = written(&state, event);
            assert_eq!(lines.len(), 1, "{decision}: one line: {lines:?}");
            let line = &lines[0];
            let published = spec::validate(&line.to_string()).unwrap();
            assert!(
                published.iter().any(|p| p.name == "Authorizations"),
                "{line}"
            );
            assert_eq!(line["Decision"], decision, "{line}");
            assert_eq!(line["Authorizations"], 1.0, "{line}");
            assert!(line["AuthorizerLatency"].is_number(), "{line}");
            // The log record's own members, and no tracing envelope around them.
            for envelope in ["fields", "message", "level", "spans"] {
                assert!(line.get(envelope).is_none(), "{envelope}: {line}");
            }
            if decision == "allow" {
                assert_eq!(line["Reason"], "ok", "{line}");
                assert_eq!(line["shape"], "rest_token", "{line}");
                assert_eq!(line["client_id"], "c1", "{line}");
            } else {
                assert_eq!(line["Reason"], "not an API Gateway authorizer event");
                assert!(line.get("shape").is_none() && line.get("client_id").is_none());
            }
            assert!(line.get("revocation_age_ms").is_none(), "{line}");
        }
    }

    /// `ALLOW_LINES=batched`: allows write nothing until the hundredth, whose write is the
    /// batch's one line; a refusal still writes its own line at once.
    #[test]
    fn batched_allows_write_one_line_per_hundred_and_refusals_their_own() {
        use tollgate_telemetry::metrics::allows::MAX_BATCH;
        let (state, event) = signed_event_with(&[("ALLOW_LINES", "batched")]);
        for _ in 1..MAX_BATCH {
            assert!(written(&state, &event).is_empty(), "an allow waits");
        }
        let refused = written(&state, b"{}");
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(refused[0]["Decision"], "unauthorized");
        let batch = written(&state, &event);
        assert_eq!(batch.len(), 1, "{batch:?}");
        assert_eq!(batch[0]["Decision"], "allow");
        assert_eq!(batch[0]["allows"], MAX_BATCH);
        assert_eq!(
            batch[0]["Authorizations"].as_array().map(Vec::len),
            Some(MAX_BATCH)
        );
    }

    #[test]
    fn a_stale_or_missing_revocation_state_puts_its_age_on_the_line() {
        let (state, event) = signed_event();
        let line = |view: &View| {
            let ((), out) = output::capture(|| {
                let _ = decide_json_with(&state, Some(view), &event);
            });
            serde_json::from_str::<Value>(out.trim()).unwrap()
        };
        let stale = line(&View::Stale {
            revoked: Arc::default(),
            age_ms: 9_000,
        });
        assert_eq!(stale["Decision"], "allow", "{stale}");
        assert_eq!(stale["revocation_age_ms"], 9_000, "{stale}");
        assert_eq!(stale["client_id"], "c1", "{stale}");
        let gone = line(&View::Unavailable {
            age_ms: Some(12_000),
        });
        assert_eq!(gone["Decision"], "unavailable", "{gone}");
        assert_eq!(gone["Reason"], "revocation state unavailable", "{gone}");
        assert_eq!(gone["revocation_age_ms"], 12_000, "{gone}");
        assert!(gone.get("client_id").is_none(), "{gone}");
    }

    #[test]
    fn every_decision_asks_the_revocation_state_a_token_seen_before_included() {
        use tollgate_revocation::{Entry, Key, Revoked};
        let (state, event) = signed_event();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let view = |entries: &[Entry]| {
            let mut r = Revoked::default();
            for e in entries {
                r.insert(e, now);
            }
            Arc::new(r)
        };
        let nothing = View::Current(view(&[]));
        assert!(decide_json_with(&state, Some(&nothing), &event).is_ok());
        assert_eq!(state.verified.len(), 1, "verified, and now remembered");
        let another = View::Current(view(&[Entry::cut_off(Key::subject("u2"), now, 900)]));
        assert!(decide_json_with(&state, Some(&another), &event).is_ok());
        for refusing in [
            Entry::cut_off(Key::subject("u1"), now, 900),
            Entry::cut_off(Key::Client("c1".into()), now, 900),
        ] {
            let current = View::Current(view(std::slice::from_ref(&refusing)));
            let got = decide_json_with(&state, Some(&current), &event);
            assert_eq!(got.unwrap_err(), Unauthorized, "{refusing:?}");
            let stale = View::Stale {
                revoked: view(&[refusing]),
                age_ms: 9_000,
            };
            assert_eq!(
                decide_json_with(&state, Some(&stale), &event).unwrap_err(),
                Unauthorized,
                "a stale state refuses what it knows"
            );
        }
        // No state to ask: a valid token is a failure, a bad one is still Unauthorized.
        let none = View::Unavailable { age_ms: None };
        let got = decide_json_with(&state, Some(&none), &event);
        assert_eq!(got.unwrap_err(), Failure::RevocationUnavailable);
        let bad = br#"{"type":"TOKEN","authorizationToken":"Bearer x.y.z","methodArn":"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42"}"#;
        assert_eq!(
            decide_json_with(&state, Some(&none), bad).unwrap_err(),
            Unauthorized
        );
        // Off: nothing asked.
        assert!(decide_json_with(&state, None, &event).is_ok());
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
