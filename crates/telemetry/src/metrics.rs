//! CloudWatch metrics without a metrics SDK: each measurement is one JSON line on stdout in the
//! Embedded Metric Format (EMF), which CloudWatch Logs turns into metrics. The catalogue
//! (`catalogue`, re-exported here) is the only list of metric names: template.yaml's alarms and
//! dashboard use these (a test checks).
//!
//! Spec: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod allows;
mod calls;
mod catalogue;
mod line;
mod request;
pub mod spec;

pub use calls::CallRecord;
pub use catalogue::*;
pub use request::RequestLog;

use allows::AllowBatch;
use line::Line;

/// The CloudWatch namespace of every Tollgate metric.
pub const NAMESPACE: &str = "Tollgate";

/// The dimension every metric carries: the Lambda function's name (`<stack>-token`), so two
/// stacks in one account and region never mix.
pub const FUNCTION_NAME: &str = "FunctionName";

/// CloudWatch units Tollgate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Microseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::Microseconds => "Microseconds",
        }
    }
}

/// One metric: its name, unit and the dimension sets it is published under.
#[derive(Debug)]
pub struct MetricSpec {
    pub name: &'static str,
    pub unit: Unit,
    pub dimensions: &'static [&'static [&'static str]],
}

/// What a decision has to say about the revocation state, each figure written into its line
/// only when it is not zero (most decisions: nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RevocationFigures {
    pub reads: u32,
    pub read_failures: u32,
    pub stale: bool,
    pub unavailable: bool,
}

impl RevocationFigures {
    /// The figures that are not zero, each with its metric: a zero is not written (every
    /// reader sums them, and the alarm fills a missing one with 0).
    fn not_zero(&self) -> Vec<(&'static MetricSpec, f64)> {
        [
            (&REVOCATION_READS, f64::from(self.reads)),
            (&REVOCATION_READ_FAILURES, f64::from(self.read_failures)),
            (&REVOCATION_STALE, f64::from(u8::from(self.stale))),
            (
                &REVOCATION_UNAVAILABLE,
                f64::from(u8::from(self.unavailable)),
            ),
        ]
        .into_iter()
        .filter(|(_, v)| *v != 0.0)
        .collect()
    }
}

/// What an authorizer decision's line records besides its metrics: plain members of the EMF
/// document, which CloudWatch keeps as log fields and never turns into dimensions (a client_id
/// as a dimension would be a custom metric per client). The decision's one line is both its
/// metrics and its log record (docs/operations.md, "The decision line").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecisionRecord<'a> {
    /// The event's shape (`rest_token`, `rest_request`, `http_api_v2`), once it was read.
    pub shape: Option<&'a str>,
    /// The client of a valid token.
    pub client_id: Option<&'a str>,
    /// The revocation state's age when it decided past its bound (or could not decide).
    pub revocation_age_ms: Option<u64>,
}

/// A dependency whose calls are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    AuthEndpoint,
    /// The organisation's user-status endpoint (`USER_STATUS_URL`).
    UserStatus,
    /// The organisation's legacy refresh endpoint (`LEGACY_REFRESH_URL`).
    LegacyRefresh,
    DynamoDb,
    SecretsManager,
}

impl Dependency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthEndpoint => "auth_endpoint",
            Self::UserStatus => "user_status",
            Self::LegacyRefresh => "legacy_refresh",
            Self::DynamoDb => "dynamodb",
            Self::SecretsManager => "secrets_manager",
        }
    }
}

/// Longest dimension value CloudWatch accepts.
const MAX_DIMENSION_VALUE: usize = 1024;

/// Where lines go: the function's output, or memory (tests).
#[derive(Debug, Clone, Default)]
pub enum Sink {
    #[default]
    Stdout,
    Memory(std::sync::Arc<std::sync::Mutex<Vec<String>>>),
}

impl Sink {
    pub fn write(&self, line: &str) {
        match self {
            Self::Stdout => emit(line),
            Self::Memory(lines) => {
                if let Ok(mut l) = lines.lock() {
                    l.push(line.to_owned());
                }
            }
        }
    }
}

/// Writes EMF lines for one function. Built once at cold start; cheap to call per request.
#[derive(Debug, Clone)]
pub struct Metrics {
    function: String,
    sink: Sink,
    /// The allows not yet written, when they are batched ([`allows`]).
    allows: Option<Arc<Mutex<AllowBatch>>>,
}

impl Metrics {
    /// `function` is the FunctionName dimension: `AWS_LAMBDA_FUNCTION_NAME` in Lambda.
    pub fn new(function: &str) -> Self {
        Self::with_sink(function, Sink::Stdout)
    }

    pub fn with_sink(function: &str, sink: Sink) -> Self {
        Self {
            function: dimension_value(function).into_owned(),
            sink,
            allows: None,
        }
    }

    /// This writer, with the authorizer's allows counted per instance ([`allows`]) rather than
    /// written a line each.
    pub fn batching_allows(mut self) -> Self {
        self.allows = Some(Arc::default());
        self
    }

    /// Writes a line (an EMF document, or an audit event) where this writer's lines go.
    pub fn write(&self, line: &str) {
        self.sink.write(line);
    }

