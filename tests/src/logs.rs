//! The served functions' output, as the tests read it: JSON lines (audit, EMF, log lines) from a
//! log file that grows while the test runs. Every wait polls and stops as soon as the line is
//! there; none sleeps a fixed time.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::Duration;

use serde_json::Value;

/// Where a log file ends now, so a test reads only what came after.
pub fn log_len(path: &str) -> usize {
    std::fs::metadata(path).map_or(0, |m| m.len() as usize)
}

/// The text of the log after `from`.
pub fn log_since(path: &str, from: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    String::from_utf8_lossy(bytes.get(from..).unwrap_or_default()).into_owned()
}

/// The lines of `text` that are JSON objects. `cargo lambda watch` may prefix the function's
/// output with its own decoration, so each line is read from its first `{`.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.find('{').map(|i| &l[i..]))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(Value::is_object)
        .collect()
}

/// The log's JSON lines after `from` that `want` accepts, once there are at least `n` (polling
/// for up to 20 s: the function writes as it answers, the file lags a little).
pub async fn wait_for(
    path: &str,
    from: usize,
    n: usize,
    want: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut found = Vec::new();
    for _ in 0..200 {
        found = json_lines(&log_since(path, from))
            .into_iter()
            .filter(|v| want(v))
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "waited for {n} lines in {path}, found {}: {found:#?}",
        found.len()
    )
}

/// The served function's audit line of `event` that `want` accepts, anywhere in the log
/// (polling for up to 20 s).
pub async fn audit_line(path: &str, event: &str, want: impl Fn(&Value) -> bool) -> Value {
    let lines = wait_for(path, 0, 1, |v| {
        v["audit"] == 1 && v["event"] == event && want(v)
    });
    lines.await.swap_remove(0)
}
