//! Allowed decisions counted per instance (`ALLOW_LINES=batched`), not one line each: at the
//! template's `AuthorizerCacheTtl` of 0 every API call is a decision, and almost every decision
//! is an allow whose line says nothing but "allowed, in so many microseconds". One line then
//! carries up to [`MAX_BATCH`] allows of one instance, each a value of `Authorizations` (1)
//! and `AuthorizerLatency`, so the metrics' sums, counts and percentiles are those the single
//! lines gave. Refusals, and allows with a revocation figure to report, keep their own line.
//!
//! A batch is written by the decision that fills it, or by the first decision after it is
//! [`MAX_AGE`] old. An instance that Lambda freezes and then ends never writes its last batch:
//! at most [`MAX_BATCH`] allows, at most [`MAX_AGE`] of them, missing from the metrics
//! (docs/decisions.md, "Log bytes: one line per decision").

use std::time::{Duration, Instant};

use super::line::Line;
use super::{AUTHORIZATIONS, AUTHORIZER_LATENCY, FUNCTION_NAME, Metrics};

/// EMF takes at most 100 values per metric in one document.
pub const MAX_BATCH: usize = 100;
/// How old a batch may grow before the next decision writes it.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// The allows not yet written: their latencies (microseconds), and when the first came.
#[derive(Debug, Default)]
pub struct AllowBatch {
    since: Option<Instant>,
    latencies_us: Vec<u32>,
}

impl AllowBatch {
    /// Adds one allow at `now`; the batch's latencies when it is due to be written.
    pub fn add(&mut self, latency_us: u32, now: Instant) -> Option<Vec<u32>> {
        self.latencies_us.push(latency_us);
        self.since.get_or_insert(now);
        self.take_if_due(now)
    }

    /// The batch's latencies when it is full or [`MAX_AGE`] old at `now`, and a new batch.
    pub fn take_if_due(&mut self, now: Instant) -> Option<Vec<u32>> {
        let since = self.since?;
        if self.latencies_us.len() < MAX_BATCH && now.duration_since(since) < MAX_AGE {
            return None;
        }
        self.since = None;
        Some(std::mem::take(&mut self.latencies_us))
    }
}

impl Metrics {
    /// The line of a batch of allows: `Decision` `allow`, `Reason` `ok`, a 1 of
    /// `Authorizations` and a latency per allow, and `allows`, their number, for the log.
    pub fn render_allows(&self, ts: u64, latencies_us: &[u32]) -> String {
        let mut line = Line::new(ts);
        line.directive(&[&AUTHORIZATIONS]);
        line.directive(&[&AUTHORIZER_LATENCY]);
        line.close_metadata();
        line.dimension(FUNCTION_NAME, &self.function);
        line.dimension("Decision", "allow");
        line.dimension("Reason", "ok");
        line.values(AUTHORIZATIONS.name, latencies_us.iter().map(|_| 1.0));
        line.values(
            AUTHORIZER_LATENCY.name,
            latencies_us.iter().map(|&us| f64::from(us)),
        );
        line.integer("allows", latencies_us.len() as u64);
        line.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::super::spec::validate;
    use super::super::{DecisionRecord, RevocationFigures, Sink};
    use super::*;

    #[test]
    fn a_batch_is_due_when_full_or_old_and_starts_again_empty() {
        let t0 = Instant::now();
        let mut b = AllowBatch::default();
        for i in 1..MAX_BATCH {
            assert_eq!(b.add(i as u32, t0), None, "{i} allows wait");
        }
        let full = b.add(7, t0).expect("the 100th allow fills the batch");
        assert_eq!(full.len(), MAX_BATCH);
        assert_eq!((full[0], full[MAX_BATCH - 1]), (1, 7));
        assert_eq!(b.take_if_due(t0 + MAX_AGE), None, "empty: nothing to write");
        assert_eq!(b.add(5, t0 + MAX_AGE), None);
        let young = t0 + MAX_AGE + MAX_AGE - Duration::from_millis(1);
        assert_eq!(b.take_if_due(young), None);
        assert_eq!(b.take_if_due(t0 + MAX_AGE + MAX_AGE), Some(vec![5]));
    }

    /// Batched, 100 allows are one valid EMF line with a value per allow; a refusal, and an
    /// allow with a revocation figure, have their own line at once; unbatched, each its own.
    #[test]
    fn allows_share_a_line_and_everything_else_keeps_its_own() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let m =
            Metrics::with_sink("stack-authorizer", Sink::Memory(lines.clone())).batching_allows();
        let allow = |m: &Metrics, us: u64| {
            let record = DecisionRecord {
                shape: Some("rest_token"),
                client_id: Some("app"),
                revocation_age_ms: None,
            };
            let figures = RevocationFigures::default();
            m.authorization(("allow", "ok"), Duration::from_micros(us), figures, record);
        };
        for us in 0..(MAX_BATCH as u64 - 1) {
            allow(&m, 100 + us);
        }
        assert!(lines.lock().unwrap().is_empty(), "99 allows wait");
        let refused = ("unauthorized", "expired");
        m.authorization(
            refused,
            Duration::from_micros(9),
            RevocationFigures::default(),
            DecisionRecord::default(),
        );
        let read = RevocationFigures {
            reads: 1,
            ..RevocationFigures::default()
        };
        m.authorization(
            ("allow", "ok"),
            Duration::from_micros(8),
            read,
            DecisionRecord::default(),
        );
        assert_eq!(lines.lock().unwrap().len(), 2, "each its own line, at once");
        allow(&m, 500);
        let written = lines.lock().unwrap().clone();
        assert_eq!(written.len(), 3);
        let batch = &written[2];
        // About 1,050 bytes for 100 allows (three-digit latencies): 11 a decision, where a
        // line of its own is about 490 (docs/performance.md).
        assert!(batch.len() < 1_200, "{} bytes", batch.len());
        let published = validate(batch).unwrap();
        let counts = published
            .iter()
            .find(|p| p.name == "Authorizations" && p.dimensions.len() == 3)
            .unwrap();
        assert_eq!(counts.values, vec![1.0; MAX_BATCH]);
        assert!(
            counts
                .dimensions
                .contains(&("Decision".into(), "allow".into()))
        );
        let latency = published
            .iter()
            .find(|p| p.name == "AuthorizerLatency")
            .unwrap();
        assert_eq!(latency.values.len(), MAX_BATCH);
        assert_eq!(
            (latency.values[0], latency.values[MAX_BATCH - 1]),
            (100.0, 500.0)
        );
        let json: serde_json::Value = serde_json::from_str(batch).unwrap();
        assert_eq!(json["allows"], 100);
        assert!(json.get("client_id").is_none(), "a batch names no client");

        let one = Arc::new(Mutex::new(Vec::new()));
        let each = Metrics::with_sink("stack-authorizer", Sink::Memory(one.clone()));
        allow(&each, 1);
        allow(&each, 2);
        assert_eq!(one.lock().unwrap().len(), 2, "unbatched: a line per allow");
    }
}
