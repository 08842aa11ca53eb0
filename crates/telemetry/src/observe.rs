//! The request being served, for the audit events and metrics the domain records: the handler
//! opens a scope with the request's origin (API Gateway's request context) and the function's
//! metrics writer; the domain says what happened where it decides it, and this module writes the
//! audit line and its metric. Outside a request (unit tests, the admin CLI) nothing is written:
//! only served requests are audited this way.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::audit::{self, Event, Origin};
use crate::metrics::{
    CallRecord, Dependency, LOCKOUTS, Metrics, RATE_LIMITED, REFRESH_REUSE, REVOCATIONS,
    SESSIONS_ENDED,
};

/// What every event of one request shares.
#[derive(Debug, Clone)]
pub struct Scope {
    pub origin: Origin,
    pub metrics: Metrics,
    /// The request's dependency calls not written yet ([`write_calls`]).
    calls: Arc<Mutex<Vec<CallRecord>>>,
}

impl Scope {
    pub fn new(origin: Origin, metrics: Metrics) -> Self {
        Self {
            origin,
            metrics,
            calls: Arc::default(),
        }
    }
}

tokio::task_local! {
    static REQUEST: Scope;
}

/// Runs `f` (one request) with `scope` as the request being served; the calls it made and
/// did not write yet are written when it ends.
pub async fn serve<F: Future>(scope: Scope, f: F) -> F::Output {
    REQUEST
        .scope(scope, async {
            let out = f.await;
            write_calls();
            out
        })
        .await
}

/// Writes the dependency calls of the request being served so far, one line per dependency
/// (`Metrics::dependency_calls`). The handler calls it before the request's own lines, so a
/// request's lines stay together in the order they always had.
pub fn write_calls() {
    let _ = REQUEST.try_with(|s| {
        let calls = s
            .calls
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        if !calls.is_empty() {
            s.metrics.dependency_calls(&calls);
        }
    });
}

/// Records a security event of the request being served: its audit line, and its metric when
/// it has one.
pub fn event(e: &Event<'_>) {
    let _ = REQUEST.try_with(|s| {
        s.metrics
            .write(&audit::render(e, &s.origin, crate::metrics::now_ms()));
        match e {
            Event::LockoutStarted { .. } => s.metrics.count(&LOCKOUTS, &[]),
            Event::RefreshReuseDetected { client_id, .. } => {
                s.metrics.count(&REFRESH_REUSE, &[("ClientId", client_id)]);
            }
            Event::TokenRevoked { .. } => s.metrics.count(&REVOCATIONS, &[]),
            Event::RateLimited { client_id, .. } => {
                s.metrics.count(&RATE_LIMITED, &[("ClientId", client_id)]);
            }
            Event::SessionEnded { .. } => s.metrics.count(&SESSIONS_ENDED, &[]),
            _ => {}
        }
    });
}

/// Measures one call to a dependency. Dropped before [`Call::ended`] (the call was abandoned at
/// the function's deadline), it counts as a failure.
#[derive(Debug)]
pub struct Call {
    dependency: Dependency,
    started: Instant,
    ended: bool,
}

impl Call {
    pub fn start(dependency: Dependency) -> Self {
        Self {
            dependency,
            started: Instant::now(),
            ended: false,
        }
    }

    /// The call answered: `ok` is false when it failed (an error, not a domain outcome).
    pub fn ended(mut self, ok: bool) {
        self.ended = true;
        record_call(self.dependency, ok, self.started.elapsed());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.ended {
            record_call(self.dependency, false, self.started.elapsed());
        }
    }
}

/// Keeps the call for the request's calls line ([`write_calls`]); outside a request nothing
/// is recorded.
fn record_call(dependency: Dependency, ok: bool, latency: Duration) {
    let _ = REQUEST.try_with(|s| {
        if let Ok(mut calls) = s.calls.lock() {
            calls.push(CallRecord {
                dependency,
                ok,
                latency,
            });
        }
    });
}

