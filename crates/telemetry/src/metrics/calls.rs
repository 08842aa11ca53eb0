//! A request's dependency calls, written together when the request ends: one EMF document per
//! dependency, each of its metrics an array with one value per call (EMF takes up to 100 values
//! a metric; more calls take more documents). CloudWatch counts each value as a sample, so the
//! metrics are those one document per call gave, for a fraction of the log bytes: a password
//! grant's four DynamoDB calls are one line, not four. `Order` (a log field, not a metric) is
//! each call's place in the request's calls across its dependencies, in the order they ended.

use std::time::Duration;

use super::line::Line;
use super::spec::MAX_VALUES_PER_METRIC;
use super::{
    DEPENDENCY_CALLS, DEPENDENCY_FAILURES, DEPENDENCY_LATENCY, Dependency, FUNCTION_NAME, Metrics,
    millis, now_ms,
};

/// One call to a dependency, as a request records it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallRecord {
    pub dependency: Dependency,
    /// False when it failed (an error, a timeout, an answer that could not be read).
    pub ok: bool,
    pub latency: Duration,
}

impl Metrics {
    /// Writes `calls` (one request's, in the order they ended).
    pub fn dependency_calls(&self, calls: &[CallRecord]) {
        for line in self.render_dependency_calls(now_ms(), calls) {
            self.write(&line);
        }
    }

    /// The documents of `calls`: one per dependency, in the order each was first called.
    pub fn render_dependency_calls(&self, ts: u64, calls: &[CallRecord]) -> Vec<String> {
        let mut kinds: Vec<Dependency> = Vec::new();
        for c in calls {
            if !kinds.contains(&c.dependency) {
                kinds.push(c.dependency);
            }
        }
        let mut lines = Vec::with_capacity(kinds.len());
        for dep in kinds {
            let mine: Vec<(usize, &CallRecord)> = calls
                .iter()
                .enumerate()
                .filter(|(_, c)| c.dependency == dep)
                .collect();
            for chunk in mine.chunks(MAX_VALUES_PER_METRIC) {
                lines.push(self.render_calls_of(ts, dep, chunk));
            }
        }
        lines
    }

    fn render_calls_of(&self, ts: u64, dep: Dependency, calls: &[(usize, &CallRecord)]) -> String {
        let mut line = Line::new(ts);
        line.directive(&[&DEPENDENCY_CALLS, &DEPENDENCY_FAILURES, &DEPENDENCY_LATENCY]);
        line.close_metadata();
        line.dimension(FUNCTION_NAME, &self.function);
        line.dimension("Dependency", dep.as_str());
        line.values(DEPENDENCY_CALLS.name, calls.iter().map(|_| 1.0));
        let failed = |c: &CallRecord| if c.ok { 0.0 } else { 1.0 };
        line.values(
            DEPENDENCY_FAILURES.name,
            calls.iter().map(|(_, c)| failed(c)),
        );
        line.values(
            DEPENDENCY_LATENCY.name,
            calls.iter().map(|(_, c)| millis(c.latency)),
        );
        line.integers("Order", calls.iter().map(|(i, _)| *i as u64));
        line.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::spec::validate;

    fn call(dependency: Dependency, ok: bool, ms: u64) -> CallRecord {
        CallRecord {
            dependency,
            ok,
            latency: Duration::from_millis(ms),
        }
    }

    #[test]
    fn one_document_per_dependency_with_a_value_per_call_in_order() {
        let m = Metrics::new("token");
        let calls = [
            call(Dependency::DynamoDb, true, 2),
            call(Dependency::DynamoDb, true, 3),
            call(Dependency::AuthEndpoint, false, 40),
            call(Dependency::DynamoDb, true, 5),
        ];
        let lines = m.render_dependency_calls(7, &calls);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let dynamo = validate(&lines[0]).unwrap();
        let value = |p: &[crate::metrics::spec::Published], name: &str| {
            let found = p.iter().find(|x| x.name == name).unwrap();
            assert!(
                found
                    .dimensions
                    .contains(&("FunctionName".into(), "token".into()))
            );
            found.values.clone()
        };
        assert_eq!(value(&dynamo, "DependencyCalls"), [1.0, 1.0, 1.0]);
        assert_eq!(value(&dynamo, "DependencyFailures"), [0.0, 0.0, 0.0]);
        assert_eq!(value(&dynamo, "DependencyLatency"), [2.0, 3.0, 5.0]);
        let auth = validate(&lines[1]).unwrap();
        assert_eq!(value(&auth, "DependencyFailures"), [1.0]);
        assert_eq!(value(&auth, "DependencyLatency"), [40.0]);
        let order =
            |l: &str| serde_json::from_str::<serde_json::Value>(l).unwrap()["Order"].clone();
        assert_eq!(order(&lines[0]), serde_json::json!([0, 1, 3]));
        assert_eq!(order(&lines[1]), serde_json::json!([2]));
        let dim =
            |l: &str| serde_json::from_str::<serde_json::Value>(l).unwrap()["Dependency"].clone();
        assert_eq!(
            (dim(&lines[0]), dim(&lines[1])),
            ("dynamodb".into(), "auth_endpoint".into())
        );
    }

    #[test]
    fn more_calls_than_a_document_holds_take_more_documents_and_none_is_lost() {
        let m = Metrics::new("token");
        let calls = vec![call(Dependency::DynamoDb, true, 1); MAX_VALUES_PER_METRIC + 3];
        let lines = m.render_dependency_calls(7, &calls);
        assert_eq!(lines.len(), 2);
        let counted: usize = lines
            .iter()
            .map(|l| {
                let p = validate(l).unwrap();
                p.iter()
                    .find(|x| x.name == "DependencyCalls")
                    .unwrap()
                    .values
                    .len()
            })
            .sum();
        assert_eq!(counted, MAX_VALUES_PER_METRIC + 3);
        assert!(m.render_dependency_calls(7, &[]).is_empty());
    }
}