    /// The function's own name from the Lambda environment, or `fallback` outside Lambda.
    pub fn from_env(fallback: &str) -> Self {
        Self::new(&std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| fallback.into()))
    }

    /// One count of `metric` (LOCKOUTS, REVOCATIONS, REFRESH_REUSE), with its extra dimensions.
    pub fn count(&self, metric: &MetricSpec, dims: &[(&str, &str)]) {
        self.write(&self.render_count(now_ms(), metric, dims));
    }

    pub fn render_count(&self, ts: u64, metric: &MetricSpec, dims: &[(&str, &str)]) -> String {
        let mut line = Line::new(ts);
        line.directive(&[metric]);
        line.close_metadata();
        line.dimension(FUNCTION_NAME, &self.function);
        for (k, v) in dims {
            line.dimension(k, v);
        }
        line.value(metric.name, 1.0);
        line.finish()
    }

    /// One call to a dependency ended, outside a request (a cold start's): its own line. A
    /// request's calls are written together ([`Metrics::dependency_calls`]).
    pub fn dependency(&self, dep: Dependency, ok: bool, latency: Duration) {
        self.write(&self.render_dependency(now_ms(), dep, ok, latency));
    }

    pub fn render_dependency(
        &self,
        ts: u64,
        dep: Dependency,
        ok: bool,
        latency: Duration,
    ) -> String {
        let mut line = Line::new(ts);
        line.directive(&[&DEPENDENCY_CALLS, &DEPENDENCY_FAILURES, &DEPENDENCY_LATENCY]);
        line.close_metadata();
        line.dimension(FUNCTION_NAME, &self.function);
        line.dimension("Dependency", dep.as_str());
        line.value(DEPENDENCY_CALLS.name, 1.0);
        line.value(DEPENDENCY_FAILURES.name, if ok { 0.0 } else { 1.0 });
        line.value(DEPENDENCY_LATENCY.name, millis(latency));
        line.finish()
    }

    /// One authorizer decision (`allow`, `deny`, `unauthorized`, `unavailable`) with its
    /// reason, what it has to say about the revocation state, and its log record: one line.
    pub fn authorization(
        &self,
        (decision, reason): (&str, &str),
        latency: Duration,
        revocation: RevocationFigures,
        record: DecisionRecord<'_>,
    ) {
        if let Some(batch) = &self.allows {
            // Only a plain allow waits: a refusal, or an allow with a revocation figure or age
            // to report, has its own line. A poisoned batch: every decision its own line.
            let plain = decision == "allow"
                && revocation == RevocationFigures::default()
                && record.revocation_age_ms.is_none();
            let now = Instant::now();
            let due = batch.lock().ok().map(|mut b| match plain {
                true => b.add(micros(latency), now),
                false => b.take_if_due(now),
            });
            if let Some(due) = due {
                if let Some(latencies) = due {
                    self.write(&self.render_allows(now_ms(), &latencies));
                }
                if plain {
                    return;
                }
            }
        }
        let line =
            self.render_authorization(now_ms(), (decision, reason), latency, revocation, record);
        self.write(&line);
    }

    /// The decision's line: `Decision` and `Reason` are the dimensions (and what the log
    /// record says of them), `AuthorizerLatency` the time it took; `record` adds the members
    /// only the log needs.
    pub fn render_authorization(
        &self,
        ts: u64,
        (decision, reason): (&str, &str),
        latency: Duration,
        revocation: RevocationFigures,
        record: DecisionRecord<'_>,
    ) -> String {
        let mut line = Line::new(ts);
        line.directive(&[&AUTHORIZATIONS]);
        // The latency and the revocation figures share one dimension set (FunctionName alone),
        // so one directive declares them all.
        let figures = revocation.not_zero();
        let mut declared = [&AUTHORIZER_LATENCY; 5];
        for (slot, (metric, _)) in declared[1..].iter_mut().zip(&figures) {
            *slot = metric;
        }
        line.directive(&declared[..=figures.len()]);
        line.close_metadata();
        line.dimension(FUNCTION_NAME, &self.function);
        line.dimension("Decision", decision);
        line.dimension("Reason", reason);
        line.value(AUTHORIZATIONS.name, 1.0);
        line.value(AUTHORIZER_LATENCY.name, f64::from(micros(latency)));
        for (metric, v) in figures {
            line.value(metric.name, v);
        }
        if let Some(shape) = record.shape {
            line.text("shape", shape);
        }
        if let Some(client_id) = record.client_id {
            line.text("client_id", client_id);
        }
        if let Some(age) = record.revocation_age_ms {
            line.integer("revocation_age_ms", age);
        }
        line.finish()
    }
}

/// Whole microseconds, at most `u32::MAX` (71 minutes).
fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Milliseconds with microsecond precision.
fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Writes one line to stdout under its lock, so it never interleaves with a log line (the test
/// harness captures it like any print), or to the batch open on this thread
/// ([`crate::output::batch`]). Metrics and audit events are not log messages: no log level turns
/// them off.
pub fn emit(line: &str) {
    crate::output::line(line);
}

/// CloudWatch refuses empty dimension values and values over 1024 characters.
fn dimension_value(v: &str) -> std::borrow::Cow<'_, str> {
    if v.is_empty() {
        return "none".into();
    }
    if v.len() <= MAX_DIMENSION_VALUE {
        return v.into();
    }
    let mut end = MAX_DIMENSION_VALUE;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    v[..end].into()
}

#[cfg(test)]
mod tests;