/// Times `call`, whose `Err` is a dependency failure.
pub async fn measured<T, E>(
    dependency: Dependency,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let c = Call::start(dependency);
    let out = call.await;
    c.ended(out.is_ok());
    out
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::metrics::{Sink, spec};

    fn scope() -> (Scope, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let scope = Scope::new(
            Origin::new(Some("192.0.2.1"), Some("test-agent")),
            Metrics::with_sink("fn", Sink::Memory(lines.clone())),
        );
        (scope, lines)
    }

    fn taken(lines: &Mutex<Vec<String>>) -> Vec<serde_json::Value> {
        std::mem::take(&mut *lines.lock().unwrap())
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// What each line written names: an audit line's event, or an EMF line's (valid) metric.
    fn taken_names(lines: &Mutex<Vec<String>>) -> Vec<String> {
        taken(lines)
            .iter()
            .map(|l| match l.get("event") {
                Some(e) => e.as_str().unwrap().to_owned(),
                None => spec::validate(&l.to_string()).unwrap()[0].name.clone(),
            })
            .collect()
    }

    #[tokio::test]
    async fn an_event_in_a_request_writes_its_audit_line_with_the_origin_and_its_metric() {
        let (s, lines) = scope();
        serve(s, async {
            event(&Event::RefreshReuseDetected {
                client_id: "app",
                family: "f",
                cause: "reused",
                family_revoked: true,
            });
        })
        .await;
        let out = taken(&lines);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0]["event"], "refresh_reuse_detected");
        assert_eq!(out[0]["source_ip"], "192.0.2.1");
        let published = spec::validate(&out[1].to_string()).unwrap();
        assert!(published.iter().any(|p| p.name == "RefreshTokenReuse"
            && p.dimensions.contains(&("ClientId".into(), "app".into()))));
    }

    #[tokio::test]
    async fn lockouts_and_revocations_are_counted_and_outside_a_request_nothing_is_written() {
        let (s, lines) = scope();
        let lockout = Event::LockoutStarted {
            client_id: "app",
            username_hash: crate::audit::UsernameHash::of_canonical("bob"),
            locked_for_seconds: 60,
        };
        serve(s, async {
            event(&lockout);
            event(&Event::TokenRevoked {
                client_id: "app",
                family: "f",
            });
        })
        .await;
        let names = taken_names(&lines);
        assert_eq!(
            names,
            [
                "lockout_started",
                "Lockouts",
                "token_revoked",
                "Revocations"
            ]
        );
        event(&lockout);
        assert!(taken(&lines).is_empty());
    }

    #[tokio::test]
    async fn a_session_ended_by_the_directory_is_counted_and_a_replay_is_not() {
        let (s, lines) = scope();
        serve(s, async {
            event(&Event::SessionEnded {
                client_id: "app",
                subject: "u",
                family: "f",
                cause: "user_disabled",
            });
            event(&Event::RefreshReplayed {
                client_id: "app",
                subject: "u",
                family: "f",
            });
        })
        .await;
        let names = taken_names(&lines);
        assert_eq!(
            names,
            ["session_ended", "SessionsEnded", "refresh_replayed"]
        );
    }

    #[tokio::test]
    async fn a_call_abandoned_at_the_deadline_counts_as_a_failure() {
        let (s, lines) = scope();
        serve(s, async {
            let ok: Result<(), ()> = measured(Dependency::DynamoDb, async { Ok(()) }).await;
            assert!(ok.is_ok());
            let _ = measured(Dependency::AuthEndpoint, async { Err::<(), _>("down") }).await;
            let slow = measured(Dependency::AuthEndpoint, async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<(), ()>(())
            });
            assert!(
                tokio::time::timeout(Duration::from_millis(10), slow)
                    .await
                    .is_err()
            );
        })
        .await;
        // One line per dependency, a value per call; `Order` puts the calls back in order.
        let mut failures: Vec<(u64, String, f64)> = taken(&lines)
            .iter()
            .flat_map(|l| {
                let p = spec::validate(&l.to_string()).unwrap();
                let f = p.iter().find(|p| p.name == "DependencyFailures").unwrap();
                let order = l["Order"].as_array().unwrap().clone();
                let dep = l["Dependency"].as_str().unwrap().to_owned();
                assert_eq!(order.len(), f.values.len(), "{l}");
                order
                    .into_iter()
                    .zip(f.values.clone())
                    .map(move |(i, v)| (i.as_u64().unwrap(), dep.clone(), v))
            })
            .collect();
        failures.sort_by_key(|(i, _, _)| *i);
        let failures: Vec<(String, f64)> = failures.into_iter().map(|(_, d, v)| (d, v)).collect();
        assert_eq!(
            failures,
            [
                ("dynamodb".to_owned(), 0.0),
                ("auth_endpoint".to_owned(), 1.0),
                ("auth_endpoint".to_owned(), 1.0)
            ]
        );
    }
}
