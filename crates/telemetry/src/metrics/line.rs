//! One EMF document, written straight into a string: no JSON tree, one allocation.

use std::fmt::Write as _;

use super::{MetricSpec, NAMESPACE, dimension_value};

/// An EMF document written straight into one string: no JSON tree, one allocation.
pub(super) struct Line {
    buf: String,
    directives: usize,
}

impl Line {
    pub(super) fn new(ts: u64) -> Self {
        let mut buf = String::with_capacity(512);
        let _ = write!(buf, r#"{{"_aws":{{"Timestamp":{ts},"CloudWatchMetrics":["#);
        Self { buf, directives: 0 }
    }

    /// One MetricDirective: the metrics given share the dimension sets of the first. The
    /// catalogue keeps each directive under the spec's limits (100 metrics, 30 dimensions).
    pub(super) fn directive(&mut self, metrics: &[&MetricSpec]) {
        if self.directives > 0 {
            self.buf.push(',');
        }
        self.directives += 1;
        self.buf.push_str(r#"{"Namespace":"#);
        string(&mut self.buf, NAMESPACE);
        self.buf.push_str(r#","Dimensions":["#);
        let sets = metrics.first().map_or(&[][..], |m| m.dimensions);
        for (i, set) in sets.iter().enumerate() {
            self.buf.push_str(if i == 0 { "[" } else { ",[" });
            for (j, d) in set.iter().enumerate() {
                if j > 0 {
                    self.buf.push(',');
                }
                string(&mut self.buf, d);
            }
            self.buf.push(']');
        }
        self.buf.push_str(r#"],"Metrics":["#);
        for (i, m) in metrics.iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            self.buf.push_str(r#"{"Name":"#);
            string(&mut self.buf, m.name);
            self.buf.push_str(r#","Unit":"#);
            string(&mut self.buf, m.unit.as_str());
            self.buf.push('}');
        }
        self.buf.push_str("]}");
    }

    pub(super) fn close_metadata(&mut self) {
        self.buf.push_str("]}");
    }

    pub(super) fn dimension(&mut self, key: &str, value: &str) {
        self.buf.push(',');
        string(&mut self.buf, key);
        self.buf.push(':');
        string(&mut self.buf, &dimension_value(value));
    }

    pub(super) fn value(&mut self, key: &str, v: f64) {
        self.buf.push(',');
        string(&mut self.buf, key);
        // JSON has no NaN or infinity; a metric value is never negative.
        let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
        let _ = write!(self.buf, ":{v}");
    }

    /// A metric with one value per sample (EMF takes up to 100).
    pub(super) fn values(&mut self, key: &str, vs: impl Iterator<Item = f64>) {
        // JSON has no NaN or infinity; a metric value is never negative.
        self.list(
            key,
            vs.map(|v| if v.is_finite() { v.max(0.0) } else { 0.0 }),
        );
    }

    /// A log field holding whole numbers (not a metric: no directive names it).
    pub(super) fn integers(&mut self, key: &str, vs: impl Iterator<Item = u64>) {
        self.list(key, vs);
    }

    fn list<V: std::fmt::Display>(&mut self, key: &str, vs: impl Iterator<Item = V>) {
        self.buf.push(',');
        string(&mut self.buf, key);
        self.buf.push_str(":[");
        for (i, v) in vs.enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            let _ = write!(self.buf, "{v}");
        }
        self.buf.push(']');
    }

    /// A member that is neither a dimension nor a metric: CloudWatch keeps it as a log field.
    pub(super) fn text(&mut self, key: &str, value: &str) {
        self.buf.push(',');
        string(&mut self.buf, key);
        self.buf.push(':');
        string(&mut self.buf, value);
    }

    /// A whole-number log field (not a metric: no directive names it).
    pub(super) fn integer(&mut self, key: &str, v: u64) {
        self.buf.push(',');
        string(&mut self.buf, key);
        let _ = write!(self.buf, ":{v}");
    }

    pub(super) fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

/// A JSON string literal, escaped (RFC 8259 §7).
fn string(buf: &mut String, s: &str) {
    buf.push('"');
    for c in s.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(buf, "\\u{:04x}", c as u32);
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
}
